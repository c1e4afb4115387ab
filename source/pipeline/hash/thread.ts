// A hash thread of the pool (pool.ts): each message is a digest request, answered with its response.
// Only node:* imports besides the digest itself, so it starts fast.
import {parentPort} from 'node:worker_threads';
import type {DigestRequest} from './protocol.js';
import digest from './worker.js';

parentPort!.on('message', async (request: DigestRequest) => {
	parentPort!.postMessage(await digest(request));
});
