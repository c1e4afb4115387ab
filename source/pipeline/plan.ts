// Stage 2 (pure): which versions can be published, and the least hashing that publishes them.
import type {FileFacts} from '../domain/file.js';
import {contentFits, describeExpected} from '../domain/ftypes.js';
import {because} from '../domain/reasons.js';
import type {Emit} from './events.js';
import type {EarlyDigests} from './hash/small.js';
import {contentPair, pathPair, type Digests, type ImageFile, type ScannedProduct, type ScannedVersion} from '../domain/tree.js';
import {compareText} from '../util/compare.js';

/** `unified`: unified tarballs, each an image of its own (split images pair `metas` with `roots`). */
export type PlannedVersion = {version: ScannedVersion; metas: ImageFile[]; roots: ImageFile[]; unified?: ImageFile[]};

/** `held`: versions left as they were published before (still settling), neither hashed nor changed. */
export type PlannedProduct = {product: ScannedProduct; versions: PlannedVersion[]; held?: ScannedVersion[]};

/** What hashing needs of a file (verify hashes files that have no role, such as deltas). */
export type HashedFile = Pick<ImageFile, 'path' | 'absolute' | 'identity'>;

/** One pass over `file` (after `prefix`, for a combined digest) producing the digests asked for. */
export type DigestTask = {file: HashedFile; prefix?: HashedFile; wantFile: boolean; wantCombined: boolean; work: number};

/**
 * A file whose every digest the plan wants the probe already took (hash/small.ts): reported as hashed
 * (hash.ts) and remembered (stages.ts) with no task. `work` is what its tasks would have been; a
 * rootfs's `fingerprints` are its combined ones with `metas`, in their order.
 */
export type TakenFile = {file: ImageFile; work: number; milliseconds: number; metas: readonly ImageFile[]; fingerprints: readonly string[]};

/**
 * `cached`: the digests the cache already holds and those the probe took; hashing the tasks adds the
 * rest. `taken`: the files whose digests the probe took, in the order tasks are (largest first).
 */
export type Plan = {products: PlannedProduct[]; tasks: DigestTask[]; cached: Digests; taken: TakenFile[]};

export type PlanOptions = {
	/** Workers that run the tasks (see balance). */
	jobs: number;
	/** The cached combined fingerprint for contentPair(meta sha256, root sha256). */
	cachedCombined: (pair: string) => string | undefined;
	/** Paths of versions to hold back (see settle.ts). */
	held?: ReadonlySet<string>;
	/** What the probe took of small files: digests no task need take again. */
	early?: EarlyDigests;
};

const none: readonly never[] = [];

/** Largest first, then by path: see plan. */
const largestFirst = (a: HashedFile, b: HashedFile) => b.identity.size - a.identity.size || compareText(a.path, b.path);

function usable(version: ScannedVersion, facts: Map<string, FileFacts>, emit: Emit): PlannedVersion | undefined {
	const files = version.files.filter(file => {
		const known = facts.get(file.path);
		if (!known) {
			return false; // Unreadable: already reported by the probe.
		}

		if (known.problem) {
			emit({type: 'skipped', scope: 'file', path: file.path, ...because('damaged', known.problem)});
			return false;
		}

		if (!contentFits(file.role, known.content)) {
			emit({type: 'skipped', scope: 'file', path: file.path, ...because('wrong-content', known.content, describeExpected(file.role))});
			return false;
		}

		return true;
	});
	const metas = files.filter(f => f.role.kind === 'meta');
	const roots = files.filter(f => f.role.kind === 'root');
	const unified = files.filter(f => f.role.kind === 'unified');
	if ((metas.length > 0 && roots.length > 0) || unified.length > 0) {
		// Copies of their length: a filter's array has room for 17, and a watcher keeps every
		// version's plan until its next full scan (bench/RESULTS.md).
		return {version, metas: roots.length > 0 ? metas.slice() : [], roots: metas.length > 0 ? roots.slice() : [], unified: unified.length > 0 ? unified.slice() : undefined};
	}

	emit({type: 'skipped', scope: 'version', path: version.path, ...because(metas.length > 0 ? 'no-rootfs' : roots.length > 0 ? 'no-metadata' : 'no-image-files')});
	return undefined;
}

