// A hash worker: streams a file through SHA-256 with two large buffers, reading the next chunk while
// hashing the current one. Only node:* imports, so it loads fast in every worker thread.
import {createHash, type Hash} from 'node:crypto';
import {closeSync, fstatSync, openSync, readSync, type BigIntStats} from 'node:fs';
import {open} from 'node:fs/promises';
import {because} from '../../domain/reasons.js';
import type {DigestRequest, DigestResponse, DigestSource} from './protocol.js';

const chunk = 4 * 1024 * 1024;
// One pair per worker thread: a worker runs one task at a time, so memory stays 8 MiB per worker.
let front = Buffer.allocUnsafe(chunk);
let back = Buffer.allocUnsafe(chunk);

class Changed extends Error {
	constructor(readonly code: 'changed' | 'metadata-changed') {
		super(code);
	}
}

/** The file must still be what the scan saw, and all of it must have been read. */
function check(request: DigestRequest, source: DigestSource, position: number, after: BigIntStats): void {
	const {identity} = source;
	if (position !== identity.size || Number(after.size) !== identity.size || after.mtimeNs.toString() !== identity.mtimeNs
		|| after.ino.toString() !== identity.ino || after.ctimeNs.toString() !== identity.ctimeNs) {
		throw new Changed(source === request.prefix ? 'metadata-changed' : 'changed');
	}
}

/**
 * A file smaller than one buffer is read with blocking calls: there is no next chunk to overlap with
 * hashing, and this thread has nothing else to do, while the promise API would cost a thread-pool
 * round trip for each of open, read, read, stat and close (most of the time on a tree of small files).
 */
function feedSmall(request: DigestRequest, source: DigestSource, hashes: Hash[], counted: (bytes: number) => void): void {
	const fd = openSync(source.absolute, 'r');
	try {
		let position = 0;
		for (;;) {
			const bytesRead = readSync(fd, front, 0, chunk, position);
			if (bytesRead === 0) {
				break;
			}

			position += bytesRead;
			const bytes = front.subarray(0, bytesRead);
			for (const hash of hashes) {
				hash.update(bytes);
			}

			counted(bytesRead);
		}

		check(request, source, position, fstatSync(fd, {bigint: true}));
	} finally {
		closeSync(fd);
	}
}

async function feed(request: DigestRequest, source: DigestSource, hashes: Hash[], counted: (bytes: number) => void): Promise<void> {
	if (source.identity.size < chunk) {
		feedSmall(request, source, hashes, counted);
		return;
	}

	const handle = await open(source.absolute, 'r');
	try {
		let position = 0;
		let pending = handle.read(front, 0, chunk, position);
		for (;;) {
			const {bytesRead} = await pending;
			if (bytesRead === 0) {
				break;
			}

			position += bytesRead;
			const current = front;
			[front, back] = [back, front];
			pending = handle.read(front, 0, chunk, position);
			const bytes = current.subarray(0, bytesRead);
			for (const hash of hashes) {
				hash.update(bytes);
			}

			counted(bytesRead);
		}

		check(request, source, position, await handle.stat({bigint: true}));
	} finally {
		await handle.close();
	}
}

export default async function digest(request: DigestRequest): Promise<DigestResponse> {
	const counters = new BigInt64Array(request.progress);
	const counted = (bytes: number) => {
		Atomics.add(counters, request.slot, BigInt(bytes));
	};

	const started = performance.now();
	try {
		const file = request.wantFile ? createHash('sha256') : undefined;
		const combined = request.wantCombined ? createHash('sha256') : undefined;
		if (combined && request.prefix) {
			await feed(request, request.prefix, [combined], counted);
		}

		await feed(request, request.file, [file, combined].filter(h => h !== undefined), counted);
		return {ok: true, sha256: file?.digest('hex'), combined: combined?.digest('hex'), milliseconds: performance.now() - started};
	} catch (error) {
		if (error instanceof Changed) {
			return {ok: false, ...because(error.code)};
		}

		const code = (error as NodeJS.ErrnoException).code;
		return {ok: false, ...(code ? because('unreadable', code) : because('hash-failed', (error as Error).message))};
	}
}
