// Small text files that others write where the tool reads them (requirements, aliases, the lock).
// Each must be a regular file, inside the web root when one is named, and small: a FIFO would stall
// open() forever, /dev/zero would never end, and a link out of the root would publish what the web
// server never serves. The file is opened without blocking and judged by fstat on what was opened,
// so nothing swapped in between the check and the read counts.
import {closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats} from 'node:fs';
import {sep} from 'node:path';

/** Why a small file is not read: its message completes "PATH …". */
export class SmallFileProblem extends Error {}

/** What a file that is not a regular one is, in words. */
export function fileKind(stats: Stats): string {
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

/**
 * The text of a small regular file. Throws the system error when it cannot be opened (ENOENT when
 * there is none), or a SmallFileProblem when it is not something to read.
 */
export function readSmallFile(path: string, {limit, root}: SmallFileOptions): string {
	let real = path;
	if (root !== undefined) {
		real = realpathSync.native(path);
		if (!isInside(root, real)) {
			throw new SmallFileProblem(`is a symbolic link to ${real}, outside the web root; not read`);
		}
	}

	// O_NOFOLLOW: the resolved path holds no link, and one put there since is refused (ELOOP).
	const fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK | (root === undefined ? 0 : constants.O_NOFOLLOW));
	try {
		const stats = fstatSync(fd);
		if (!stats.isFile()) {
			throw new SmallFileProblem(`is ${fileKind(stats)}, not a regular file; not read`);
		}

		if (stats.size > limit) {
			throw new SmallFileProblem(`is ${stats.size} bytes, more than the ${limit} such a file may hold; not read`);
		}

		// One byte more than fstat said tells a file that grew since.
		const buffer = Buffer.allocUnsafe(stats.size + 1);
		let length = 0;
		for (let read = -1; read !== 0 && length < buffer.length;) {
			read = readSync(fd, buffer, length, buffer.length - length, length);
			length += read;
		}

		if (length > stats.size) {
			throw new SmallFileProblem('grew while it was read; not read');
		}

		return buffer.toString('utf8', 0, length);
	} finally {
		closeSync(fd);
	}
}
