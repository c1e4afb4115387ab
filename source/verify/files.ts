// The files behind the streams, checked as a client would after downloading them, trusting no
// cache: each exists with its declared size and sha256, each image's files hash to its fingerprint
// (sha256 of meta ‖ rootfs), and each delta applied to its base gives the rootfs it leads to.
// Hashing runs on the generator's pool and worker; deltas are applied as the generator checks them.
import {stat} from 'node:fs/promises';
import {join, posix} from 'node:path';
import {identityOf} from '../domain/file.js';
import {because} from '../domain/reasons.js';
import type {ClientImage} from '../list/derive.js';
import {applyDelta, progressOf} from '../pipeline/delta.js';
import type {Emit} from '../pipeline/events.js';
import {hash} from '../pipeline/hash/hash.js';
import {HashPool} from '../pipeline/hash/pool.js';
import {pathPair, type Digests} from '../domain/tree.js';
import type {DigestTask, HashedFile} from '../pipeline/plan.js';
import type {Item, ProductsFile} from '../streams/model.js';
import {insideBase} from '../streams/paths.js';
import {compareText} from '../util/compare.js';
import {errorCode} from '../util/errors.js';
import {mapLimit} from '../util/map-limit.js';
import type {Problem} from './schema.js';

export type FileCheckOptions = {root: string; jobs: number; signal?: AbortSignal};

export type FileCheck = {problems: Problem[]; files: number; bytes: number; hashMilliseconds: number; deltas: number};

type Use = {product: string; version: string; key: string; item: Item};