export function plan(products: readonly ScannedProduct[], facts: Map<string, FileFacts>, options: PlanOptions, emit: Emit): Plan {
	const cached: Digests = {files: new Map(), combined: new Map()};
	const tasks: DigestTask[] = [];
	const taken: TakenFile[] = [];
	const {early} = options;
	/** The file's digest, from the cache or (`probed`) the probe, noted in `cached` either way. */
	const sha = (file: ImageFile, probed = true) => {
		const digest = facts.get(file.path)?.sha256 ?? (probed ? early?.get(file.path)?.sha256 : undefined);
		if (digest) {
			cached.files.set(file.path, digest);
		}

		return digest;
	};

	const planned: PlannedProduct[] = [];
	for (const product of products) {
		const held = product.versions.filter(v => options.held?.has(v.path));
		const versions = product.versions.filter(v => !held.includes(v)).map(v => usable(v, facts, emit)).filter(v => v !== undefined);
		planned.push({product, versions, held});
		for (const {metas, roots, unified = []} of versions) {
			for (const wholes of [metas, unified]) {
				for (const whole of wholes) {
					const digest = sha(whole);
					const probed = early?.get(whole.path);
					if (!digest) {
						tasks.push({file: whole, wantFile: true, wantCombined: false, work: whole.identity.size});
					} else if (probed && !facts.get(whole.path)?.sha256) {
						taken.push({file: whole, work: whole.identity.size, milliseconds: probed.milliseconds, metas: none, fingerprints: none});
					}
				}
			}

			for (const root of roots) {
				// The probe's digests of a rootfs are taken only with a fingerprint for each of its metadata
				// files: a task left for one of them takes the rootfs's own digest too, as without the probe.
				const probed = facts.get(root.path)?.sha256 ? undefined : early?.get(root.path);
				const fingerprints = probed && metas.map(meta => probed.paired.find(([path]) => path === meta.path)?.[1]);
				if (probed && fingerprints!.every(combined => combined !== undefined)) {
					sha(root);
					for (const [index, meta] of metas.entries()) {
						cached.combined.set(pathPair(meta.path, root.path), fingerprints![index]!);
					}

					const work = metas.length > 0 ? metas.reduce((sum, meta) => sum + meta.identity.size + root.identity.size, 0) : root.identity.size;
					taken.push({file: root, work, milliseconds: probed.milliseconds, metas, fingerprints: fingerprints as string[]});
					continue;
				}

				const rootSha = sha(root, false);
				let rootPending = !rootSha;
				for (const meta of metas) {
					const metaSha = sha(meta);
					const fingerprint = metaSha && rootSha ? options.cachedCombined(contentPair(metaSha, rootSha)) : undefined;
					if (fingerprint) {
						cached.combined.set(pathPair(meta.path, root.path), fingerprint);
						continue;
					}

					const wantFile = rootPending;
					rootPending = false;
					tasks.push({file: root, prefix: meta, wantFile, wantCombined: true, work: meta.identity.size + root.identity.size});
				}

				if (rootPending) {
					tasks.push({file: root, wantFile: true, wantCombined: false, work: root.identity.size});
				}
			}
		}
	}

	// Largest first keeps every worker busy to the end; the passes over one file stay adjacent, so
	// they run side by side and the second reads what the first just brought into the page cache.
	tasks.sort((a, b) => largestFirst(a.file, b.file));
	taken.sort((a, b) => largestFirst(a.file, b.file));
	return {products: planned, tasks: balance(tasks, options.jobs), cached, taken};
}

/** What a task costs to run: the bytes it hashes (a fused pass hashes its rootfs twice). */
const cost = (task: DigestTask) => task.work + (task.wantFile && task.wantCombined ? task.file.identity.size : 0);

/** `busy` (each worker's time taken so far) after `work` goes to the worker free first, as hash.ts hands tasks out. */
function place(busy: readonly number[], work: number): number[] {
	const [first = 0, ...rest] = [...busy].sort((a, b) => a - b);
	return [first + work, ...rest];
}

/**
 * Each rootfs is planned as one pass giving its own digest and its first combined digest, which reads
 * it once instead of twice; but one pass runs on one worker. The tasks are followed in plan order
 * onto the workers as they come free, and a pass is split in two, side by side on two workers, only
 * where that ends the hashing sooner: a single large rootfs is hashed on two cores, while an even
 * number of equal ones is hashed a pass per core, each read once (an estimate of the end: the
 * workers' busiest, or all the work left spread evenly over them).
 */
function balance(tasks: readonly DigestTask[], jobs: number): DigestTask[] {
	let busy = Array.from({length: jobs}, () => 0);
	let after = tasks.reduce((sum, task) => sum + cost(task), 0);
	const end = (times: readonly number[]) => Math.max(...times, (times.reduce((sum, time) => sum + time, 0) + after) / jobs);
	return tasks.flatMap(task => {
		after -= cost(task);
		const whole = place(busy, cost(task));
		if (jobs > 1 && task.wantFile && task.wantCombined) {
			const parts = place(place(busy, task.work), task.file.identity.size);
			if (end(parts) < end(whole)) {
				busy = parts;
				return [{...task, wantFile: false}, {file: task.file, wantFile: true, wantCombined: false, work: task.file.identity.size}];
			}
		}

		busy = whole;
		return [task];
	});
}
