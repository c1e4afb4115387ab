// Files others write where the tool reads them: requirements, aliases, the lock and an import's
// journal (small), the published streams and the digest cache (large). Each must be a regular file,
// inside the web root when one is named, and within its bound: a FIFO would stall open() forever,
// /dev/zero would never end, and a link out of the root would publish what the web server never
// serves. The file is opened without blocking and judged by fstat on what was opened, so nothing
// swapped in between the check and the read counts. One reader for all of them, without blocking
// the event loop: the scan's few requirements and aliases files cost it nothing to wait for.
import {constants, type Stats} from 'node:fs';
import {open, realpath} from 'node:fs/promises';
import {sep} from 'node:path';

/** Why a file is not read: `why` completes "PATH …"; the message adds "; not read". */
export class SmallFileProblem extends Error {
	constructor(readonly why: string) {
		super(`${why}; not read`);
	}
}

/** What a file that is not a regular one is, in words. */
function fileKind(stats: Stats): string {
	return stats.isDirectory() ? 'a directory' : stats.isFIFO() ? 'a FIFO' : stats.isCharacterDevice() ? 'a character device'
		: stats.isBlockDevice() ? 'a block device' : stats.isSocket() ? 'a socket' : 'not a regular file';
}

export const isInside = (rootReal: string, path: string) => path === rootReal || path.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);

export type SmallFileOptions = {
	/** The most bytes the file may hold. */
	limit: number;
	/** The real path of the web root the file must lie in, links resolved. */
	root?: string;
};

function checkInside(root: string | undefined, real: string): void {
	if (root !== undefined && !isInside(root, real)) {
		throw new SmallFileProblem(`is a symbolic link to ${real}, outside the web root`);
	}
}

// O_NOFOLLOW: the resolved path holds no link, and one put there since is refused (ELOOP).
const openFlags = (root: string | undefined) => constants.O_RDONLY | constants.O_NONBLOCK | (root === undefined ? 0 : constants.O_NOFOLLOW);

/** The buffer to read a file opened as `stats` into: one byte more than fstat said tells a file that grew since. */
function bufferFor(stats: Stats, limit: number): Buffer {
	if (!stats.isFile()) {
		throw new SmallFileProblem(`is ${fileKind(stats)}, not a regular file`);
	}

	if (stats.size > limit) {
		throw new SmallFileProblem(`is ${stats.size} bytes, more than the ${limit} such a file may hold`);
	}

	return Buffer.allocUnsafe(stats.size + 1);
}

function filled(buffer: Buffer, length: number): Buffer {
	if (length === buffer.length) {
		throw new SmallFileProblem('grew while it was read');
	}

	return buffer.subarray(0, length);
}

/**
 * The bytes of a file within its bound. Throws the system error when it cannot be opened (ENOENT
 * when there is none), or a SmallFileProblem when it is not something to read.
 */
export async function readBoundedFile(path: string, {limit, root}: SmallFileOptions): Promise<Buffer> {
	const real = root === undefined ? path : await realpath(path);
	checkInside(root, real);
	const handle = await open(real, openFlags(root));
	try {
		const buffer = bufferFor(await handle.stat(), limit);
		let length = 0;
		for (let read = -1; read !== 0 && length < buffer.length;) {
			({bytesRead: read} = await handle.read(buffer, length, buffer.length - length, length));
			length += read;
		}

		return filled(buffer, length);
	} finally {
		await handle.close();
	}
}