export async function checkFiles(products: ProductsFile, images: readonly ClientImage[], options: FileCheckOptions, emit: Emit): Promise<FileCheck> {
	const problems: Problem[] = [];
	const uses = new Map<string, Use[]>();
	for (const [product, {versions}] of Object.entries(products.products)) {
		for (const [version, {items}] of Object.entries(versions)) {
			for (const [key, item] of Object.entries(items)) {
				if (item.path !== '') {
					uses.set(item.path, [...(uses.get(item.path) ?? []), {product, version, key, item}]);
				}
			}
		}
	}

	const report = (use: Use, message: string) => problems.push({file: use.item.path, product: use.product, version: use.version, item: use.key, message});

	// Every file once, however many items name it.
	const files = new Map<string, HashedFile>();
	await mapLimit([...uses], 64, async ([path, users]) => {
		const absolute = join(options.root, insideBase(path));
		try {
			const stats = await stat(absolute);
			if (!stats.isFile()) {
				users.forEach(use => report(use, 'is not a regular file'));
				return;
			}

			files.set(path, {path, absolute, identity: identityOf(stats)});
			for (const use of users.filter(u => u.item.size !== stats.size)) {
				report(use, `is ${stats.size} bytes, the item says ${use.item.size}: LXD stops reading at the declared size, so the download fails`);
			}
		} catch (error) {
			const code = errorCode(error);
			users.forEach(use => report(use, code === 'ENOENT' ? 'is missing: every download of it fails' : `cannot be read (${code})`));
		}
	});

	// What the live tree draws: each directory of files with their sizes, as the scan tells the generator's.
	const found = new Map<string, {use: Use; files: Array<{path: string; size: number}>}>();
	for (const file of files.values()) {
		const directory = posix.dirname(file.path);
		const entry = found.get(directory) ?? {use: uses.get(file.path)![0]!, files: []};
		entry.files.push({path: file.path, size: file.identity.size});
		found.set(directory, entry);
	}

	for (const [directory, {use, files: listed}] of found) {
		const {os = '', release = '', arch, variant = ''} = products.products[use.product]!;
		const ref = {id: use.product, os, release, arch, variant, path: posix.dirname(directory)};
		emit({type: 'found', product: ref, version: use.version, path: directory, files: listed});
	}

	// One digest per file, one combined digest per (meta, rootfs) pairing of some client's image;
	// with one worker, the first pairing of a rootfs also yields its own digest in the same pass.
	const tasks: DigestTask[] = [];
	const pending = new Set(files.keys());
	const pairs = new Set<string>();
	for (const image of images) {
		const [meta, root] = image.files.map(ref => files.get(ref.item.path));
		if (meta && root && !pairs.has(pathPair(meta.path, root.path))) {
			pairs.add(pathPair(meta.path, root.path));
			const wantFile = options.jobs === 1 && pending.delete(root.path);
			tasks.push({file: root, prefix: meta, wantFile, wantCombined: true, work: meta.identity.size + root.identity.size});
		}
	}

	for (const path of pending) {
		const file = files.get(path)!;
		tasks.push({file, wantFile: true, wantCombined: false, work: file.identity.size});
	}

	tasks.sort((a, b) => b.file.identity.size - a.file.identity.size || compareText(a.file.path, b.file.path));
	const digests: Digests = {files: new Map(), combined: new Map()};
	let hashMilliseconds = 0;
	const pool = new HashPool(options.jobs);
	try {
		await hash(tasks, pool, digests, event => {
			if (event.type === 'skipped') {
				uses.get(event.path)?.forEach(use => report(use, event.reason));
			} else if (event.type === 'hash-finished') {
				hashMilliseconds = event.milliseconds;
			}

			emit(event);
		}, options.signal);
	} finally {
		await pool.destroy();
	}

	for (const [path, users] of uses) {
		const sha256 = digests.files.get(path);
		for (const use of users.filter(u => sha256 && u.item.sha256 !== sha256)) {
			report(use, `has sha256 ${sha256}, the item says ${String(use.item.sha256)}: every download of it fails ("Hash mismatch")`);
		}
	}

	const wrong = new Set<string>();
	for (const image of images) {
		const [meta, root] = image.files;
		const combined = meta && root ? digests.combined.get(pathPair(meta.item.path, root.item.path)) : undefined;
		const key = `${image.client} ${image.product} ${image.version} ${meta?.key} ${root?.key}`;
		if (combined && combined !== image.fingerprint && !wrong.has(key)) {
			wrong.add(key);
			problems.push({file: meta!.item.path, product: image.product, version: image.version, item: meta!.key,
				message: `fingerprint ${image.fingerprint} of the ${root!.item.ftype} image is not sha256(${meta!.item.path} ‖ ${root!.item.path}) = ${combined}: launches fail ("Image fingerprint mismatch")`});
		}
	}

	// Each delta once: applied to its base's rootfs (the same ftype), it must give this version's rootfs.
	const deltas = new Map<string, {image: ClientImage; delta: ClientImage['deltas'][number]; base: Item}>();
	for (const image of images) {
		for (const delta of image.deltas) {
			const base = Object.values(products.products[image.product]!.versions[delta.base]?.items ?? {}).find(item => item.ftype === image.rootType);
			if (base && files.has(base.path) && files.has(delta.item.path)) {
				deltas.set(`${delta.item.path}\0${base.path}`, {image, delta, base});
			}
		}
	}

	await mapLimit([...deltas.values()], options.jobs, async ({image, delta, base}) => {
		const root = image.files[1]!.item;
		const path = delta.item.path;
		const work = root.size;
		const started = performance.now();
		emit({type: 'delta-queued', path, base: delta.base, work});
		const progress = progressOf(path, emit);
		const applied = await applyDelta(files.get(base.path)!.absolute, files.get(path)!.absolute, done => {
			progress(done, work);
		}, options.signal);
		const failure = !applied.ok ? applied.reason
			: applied.target === root.sha256 ? undefined
				: `applied to ${base.path} it gives sha256 ${applied.target}, not ${root.path}'s ${String(root.sha256)}: clients holding the base fail to update`;
		if (failure) {
			emit({type: 'delta-skipped', path, ...because('delta-wrong', failure), problem: true});
			problems.push({file: path, product: image.product, version: image.version, item: delta.key, message: failure});
		} else {
			emit({type: 'delta-checked', path, milliseconds: performance.now() - started});
		}
	});

	const bytes = tasks.reduce((sum, task) => sum + task.work, 0);
	return {problems, files: files.size, bytes, hashMilliseconds, deltas: deltas.size};
}
