// The hash threads: a piscina pool of workers (worker.ts), each running one digest at a time, beside
// the calling thread, which runs passes of its own in slices (hash.ts).
import {createRequire} from 'node:module';
import type {Piscina} from 'piscina';
import type {DigestCache} from '../../cache/digest-cache.js';
import type {Tree} from '../../domain/tree.js';
import type {DigestRequest, DigestResponse} from './protocol.js';

// piscina is loaded when the first pool is started, not when this module is: a run with nothing to
// hash (a no-change re-run, a tree of small files) never needs it. The bundle loads its one-file build
// of piscina instead, and its threads run worker.cjs, the worker built as one CommonJS file
// (scripts/bundle.mjs). (Not named `require`: each module of the bundle declares one of its own.)
const load = createRequire(import.meta.url);

/**
 * Files of at most this many bytes are read whole on the main thread, and digest tasks of at most
 * this much work are hashed there too (hash.ts): a pool task costs messages and thread wake-ups
 * whatever its size, several times what hashing 64 KiB costs (figures in bench/RESULTS.md).
 */
export const smallWork = 64 * 1024;

/**
 * One per run, or one for the life of a watcher. `jobs` passes run at once: one on the calling thread,
 * the others on as many workers. The calling thread waits for the hashing anyway, and hashes from the
 * moment the plan is made, while a worker takes tens of milliseconds to start (bench/RESULTS.md).
 */
export class HashPool {
	/** The worker threads. */
	readonly threads: number;
	private piscina?: Piscina<DigestRequest, DigestResponse>;
	/**
	 * The system refused to start a thread (EAGAIN at the process limit): until the next rest, no task
	 * goes to the threads and this thread hashes them all, slower but complete.
	 */
	private refused = false;
	/** The ends of the threads of each rest. */
	private readonly endings: Array<Promise<void>> = [];
	private destroyed = false;

	constructor(readonly jobs: number) {
		this.threads = Math.max(0, jobs - 1);
	}

	/** A digest on a worker; aborting `signal` while it runs ends that worker (a digest is one synchronous loop). */
	async digest(request: DigestRequest, signal?: AbortSignal): Promise<DigestResponse> {
		const workers = this.workers();
		if (!workers) {
			throw new Error('no hash thread could be started');
		}

		return workers.run(request, signal ? {signal} : {});
	}

	/** Whether a task can go to a thread, starting them if need be: not once the system refused to. */
	get available(): boolean {
		return this.threads > 0 && this.workers() !== undefined;
	}

	/** Whether the threads have been started (a watcher's stay for its life). */
	get started(): boolean {
		return this.piscina !== undefined;
	}

	/** Start the threads now rather than with the first task that needs them (see warmFor). */
	warm(): void {
		if (this.threads > 0) {
			this.workers();
		}
	}

	/**
	 * No digest is wanted for now: the threads end while the caller goes on (a thread's end takes
	 * tens of milliseconds, which then pass beside the catalog and the write, bench/RESULTS.md). A
	 * later digest starts them again.
	 */
	rest(): void {
		if (this.piscina) {
			const ending = this.piscina.destroy();
			// Awaited by destroy(): until then, a failure is no unhandled rejection.
			ending.catch(() => undefined);
			this.endings.push(ending);
			this.piscina = undefined;
		}

		// A limit reached then may have room by the next digest (a watcher's next regeneration).
		this.refused = false;
	}

	async destroy(): Promise<void> {
		this.destroyed = true;
		this.rest();
		await Promise.all(this.endings);
	}

	/** Small files are hashed on the calling thread (hash.ts): a run that has only those never starts a thread. */
	private workers(): Piscina<DigestRequest, DigestResponse> | undefined {
		if (this.destroyed) {
			throw new Error('the hash pool has been destroyed');
		}

		if (!this.piscina && !this.refused) {
			const {Piscina} = load('piscina') as typeof import('piscina');
			try {
				this.piscina = new Piscina({
					filename: new URL('worker.js', import.meta.url).href,
					minThreads: this.threads,
					maxThreads: this.threads,
					idleTimeout: 60_000,
				});
			} catch (error) {
				// Node throws this when the system will not create the thread (pthread_create: EAGAIN).
				if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_INIT_FAILED') {
					throw error;
				}

				this.refused = true;
			}
		}

		return this.piscina;
	}
}

/**
 * Start the threads of `pool` if `tree` has a file large enough to be hashed on them that `cache`
 * has no digest of: a thread takes tens of milliseconds to start, which then pass while this thread
 * loads the later stages, probes and plans instead of after it (bench/RESULTS.md). A pair digest
 * still to take of files the cache knows starts them when the hashing does.
 */
export function warmFor(tree: Tree, cache: DigestCache, pool: HashPool): void {
	// A watcher's regenerations after the first that hashed: no look through the whole tree each time.
	if (pool.started) {
		return;
	}

	const unknown = tree.products.some(product => product.versions.some(version => version.files.some(file =>
		file.identity.size > smallWork && !cache.lookup(file.path, file.identity)?.sha256)));
	if (unknown) {
		pool.warm();
	}
}
