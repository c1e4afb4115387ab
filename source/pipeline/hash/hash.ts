// Stage 3: run the plan's digest tasks on the pool, reporting progress per file at a bounded rate.
import {setMaxListeners} from 'node:events';
import type {Emit} from '../events.js';
import {pathPair, type Digests} from '../../domain/tree.js';
import type {DigestTask, TakenFile} from '../plan.js';
import type {DigestRequest, DigestResponse} from './protocol.js';
import {smallWork, type HashPool} from './pool.js';
import {digesting} from './worker.js';

/** How often progress is read from the workers' counters: a screen never needs more. */
const progressInterval = 100;

/** How long hashing small files inline may hold the event loop. */
const sliceMilliseconds = 8;

/**
 * How long a large pass on this thread holds it while workers hash beside it: a worker's finished
 * task waits for this thread to take it in and hand out the next (bench/RESULTS.md).
 */
const passSliceMilliseconds = 2;

type FileWork = {size: number; work: number; done: number; slots: number[]; left: number; milliseconds: number; failed: boolean};

/**
 * Adds each digest to `digests` as it arrives, so a cancelled run still keeps what finished.
 * Files that could not be hashed are reported as skipped and get no digest. `taken`: files whose
 * digests the probe took (plan.ts, already in `digests`), reported here first.
 */
export async function hash(tasks: readonly DigestTask[], pool: HashPool, digests: Digests, emit: Emit, signal?: AbortSignal, taken: readonly TakenFile[] = []): Promise<void> {
	const counters = new BigInt64Array(new SharedArrayBuffer(8 * Math.max(1, tasks.length)));

	// Events speak of files; a file may take several tasks (its own digest and combined ones).
	const files = new Map<string, FileWork>();
	for (const [slot, task] of tasks.entries()) {
		const file = files.get(task.file.path) ?? {size: task.file.identity.size, work: 0, done: 0, slots: [], left: 0, milliseconds: 0, failed: false};
		file.work += task.work;
		file.slots.push(slot);
		file.left++;
		files.set(task.file.path, file);
	}

	for (const {file, work} of taken) {
		emit({type: 'queued', path: file.path, work});
	}

	for (const [path, file] of files) {
		emit({type: 'queued', path, work: file.work});
	}

	// Tasks start in queue order, so the scan can stop at the first files nothing has touched yet.
	const unfinished = new Set(files.keys());
	const report = () => {
		let untouched = 0;
		for (const path of unfinished) {
			const file = files.get(path)!;
			const done = file.slots.reduce((sum, slot) => sum + Number(Atomics.load(counters, slot)), 0);
			if (done === 0 && ++untouched > pool.jobs) {
				break;
			}

			if (done !== file.done) {
				file.done = done;
				emit({type: 'progress', path, done, work: file.work});
			}
		}
	};

	if (signal) {
		setMaxListeners(tasks.length + 10, signal); // The pool listens once per queued task.
	}

	const timer = setInterval(report, progressInterval);
	const started = performance.now();
	// Time the probe spent reading and hashing what it took early counts as hashing time too.
	let earlyMilliseconds = 0;
	let bytes = 0;
	try {
		let sliceStarted = performance.now();
		const request = (task: DigestTask, slot: number): DigestRequest => ({
			progress: counters.buffer as SharedArrayBuffer,
			slot,
			file: {absolute: task.file.absolute, identity: task.file.identity},
			prefix: task.prefix && {absolute: task.prefix.absolute, identity: task.prefix.identity},
			wantFile: task.wantFile,
			wantCombined: task.wantCombined,
		});
		const settle = (task: DigestTask, response: DigestResponse) => {
			const path = task.file.path;
			const file = files.get(path)!;
			if (response.ok) {
				file.milliseconds = Math.max(file.milliseconds, response.milliseconds);
				if (response.sha256) {
					digests.files.set(path, response.sha256);
				}

				if (response.combined && task.prefix) {
					digests.combined.set(pathPair(task.prefix.path, path), response.combined);
				}
			} else if (!file.failed) {
				file.failed = true;
				emit({type: 'skipped', scope: 'file', path, code: response.code, reason: response.reason, transient: true});
			}

			if (--file.left === 0) {
				unfinished.delete(path);
				bytes += file.work;
				if (!file.failed) {
					// Worker progress and results are not ordered: a finished file is at 100% by definition.
					emit({type: 'progress', path, done: file.work, work: file.work});
					emit({type: 'hashed', path, size: file.size, work: file.work, milliseconds: file.milliseconds});
				}
			}
		};

		// Thousands of tasks in a row on this thread would never give the event loop a turn (timers,
		// Ctrl-C); checked inline, as an await per task costs a tick each.
		const due = (slice = sliceMilliseconds) => performance.now() - sliceStarted >= slice;
		const breathe = async () => {
			await new Promise(resolve => {
				setImmediate(resolve);
			});
			sliceStarted = performance.now();
			signal?.throwIfAborted();
		};

		// What the probe already took first, in a plain loop: a promise a file of a tree of small files
		// cost more than the rest of the stage (bench/RESULTS.md). Finished, so at 100% without a word.
		for (const {file: {path, identity}, work, milliseconds} of taken) {
			earlyMilliseconds += milliseconds;
			bytes += work;
			emit({type: 'hashed', path, size: identity.size, work, milliseconds});
			if (due()) {
				await breathe();
			}
		}

		// A pass on this thread: a block at a time, with a turn of the event loop every slice.
		const here = async (task: DigestTask, slot: number) => {
			const steps = digesting(request(task, slot));
			const slice = task.work > smallWork && pool.threads > 0 ? passSliceMilliseconds : sliceMilliseconds;
			try {
				for (;;) {
					if (due(slice)) {
						await breathe();
					}

					const step = steps.next();
					if (step.done) {
						settle(task, step.value);
						return;
					}
				}
			} finally {
				// Closes the file of a pass cut short.
				steps.return(undefined as never);
			}
		};

		// Small tasks stay on this thread whatever lane takes them: handing one to a worker costs more
		// than hashing it. So do all tasks when the system refused to start the threads.
		const run = async (task: DigestTask, slot: number, worker: boolean) => {
			if (worker && task.work > smallWork && pool.available) {
				settle(task, await pool.digest(request(task, slot), signal));
			} else {
				signal?.throwIfAborted();
				await here(task, slot);
			}
		};

		// One task per lane, the next when it finishes, so tasks start in exactly the plan's order (the
		// two passes over a rootfs side by side, so that on files not in the page cache the disk reads
		// one file for both cores). Each task queued on the pool also adds an abort listener, and Node's
		// EventTarget compares each new listener with all the others: queueing every task of a large
		// tree at once spent most of the run in addEventListener (bench/RESULTS.md). The workers' lanes
		// take their first tasks before this thread's lane starts hashing.
		let next = 0;
		const feed = async (worker: boolean) => {
			while (next < tasks.length) {
				const slot = next++;
				await run(tasks[slot]!, slot, worker);
			}
		};

		const lanes = [...Array.from({length: pool.threads}, () => true), false].slice(-Math.min(tasks.length, pool.jobs));
		await Promise.all(lanes.map(feed));
	} finally {
		clearInterval(timer);
	}

	emit({type: 'hash-finished', files: taken.length + files.size, bytes, milliseconds: performance.now() - started + earlyMilliseconds});
}
