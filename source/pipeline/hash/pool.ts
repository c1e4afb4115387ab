// The hash threads: plain worker threads (thread.ts), each running one digest at a time. A pool
// library cost a cold build of large files its load on this thread and its own start in each worker,
// before the first byte was hashed (bench/RESULTS.md); the pool needs only a queue, a thread per job,
// and a thread ended when its task is cancelled (a digest is one synchronous loop: ending its thread
// is the only way to stop it).
import {Worker} from 'node:worker_threads';
import type {DigestCache} from '../../cache/digest-cache.js';
import type {Tree} from '../../domain/tree.js';
import type {DigestRequest, DigestResponse} from './protocol.js';

/**
 * Files of at most this many bytes are read whole on the main thread, and digest tasks of at most
 * this much work are hashed there too (hash.ts): a pool task costs messages and thread wake-ups
 * whatever its size, several times what hashing 64 KiB costs (figures in bench/RESULTS.md).
 */
export const smallWork = 64 * 1024;

type Task = {request: DigestRequest; resolve: (response: DigestResponse) => void; reject: (error: unknown) => void; signal?: AbortSignal; aborted?: () => void};

type Thread = {worker: Worker; task?: Task};

/** One per run, or one for the life of a watcher. */
export class HashPool {
	private readonly threads = new Set<Thread>();
	private readonly queue: Task[] = [];
	private destroyed = false;

	constructor(readonly jobs: number) {}

	async digest(request: DigestRequest, signal?: AbortSignal): Promise<DigestResponse> {
		this.alive();
		signal?.throwIfAborted();
		return new Promise((resolve, reject) => {
			const task: Task = {request, resolve, reject, signal};
			if (signal) {
				task.aborted = () => {
					this.cancel(task, signal.reason);
				};

				signal.addEventListener('abort', task.aborted, {once: true});
			}

			this.queue.push(task);
			this.dispatch();
		});
	}

	/** Whether the threads have been started (a watcher's stay for its life). */
	get started(): boolean {
		return this.threads.size > 0;
	}

	/** Start the threads now rather than with the first task that needs them (see warmFor). */
	warm(): void {
		this.alive();
		while (this.threads.size < this.jobs) {
			this.spawn();
		}
	}

	async destroy(): Promise<void> {
		this.destroyed = true;
		for (const task of this.queue.splice(0)) {
			this.settle(task);
			task.reject(new Error('the hash pool has been destroyed'));
		}

		await Promise.all([...this.threads].map(async thread => this.end(thread, new Error('the hash pool has been destroyed'))));
	}

	private alive(): void {
		if (this.destroyed) {
			throw new Error('the hash pool has been destroyed');
		}
	}

	/** Small files are hashed on the calling thread (hash.ts): a run that has only those never starts a thread. */
	private dispatch(): void {
		if (this.queue.length > 0) {
			this.warm();
		}

		for (const thread of this.threads) {
			const task = thread.task ? undefined : this.queue.shift();
			if (task) {
				thread.task = task;
				thread.worker.ref();
				thread.worker.postMessage(task.request);
			}
		}
	}

	private spawn(): void {
		const worker = new Worker(new URL('thread.js', import.meta.url));
		// An idle thread does not keep the process alive: a watcher's wait for the next change does.
		worker.unref();
		const thread: Thread = {worker};
		this.threads.add(thread);
		worker.on('message', (response: DigestResponse) => {
			const {task} = thread;
			thread.task = undefined;
			worker.unref();
			if (task) {
				this.settle(task);
				task.resolve(response);
			}

			this.dispatch();
		});
		worker.on('error', error => {
			void this.end(thread, error);
		});
		worker.on('exit', code => {
			void this.end(thread, new Error(`a hash thread exited with code ${code}`));
		});
	}

	/** End `thread`, failing its task with `error`; the next task starts another thread. */
	private async end(thread: Thread, error: unknown): Promise<void> {
		if (!this.threads.delete(thread)) {
			return;
		}

		const {task} = thread;
		thread.task = undefined;
		if (task) {
			this.settle(task);
			task.reject(error);
		}

		await thread.worker.terminate();
		if (!this.destroyed) {
			this.dispatch();
		}
	}

	private cancel(task: Task, reason: unknown): void {
		const queued = this.queue.indexOf(task);
		if (queued >= 0) {
			this.queue.splice(queued, 1);
			this.settle(task);
			task.reject(reason);
			return;
		}

		const thread = [...this.threads].find(candidate => candidate.task === task);
		if (thread) {
			void this.end(thread, reason);
		}
	}

	private settle(task: Task): void {
		if (task.aborted) {
			task.signal?.removeEventListener('abort', task.aborted);
		}
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
