// The images the published streams offer, as lxc and incus derive them: what `list` shows. Reads
// streams/v1/ only; streams the clients cannot decode are refused, as the clients refuse them.
import {allClients} from '../streams/ftypes.js';
import type {ProductsFile} from '../streams/model.js';
import {readStreams} from '../streams/read.js';
import {UsageError} from '../util/errors.js';
import {clientImages} from './derive.js';
import {listedImages, type ListedImage} from './listed.js';

export async function publishedImages(root: string): Promise<ListedImage[]> {
	const streams = await readStreams(root);
	const merged: ProductsFile = {products: {}};
	for (const file of [streams.index, ...streams.products]) {
		if (file.problem) {
			throw new UsageError(`${file.path} ${file.problem}`);
		}
	}

	for (const file of streams.products) {
		if (!file.decoded) {
			throw new UsageError(`lxc and incus cannot decode ${file.path}: it has ${file.typeErrors.length} JSON type errors, which simplestreams verify names`);
		}

		Object.assign(merged.products, file.decoded.products);
	}

	return listedImages(allClients.flatMap(client => clientImages(merged, client)));
}
