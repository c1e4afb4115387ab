// Preloaded into the watcher that bench/watch.ts measures (node --expose-gc --import this): on SIGUSR2,
// a full garbage collection, then the process's RSS and V8 heap in use, appended as one JSON line to
// $SIMPLESTREAMS_BENCH_MEMORY. The heap after a collection is what the watcher keeps; RSS also counts
// V8's young generation (sized up to the allocation rate) and compiled code, which grow while warming up.
import {appendFileSync} from 'node:fs';

process.on('SIGUSR2', () => {
	globalThis.gc?.();
	const {rss, heapUsed} = process.memoryUsage();
	appendFileSync(process.env['SIMPLESTREAMS_BENCH_MEMORY']!, `${JSON.stringify({rss, heapUsed})}\n`);
});
