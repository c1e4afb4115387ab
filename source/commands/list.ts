// `simplestreams list [rootdir]`: the images the published streams offer, as lxc and incus derive
// them. Reads streams/v1/ only; streams the clients cannot decode are refused, as the clients do.
import {stat} from 'node:fs/promises';
import {clientImages} from '../list/derive.js';
import {formatList, listedImages} from '../list/format.js';
import type {ListFormat} from '../list/formats.js';
import {allClients} from '../streams/ftypes.js';
import type {ProductsFile} from '../streams/model.js';
import {readStreams} from '../streams/read.js';
import {UsageError} from '../util/errors.js';

export type ListFlags = {root: string; format: ListFormat};

export async function requireDirectory(root: string): Promise<void> {
	if (!(await stat(root).then(s => s.isDirectory(), () => false))) {
		throw new UsageError(`root directory ${root} does not exist`);
	}
}

export async function runList(flags: ListFlags): Promise<number> {
	await requireDirectory(flags.root);
	const streams = await readStreams(flags.root);
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

	process.stdout.write(formatList(listedImages(allClients.flatMap(client => clientImages(merged, client))), flags.format));
	return 0;
}
