// `simplestreams list [rootdir]`: the images the published streams offer, as lxc and incus derive
// them. Reads streams/v1/ only; streams the clients cannot decode are refused, as the clients do.
import {stat} from 'node:fs/promises';
import {allClients, clientImages, type StreamProducts} from '../list/derive.js';
import {formatList, listedImages} from '../list/format.js';
import type {ListFormat} from '../list/formats.js';
import {readStreams} from '../list/read.js';
import {UsageError} from '../util/errors.js';
import {checkProducts, decode} from '../verify/schema.js';

export type ListFlags = {root: string; format: ListFormat};

export async function requireDirectory(root: string): Promise<void> {
	if (!(await stat(root).then(s => s.isDirectory(), () => false))) {
		throw new UsageError(`root directory ${root} does not exist`);
	}
}

export async function runList(flags: ListFlags): Promise<number> {
	await requireDirectory(flags.root);
	const streams = await readStreams(flags.root);
	const merged: StreamProducts = {products: {}};
	for (const file of [streams.index, ...streams.products]) {
		if (file.problem) {
			throw new UsageError(`${file.path} ${file.problem}`);
		}

		if (file !== streams.index) {
			const checked = checkProducts(file);
			if (!checked.decodable) {
				throw new UsageError(`lxc and incus cannot decode ${file.path}: it has ${checked.typeErrors} JSON type errors, which simplestreams verify names`);
			}

			Object.assign(merged.products, decode(file.value).products);
		}
	}

	process.stdout.write(formatList(listedImages(allClients.flatMap(client => clientImages(merged, client))), flags.format));
	return 0;
}
