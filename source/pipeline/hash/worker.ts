// A hash worker: streams a file through SHA-256 with blocking reads into one buffer. The thread has
// nothing else to do, and a read from the page cache is a copy: through the promise API each read
// also went through the thread pool, a third thread competing for the same cores, and cost more
// CPU time than the copy itself (bench/RESULTS.md). Files not in the page cache still overlap disk
// and hashing through the kernel's readahead. Few imports (node:* and two small domain modules), so
// it loads fast in every worker. The calling thread runs the same passes a block at a time (hash.ts).
import {createHash, type Hash} from 'node:crypto';
import {closeSync, constants, fstatSync, openSync, readSync, type Stats} from 'node:fs';
import {sameIdentity} from '../../domain/file.js';
import {because} from '../../domain/reasons.js';
import type {DigestRequest, DigestResponse, DigestSource} from './protocol.js';

// Small enough to stay in the core's cache between the read and the hashing.
const chunk = 1024 * 1024;
// One per thread: a thread runs one pass at a time.
const buffer = Buffer.allocUnsafe(chunk);

class Changed extends Error {
	constructor(readonly code: 'changed' | 'metadata-changed') {
		super(code);
	}
}

/** The file must still be what the scan saw, and all of it must have been read. */
function check(request: DigestRequest, source: DigestSource, position: number, after: Stats): void {
	if (position !== source.identity.size || !sameIdentity(source.identity, after)) {
		throw new Changed(source === request.prefix ? 'metadata-changed' : 'changed');
	}
}

/** Pauses after each block read and hashed. */
function * feed(request: DigestRequest, source: DigestSource, hashes: Hash[], counted: (bytes: number) => void): Generator<void, void> {
	// Without blocking: a pipe put in a file's place since the scan fails the read instead of hanging.
	const fd = openSync(source.absolute, constants.O_RDONLY | constants.O_NONBLOCK);
	try {
		let position = 0;
		for (;;) {
			const bytesRead = readSync(fd, buffer, 0, chunk, position);
			if (bytesRead === 0) {
				break;
			}

			position += bytesRead;
			const bytes = buffer.subarray(0, bytesRead);
			for (const hash of hashes) {
				hash.update(bytes);
			}

			counted(bytesRead);
			yield;
		}

		check(request, source, position, fstatSync(fd));
	} finally {
		closeSync(fd);
	}
}

/**
 * The digests `request` asks for, a block at a time: the calling thread runs it in slices, between
 * which its event loop turns; ended early (`return()`), it closes the file it reads.
 */
export function * digesting(request: DigestRequest): Generator<void, DigestResponse> {
	const counters = new BigInt64Array(request.progress);
	const counted = (bytes: number) => {
		Atomics.add(counters, request.slot, BigInt(bytes));
	};

	const started = performance.now();
	try {
		const file = request.wantFile ? createHash('sha256') : undefined;
		const combined = request.wantCombined ? createHash('sha256') : undefined;
		if (combined && request.prefix) {
			yield * feed(request, request.prefix, [combined], counted);
		}

		yield * feed(request, request.file, [file, combined].filter(h => h !== undefined), counted);
		return {ok: true, sha256: file?.digest('hex'), combined: combined?.digest('hex'), milliseconds: performance.now() - started};
	} catch (error) {
		if (error instanceof Changed) {
			return {ok: false, ...because(error.code)};
		}

		const code = (error as NodeJS.ErrnoException).code;
		return {ok: false, ...(code ? because('unreadable', code) : because('hash-failed', (error as Error).message))};
	}
}

/** On a worker: the whole request at once, the thread has nothing else to do. */
export default async function digest(request: DigestRequest): Promise<DigestResponse> {
	const steps = digesting(request);
	for (;;) {
		const step = steps.next();
		if (step.done) {
			return step.value;
		}
	}
}
