import {randomBytes} from 'node:crypto';
import {open, readdir, rename, stat, unlink} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {ownerGone, running} from './owner.js';
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
	// The writer's pid in the name: a temporary file whose writer was killed is known as such.
	const temporary = join(directory, `.${basename(path)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
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

	await removeLeftovers(path);
}

/** How old a temporary file that does not name its writer (made before names did) must be to go. */
const unnamedLeftoverMs = 24 * 60 * 60 * 1000;

/**
 * Remove the temporary files of earlier writes of `path` whose writer is gone (killed before it
 * renamed or removed them). Those of a live writer stay. Nothing is lost: each was only ever a copy
 * on its way to `path`.
 */
export async function removeLeftovers(path: string): Promise<void> {
	const directory = dirname(path);
	const prefix = `.${basename(path)}.`;
	const names = await readdir(directory).catch(() => []);
	for (const name of names.filter(n => n.startsWith(prefix) && n.endsWith('.tmp'))) {
		const tag = name.slice(prefix.length, -'.tmp'.length);
		const named = /^(\d+)-[\da-f]{12}$/.exec(tag);
		if (!named && !/^[\da-f]{12}$/.test(tag)) {
			continue;
		}

		const leftover = join(directory, name);
		const made = await stat(leftover).then(s => s.mtimeMs, () => undefined);
		const gone = made !== undefined && (named ? ownerGone(Number(named[1]), made, running(Number(named[1]))) !== undefined : Date.now() - made > unnamedLeftoverMs);
		if (gone) {
			await unlink(leftover).catch(() => undefined);
		}
	}
}
