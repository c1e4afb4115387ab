import {open} from 'node:fs/promises';
import type {Content} from './ftypes.js';

/** Bytes needed to tell every content kind apart (the ustar magic sits at offset 257). */
export const magicLength = 262;

/** Classify the first bytes of a file (pure). */
export function classify(head: Uint8Array): Content {
	const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
	if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) {
		return 'xz';
	}

	if (starts(0x1f, 0x8b)) {
		return 'gzip';
	}

	if (starts(0x42, 0x5a, 0x68)) {
		return 'bzip2';
	}

	if (starts(0x28, 0xb5, 0x2f, 0xfd)) {
		return 'zstd';
	}

	if (starts(0x68, 0x73, 0x71, 0x73)) {
		return 'squashfs';
	}

	if (starts(0x51, 0x46, 0x49, 0xfb)) {
		return 'qcow2';
	}

	if (head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar') {
		return 'tar';
	}

	return 'unknown';
}

/** Read the head of a file and classify it. */
export async function detectContent(path: string): Promise<Content> {
	const handle = await open(path, 'r');
	try {
		const head = Buffer.alloc(magicLength);
		const {bytesRead} = await handle.read(head, 0, magicLength, 0);
		return classify(head.subarray(0, bytesRead));
	} finally {
		await handle.close();
	}
}
