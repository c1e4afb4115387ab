// The hash threads: a piscina pool of workers (worker.ts), each running one digest at a time.
import {createRequire} from 'node:module';
import type {Piscina} from 'piscina';
import type {DigestCache} from '../../cache/digest-cache.js';
import type {Tree} from '../../domain/tree.js';
import type {DigestRequest, DigestResponse} from './protocol.js';
import type {SmallRead, SmallSource} from './small.js';

// piscina is loaded when the first pool is started, not when this module is: a run with nothing to
// hash (a no-change re-run, a tree of small files) never needs it. (Not named `require`: each module
// of the bundle, scripts/bundle.mjs, declares one of its own.)
const load = createRequire(import.meta.url);

/**
 * Files of at most this many bytes are read whole when probed (small.ts; on the main thread unless
 * there are many, smallOnPool), and digest tasks of at most this much work are hashed on the main
 * thread (hash.ts): a pool task costs messages and thread wake-ups whatever its size, several times
 * what hashing 64 KiB costs (figures in bench/RESULTS.md).
 */
export const smallWork = 64 * 1024;

/** One per run, or one for the life of a watcher. */
export class HashPool {
	private piscina?: Piscina;
	private destroyed = false;

	constructor(readonly jobs: number) {}

	/** A digest on a worker; aborting `signal` while it runs ends that worker (a digest is one synchronous loop). */
	async digest(request: DigestRequest, signal?: AbortSignal): Promise<DigestResponse> {
		return this.workers().run(request, signal ? {signal} : {}) as Promise<DigestResponse>;
	}

	/** The small files of several versions, read and hashed on a thread (small.ts). */
	async readVersions(versions: ReadonlyArray<readonly SmallSource[]>): Promise<Array<Array<SmallRead | undefined>>> {
		return this.workers().run(versions, {name: 'readVersions'}) as Promise<Array<Array<SmallRead | undefined>>>;
	}

	/** Whether the threads have been started (a watcher's stay for its life). */
	get started(): boolean {
		return this.piscina !== undefined;
	}

	/** Start the threads now rather than with the first task that needs them (see warmFor). */
	warm(): void {
		this.workers();
	}

	async destroy(): Promise<void> {
		this.destroyed = true;
		await this.piscina?.destroy();
	}

	/**
	 * The threads start with the first task that needs them (or warmFor): a run whose files are all
	 * small and few hashes them on the calling thread (hash.ts, probe.ts) and never starts any.
	 */
	private workers(): Piscina {
		if (this.destroyed) {
			throw new Error('the hash pool has been destroyed');
		}

		if (!this.piscina) {
			const {Piscina} = load('piscina') as typeof import('piscina');
			this.piscina = new Piscina({
				filename: new URL('worker.js', import.meta.url).href,
				minThreads: this.jobs,
				maxThreads: this.jobs,
				idleTimeout: 60_000,
				// A worker keeps little from one task to the next: a young generation of 4 MB instead of V8's
				// default (tens of MB a thread) keeps reading small files from growing the process (bench/RESULTS.md).
				resourceLimits: {maxYoungGenerationSizeMb: 4},
			});
		}

		return this.piscina;
	}
}

/**
 * Below this many small files to probe, they are read on the main thread: a task's messages and the
 * threads' start cost more than reading a few hundred files where they are needed.
 */
const poolFiles = 2048;

/** Whether probing `files` small files the cache knows nothing of is worth the pool's threads (probe.ts). */
export const smallOnPool = (files: number, jobs: number) => jobs > 1 && files >= poolFiles;

/**
 * Start the threads of `pool` if `tree` has a file large enough to be hashed on them that `cache`
 * has no digest of, or enough small files it knows nothing of to read them there (smallOnPool): a
 * thread takes tens of milliseconds to start, which then pass while this thread loads the later
 * stages, probes and plans instead of after it (bench/RESULTS.md). A pair digest still to take of
 * files the cache knows starts them when the hashing does.
 */
export function warmFor(tree: Tree, cache: DigestCache, pool: HashPool): void {
	// A watcher's regenerations after the first that hashed: no look through the whole tree each time.
	if (pool.started) {
		return;
	}

	let small = 0;
	for (const product of tree.products) {
		for (const version of product.versions) {
			for (const file of version.files) {
				const known = cache.lookup(file.path, file.identity);
				if (file.identity.size > smallWork && !known?.sha256) {
					pool.warm();
					return;
				}

				small += known ? 0 : 1;
			}
		}
	}

	if (smallOnPool(small, pool.jobs)) {
		pool.warm();
	}
}
