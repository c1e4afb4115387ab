// The heap sizes of a publishing process. Most of what a run's stages (and a watcher's full
// regenerations) make is let go by the next stage, yet V8 lets its old generation grow to up to four
// times what its last full collection kept before collecting again, and doubles its young generation
// up to 16 MB a semi-space while a stage keeps most of what it makes: the peak memory of a large tree
// was that garbage. The old generation is collected at half as much again instead, and the young one
// keeps its first size (bench/RESULTS.md). Set once, before the first stage: the flags are the
// process's own, and V8 reads them as it sizes its spaces.
import {setFlagsFromString} from 'node:v8';

const flags = '--heap-growing-percent=50 --semi-space-growth-factor=1';

export function keepHeapNearLive(): void {
	setFlagsFromString(flags);
	// A worker thread's start (the hash pool's) sets V8's flags back to those the process started
	// with, for this thread's heap too: they are set again once the thread is up.
	process.on('worker', worker => {
		worker.once('online', () => {
			setFlagsFromString(flags);
		});
	});
}
