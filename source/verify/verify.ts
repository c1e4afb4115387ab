// `simplestreams verify`: the published tree checked the way a client reads it, reporting every
// problem found rather than the first. The JSON checks are pure (schema.ts, checks.ts); files.ts
// reads the files.
import {clientImages, type ClientImage} from '../list/derive.js';
import type {Emit} from '../pipeline/events.js';
import {allClients} from '../streams/ftypes.js';
import {pagePath} from '../streams/paths.js';
import type {ProductsFile} from '../streams/model.js';
import {readStreams} from '../streams/read.js';
import {checkAgreement, checkDuplicates, checkVersions} from './checks.js';
import {damagedFiles} from './damaged.js';
import {checkGzips} from './gzips.js';
import {checkFiles, type FileCheckOptions} from './files.js';
import {checkIndex, checkProducts, type Problem} from './schema.js';
import {compareText} from '../util/compare.js';

export type VerifyReport = {
	/** No problems: every image works for the clients that see it. */
	ok: boolean;
	problems: Problem[];
	/** What works, but otherwise than an operator may expect (Incus and VM deltas). */
	warnings: Problem[];
	products: number;
	versions: number;
	images: {lxd: number; incus: number};
	files: number;
	/** SHA-256 work done, in bytes (a rootfs read for its digest and its fingerprint counts twice). */
	bytes: number;
	hashMilliseconds: number;
	deltas: number;
};

const order = (p: Problem) => [p.product ?? '', p.version ?? '', p.item ?? '', p.file, p.message].join('\0');

export async function verify(options: FileCheckOptions, emit: Emit): Promise<VerifyReport> {
	const streams = await readStreams(options.root);
	const problems: Problem[] = [];
	const warnings: Problem[] = [];
	const decoded: Array<{path: string; products: ProductsFile}> = [];
	if (streams.index.problem) {
		problems.push({file: streams.index.path, message: streams.index.problem});
	} else {
		problems.push(...checkIndex(streams.index));
	}

	for (const file of streams.products) {
		if (file.problem) {
			problems.push({file: file.path, message: file.problem});
			continue;
		}

		problems.push(...checkProducts(file));
		const products = file.decoded;
		if (!products) {
			continue; // The clients stop here: nothing of this file reaches them.
		}

		const listed = streams.entries.filter(entry => entry.path === file.path).flatMap(entry => entry.products.map(String));
		const versions = checkVersions(products, file.path);
		problems.push(...checkAgreement({path: file.path, products, listed}, streams.index.path), ...versions.problems);
		warnings.push(...versions.warnings);
		decoded.push({path: file.path, products});
	}

	problems.push(...await checkGzips(options.root, [streams.index.path, ...streams.products.map(file => file.path), pagePath]));
	// The clients merge every products file into one list: fingerprints must be unique across all of them.
	const merged: ProductsFile = {products: Object.assign({}, ...decoded.map(d => d.products.products))};
	const images: ClientImage[] = allClients.flatMap(client => clientImages(merged, client));
	problems.push(...checkDuplicates(images, decoded.map(d => d.path).join(', ')));
	const files = await checkFiles(merged, images, options, emit);
	problems.push(...files.problems);
	for (const list of [problems, warnings]) {
		list.sort((a, b) => compareText(order(a), order(b)));
	}

	for (const {file, messages, next} of damagedFiles(problems, options.root)) {
		emit({type: 'damaged', path: file, messages, next});
	}

	return {
		ok: problems.length === 0,
		problems,
		warnings,
		products: Object.keys(merged.products).length,
		versions: Object.values(merged.products).reduce((sum, p) => sum + Object.keys(p.versions).length, 0),
		images: {lxd: images.filter(i => i.client === 'lxd').length, incus: images.filter(i => i.client === 'incus').length},
		files: files.files,
		bytes: files.bytes,
		hashMilliseconds: files.hashMilliseconds,
		deltas: files.deltas,
	};
}
