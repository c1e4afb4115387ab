// The heap sizes of a publishing process. Most of what a run's stages (and a watcher's full
// regenerations) make is let go by the next stage, yet V8 lets its old generation grow to up to four
// times what its last full collection kept before collecting again, and doubles its young generation
// up to 16 MB a semi-space while a stage keeps most of what it makes: the peak memory of a large tree
// was that garbage. The old generation is collected at half as much again instead (a watcher's at a
// quarter more), and the young one keeps its first size (bench/RESULTS.md). Set once, before the
// first stage: the flags are the process's own, and V8 reads them as it sizes its spaces.
import {setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';

/**
 * `growingPercent`: how much the old generation may grow past what a full collection kept before the
 * next. A watcher's is lower than a run's: it keeps its state for weeks, so the same percentage lets
 * more garbage pile up beside it, and its peak is its first regeneration's (bench/RESULTS.md).
 */
export function keepHeapNearLive(growingPercent = 50): void {
	const flags = `--heap-growing-percent=${growingPercent} --semi-space-growth-factor=1`;
	setFlagsFromString(flags);
	// A worker thread's start (the hash pool's) sets V8's flags back to those the process started
	// with, for this thread's heap too: they are set again once the thread is up.
	process.on('worker', worker => {
		worker.once('online', () => {
			setFlagsFromString(flags);
		});
	});
}

/**
 * A full collection, for a process that stays: a watcher, once a regeneration is done. V8 collects the
 * old generation only when it has grown by half again what its last full collection kept, and keeps
 * the pages it took until then: a regeneration at the start (every product's texts, the scan and plan
 * of the whole tree) left the heap sized for its garbage for the watcher's life, and each later one
 * piled its own on top. V8's `gc` is taken once from a context made while the flag that exposes it
 * is set.
 */
export function fullCollection(): () => void {
	setFlagsFromString('--expose-gc');
	const collect = runInNewContext('gc') as () => void;
	setFlagsFromString('--no-expose-gc');
	return collect;
}
