import {randomBytes} from 'node:crypto';
import {open, readdir, rename, stat, unlink} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {ownerGone, running} from './owner.js';
import {utf8Slices} from './slices.js';

/**
 * Characters written per call, encoded into one Buffer per file: a large text is never held as one
 * Buffer beside itself, nor left behind as a Buffer a step (tens of MB of them for a large tree's
 * streams and digest cache, held until the collector came by: bench/RESULTS.md). The files of a
 * publish are staged at once, each with its Buffer of a step's most, so the step is small: a write
 * call per step still costs little beside the bytes it writes (bench/RESULTS.md).
 */
const step = 64 * 1024;

/** A file written and synced beside `path` under a temporary name, not yet in place. */
export type Staged = {path: string; temporary: string};

/**
 * The first half of an atomic replace: write `data` (text, bytes, or both in pieces) to a temporary
 * file in the same directory and fsync it. A failure removes the temporary file. Several files
 * staged first and placed after are placed together or, when a staging fails, none of them
 * (discard the others).
 */
export async function stage(path: string, data: string | Uint8Array | Iterable<string | Uint8Array>, mode = 0o644, synced = true): Promise<Staged> {
	// The writer's pid in the name: a temporary file whose writer was killed is known as such.
	const temporary = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
	const handle = await open(temporary, 'wx', mode);
	try {
		try {
			if (data instanceof Uint8Array) {
				await handle.writeFile(data);
			} else {
				for (const bytes of utf8Slices(data, step)) {
					// writeFile, not write: it goes on until every byte is written (a write may stop short).
					await handle.writeFile(bytes);
				}
			}

			if (synced) {
				await handle.sync();
			}
		} finally {
			await handle.close();
		}
	} catch (error) {
		await unlink(temporary).catch(() => undefined);
		throw error;
	}

	return {path, temporary};
}

/** Rename a staged file over its path; a failure removes the temporary file. */
export async function place(staged: Staged): Promise<void> {
	try {
		await rename(staged.temporary, staged.path);
	} catch (error) {
		await discard(staged);
		throw error;
	}
}

export async function discard(staged: Staged): Promise<void> {
	await unlink(staged.temporary).catch(() => undefined);
}

/**
 * After the renames into `directory`: make them durable, and remove the leftovers of dead writers of
 * `names`. `durable` false: nothing was renamed into it, or nothing need last.
 */
export async function settle(directory: string, names: readonly string[], durable = true): Promise<void> {
	if (durable) {
		const dir = await open(directory, 'r');
		try {
			await dir.sync();
		} finally {
			await dir.close();
		}
	}

	for (const name of names) {
		await removeLeftovers(join(directory, name));
	}
}

/**
 * Replace `path` with `data` so that a reader sees the old bytes or the new ones, never a mix:
 * write a temporary file in the same directory, fsync it, rename it over, fsync the directory.
 * A failure leaves the old file as it was and removes the temporary one. Text may come in pieces
 * (a large document made as it is written). `synced` false: neither the file nor the directory is
 * synced, for a file whose loss or damage in a crash only costs work done again (its reader must
 * take a file it cannot read for none); a reader still sees the old bytes or the new ones.
 */
export async function writeAtomic(path: string, data: string | Uint8Array | Iterable<string | Uint8Array>, mode = 0o644, synced = true): Promise<void> {
	await place(await stage(path, data, mode, synced));
	await settle(dirname(path), [basename(path)], synced);
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
