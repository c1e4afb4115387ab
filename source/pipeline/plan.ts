// Stage 2 (pure): which versions can be published, and the least hashing that publishes them.
import type {FileFacts} from '../domain/file.js';
import {contentFits, describeExpected} from '../domain/ftypes.js';
import {because} from '../domain/reasons.js';
import type {Emit} from './events.js';
import {contentPair, pathPair, type Digests, type ImageFile, type ScannedProduct, type ScannedVersion} from '../domain/tree.js';

/** `unified`: unified tarballs, each an image of its own (split images pair `metas` with `roots`). */
export type PlannedVersion = {version: ScannedVersion; metas: ImageFile[]; roots: ImageFile[]; unified?: ImageFile[]};

/** `held`: versions left as they were published before (still settling), neither hashed nor changed. */
export type PlannedProduct = {product: ScannedProduct; versions: PlannedVersion[]; held?: ScannedVersion[]};

/** What hashing needs of a file (verify hashes files that have no role, such as deltas). */
export type HashedFile = Pick<ImageFile, 'path' | 'absolute' | 'identity'>;

/** One pass over `file` (after `prefix`, for a combined digest) producing the digests asked for. */
export type DigestTask = {file: HashedFile; prefix?: HashedFile; wantFile: boolean; wantCombined: boolean; work: number};

/** `cached`: the digests the cache already holds; hashing the tasks adds the rest. */
export type Plan = {products: PlannedProduct[]; tasks: DigestTask[]; cached: Digests};

export type PlanOptions = {
	/** Workers that run the tasks (see balance). */
	jobs: number;
	/** The cached combined fingerprint for contentPair(meta sha256, root sha256). */
	cachedCombined: (pair: string) => string | undefined;
	/** Paths of versions to hold back (see settle.ts). */
	held?: ReadonlySet<string>;
};

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
		return {version, metas: roots.length > 0 ? metas : [], roots: metas.length > 0 ? roots : [], unified};
	}

	emit({type: 'skipped', scope: 'version', path: version.path, ...because(metas.length > 0 ? 'no-rootfs' : roots.length > 0 ? 'no-metadata' : 'no-image-files')});
	return undefined;
}

export function plan(products: readonly ScannedProduct[], facts: Map<string, FileFacts>, options: PlanOptions, emit: Emit): Plan {
	const cached: Digests = {files: new Map(), combined: new Map()};
	const tasks: DigestTask[] = [];
	const sha = (file: ImageFile) => facts.get(file.path)?.sha256;
	const planned: PlannedProduct[] = [];

	for (const product of products) {
		const held = product.versions.filter(v => options.held?.has(v.path));
		const versions = product.versions.filter(v => !held.includes(v)).map(v => usable(v, facts, emit)).filter(v => v !== undefined);
		planned.push({product, versions, held});
		for (const {metas, roots, unified = []} of versions) {
			for (const file of [...metas, ...roots, ...unified]) {
				const digest = sha(file);
				if (digest) {
					cached.files.set(file.path, digest);
				}
			}

			for (const whole of [...metas, ...unified]) {
				if (!sha(whole)) {
					tasks.push({file: whole, wantFile: true, wantCombined: false, work: whole.identity.size});
				}
			}

			for (const root of roots) {
				let rootPending = !sha(root);
				for (const meta of metas) {
					const metaSha = sha(meta);
					const rootSha = sha(root);
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
	tasks.sort((a, b) => b.file.identity.size - a.file.identity.size || (a.file.path < b.file.path ? -1 : a.file.path > b.file.path ? 1 : 0));
	return {products: planned, tasks: balance(tasks, options.jobs), cached};
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
