import {open} from 'node:fs/promises';
import type {Content} from './ftypes.js';
import {qcow2Problem, type Reading} from './qcow2.js';

/** Bytes needed to tell every content kind apart (the ustar magic sits at offset 257). */
export const magicLength = 262;

/** A file's content kind, and why it cannot be published if it visibly cannot. */
export type Inspected = {content: Content; problem?: string};

/** The content kinds a file's first bytes tell, by those bytes; a tar is told by `ustar` at 257. */
const magics: ReadonlyArray<[Content, readonly number[]]> = [
	['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
	['gzip', [0x1f, 0x8b]],
	['bzip2', [0x42, 0x5a, 0x68]],
	['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
	['squashfs', [0x68, 0x73, 0x71, 0x73]],
	['qcow2', [0x51, 0x46, 0x49, 0xfb]],
];

const ustar = [0x75, 0x73, 0x74, 0x61, 0x72];

/**
 * Whether `head` holds `bytes` at `offset`. Compared in a loop over constant tables: a tree of small
 * files classifies tens of thousands of heads, and a closure and an array a comparison were most of
 * what the probe allocated for each (bench/RESULTS.md).
 */
function holds(head: Uint8Array, offset: number, bytes: readonly number[]): boolean {
	for (let index = 0; index < bytes.length; index++) {
		if (head[offset + index] !== bytes[index]) {
			return false;
		}
	}

	return true;
}

/** Classify the first bytes of a file (pure). */
export function classify(head: Uint8Array): Content {
	for (const [content, bytes] of magics) {
		if (holds(head, 0, bytes)) {
			return content;
		}
	}

	return holds(head, 257, ustar) ? 'tar' : 'unknown';
}

/** How far back stream padding (NUL bytes after the last xz stream) is looked through. */
const xzTail = 64 * 1024;

/** An xz file ends with a stream footer ("YZ"), optionally followed by NUL padding in 4-byte steps. */
function * xzComplete(size: number): Reading<boolean> {
	const length = Math.min(size, xzTail);
	const tail = yield [size - length, length];
	let end = length;
	while (end >= 4 && tail.readUInt32LE(end - 4) === 0) {
		end -= 4;
	}

	return end >= 2 && tail.toString('latin1', end - 2, end) === 'YZ';
}

/** A squashfs superblock records the image's length (bytes_used, u64 LE at offset 40), read in two halves as qcow2.ts does. */
function squashfsLength(head: Buffer): number | undefined {
	return head.length >= 48 ? (head.readUInt32LE(44) * 2 ** 32) + head.readUInt32LE(40) : undefined;
}

/**
 * Read the head of a file (and for xz its last bytes, for qcow2 its tables) to tell its content and
 * whether it is visibly cut short: a squashfs shorter than its superblock says, a qcow2 whose tables
 * point past its end, or an xz stream without its footer is an upload still in progress or a broken
 * copy, never something to publish.
 */
function * inspect(size: number): Reading<Inspected> {
	const head = yield [0, magicLength];
	const content = classify(head);
	if (content === 'squashfs') {
		const length = squashfsLength(head);
		if (length === undefined || size < length) {
			return {content, problem: `truncated: the squashfs superblock says ${length ?? '?'} bytes, the file has ${size}`};
		}
	}

	if (content === 'qcow2') {
		const problem = yield * qcow2Problem(size);
		if (problem) {
			return {content, problem};
		}
	}

	if (content === 'xz' && !(yield * xzComplete(size))) {
		return {content, problem: 'truncated: the xz stream has no footer'};
	}

	return {content};
}

/** What the file at `path` holds (see inspect). */
export async function inspectContent(path: string): Promise<Inspected> {
	const handle = await open(path, 'r');
	try {
		const steps = inspect((await handle.stat()).size);
		for (let step = steps.next(); ; ) {
			if (step.done) {
				return step.value;
			}

			const [position, length] = step.value;
			const buffer = Buffer.alloc(length);
			const {bytesRead} = await handle.read(buffer, 0, length, position);
			step = steps.next(buffer.subarray(0, bytesRead));
		}
	} finally {
		await handle.close();
	}
}

/** What a whole file already read into `bytes` holds (see inspect), at once. */
export function inspectBytes(bytes: Buffer): Inspected {
	const steps = inspect(bytes.length);
	for (let step = steps.next(); ; ) {
		if (step.done) {
			return step.value;
		}

		const [position, length] = step.value;
		step = steps.next(bytes.subarray(position, position + length));
	}
}
