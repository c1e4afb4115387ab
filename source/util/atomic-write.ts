import {randomBytes} from 'node:crypto';
import {open, rename, unlink} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {slices} from './slices.js';

/** Characters written per call: a large text is never held as one Buffer beside itself. */
const step = 1 << 20;

/**
 * Replace `path` with `data` so that a reader sees the old bytes or the new ones, never a mix:
 * write a temporary file in the same directory, fsync it, rename it over, fsync the directory.
 * A failure leaves the old file as it was and removes the temporary one. Text may come in pieces
 * (a large document made as it is written).
 */
export async function writeAtomic(path: string, data: string | Uint8Array | Iterable<string>, mode = 0o644): Promise<void> {
	const directory = dirname(path);
	const temporary = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
	const handle = await open(temporary, 'wx', mode);
	try {
		try {
			if (data instanceof Uint8Array) {
				await handle.writeFile(data);
			} else {
				for (const piece of typeof data === 'string' ? [data] : data) {
					for (const slice of slices(piece, step)) {
						// writeFile, not write: it goes on until every byte is written (a write may stop short).
						await handle.writeFile(slice);
					}
				}
			}

			await handle.sync();
		} finally {
			await handle.close();
		}

		await rename(temporary, path);
	} catch (error) {
		await unlink(temporary).catch(() => undefined);
		throw error;
	}

	const dir = await open(directory, 'r');
	try {
		await dir.sync();
	} finally {
		await dir.close();
	}
}
