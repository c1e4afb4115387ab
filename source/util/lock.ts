// One writer per web root: `-N`, `--watch` and imports hold ROOT/.simplestreams.lock (a dot-name,
// so the web server never serves it). A lock whose owner is gone is taken over: its process ended,
// its pid now belongs to another process, or the file names no one (a crash before it was written).
import {statSync, type Stats} from 'node:fs';
import {hostname} from 'node:os';
import {join} from 'node:path';
import {open, stat, unlink} from 'node:fs/promises';
import {errorCode, UsageError} from './errors.js';
import {ownStart, running, type Running} from './owner.js';
import {readBoundedFile, SmallFileProblem} from './small-file.js';

export const lockName = '.simplestreams.lock';

export type Holder = {
	pid: number;
	host: string;
	since: string;
	command: string;
	/** The holder's start (owner.ts), which tells it from a later process given the same pid; absent in older locks. */
	started?: number;
};

export const watchCommand = 'simplestreams --watch';

/** How long a lock file may name no one: its maker writes it right after creating it. */
const unwrittenGraceMs = 10_000;

/** The root is being written by another live simplestreams: who, since when. */
export class LockHeld extends UsageError {
	constructor(root: string, path: string, readonly holder: Holder) {
		super(`${root} is being written by another simplestreams (${holder.command}, pid ${holder.pid} on ${holder.host} since ${holder.since}); lock: ${path}`);
	}
}

/** Whether `error` is a lock held by a watcher, which publishes what an import places beside it. */
export const heldByWatcher = (error: unknown): error is LockHeld => error instanceof LockHeld && error.holder.command === watchCommand;

/**
 * Why a lock no longer holds, or undefined while it must be respected. `holder` is what the lock
 * says (undefined when it names no one), `ageMs` how long ago it was written, `host` this machine,
 * and `now` the process that has the holder's pid on this machine, if any. (Pure.)
 */
export function lockStaleness(holder: Holder | undefined, ageMs: number, host: string, now: Running | undefined): string | undefined {
	if (!holder) {
		return ageMs > unwrittenGraceMs ? 'it names no owner (a crash before it was written)' : undefined;
	}

	if (holder.host !== host) {
		return undefined; // Another machine's processes cannot be seen from here.
	}

	if (!now) {
		return `its owner, pid ${holder.pid}, is gone`;
	}

	const same = holder.started === undefined ? /simplestreams|cli\.js/.test(now.command) : now.started === holder.started;
	return same ? undefined : `pid ${holder.pid} now belongs to another process (${now.command || 'no command line'})`;
}

function parseHolder(text: string): Holder | undefined {
	try {
		const holder = JSON.parse(text) as Holder;
		return Number.isSafeInteger(holder?.pid) && typeof holder.host === 'string' ? holder : undefined;
	} catch {
		return undefined;
	}
}

const sameFile = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

/**
 * Remove a stale lock. Only the process that creates the breaker file may do it, and only if the
 * lock is still the file judged stale: two newcomers can never both break and both win.
 */
async function breakStale(path: string, judged: Stats): Promise<void> {
	const breaker = `${path}.break`;
	try {
		const {mtimeMs} = await stat(breaker);
		if (Date.now() - mtimeMs > 10_000) {
			await unlink(breaker).catch(() => undefined); // Left by a process that died while breaking.
		}
	} catch {}

	let handle;
	try {
		handle = await open(breaker, 'wx');
	} catch {
		await new Promise(resolve => setTimeout(resolve, 100));
		return;
	}

	try {
		if (sameFile(await stat(path), judged)) {
			await unlink(path);
		}
	} finally {
		await handle.close();
		await unlink(breaker).catch(() => undefined);
	}
}

export type Lock = {
	/**
	 * Whether the lock file this process made is still the one at ROOT/.simplestreams.lock: a root
	 * moved away takes its lock file along, and a new directory in its place has none of this one.
	 */
	held(): Promise<boolean>;
	/** Remove the lock file this process made, if it is still there (no other one, whoever it names). */
	release(): Promise<void>;
};

/** The lock at `path` made by this process: known by its file's identity, which no other file shares. */
function lockAt(path: string, made: {dev: number; ino: number}): Lock {
	const held = async () => stat(path).then(now => now.dev === made.dev && now.ino === made.ino, () => false);
	return {
		held,
		async release() {
			if (await held()) {
				await unlink(path).catch(() => undefined);
			}
		},
	};
}

export async function acquireLock(root: string, command: string): Promise<Lock> {
	const path = join(root, lockName);
	const started = ownStart();
	const me: Holder = {pid: process.pid, host: hostname(), since: new Date().toISOString(), command, ...(started === undefined ? {} : {started})};
	const patience = Date.now() + unwrittenGraceMs + 1000;
	for (let attempt = 0; attempt < 5; attempt++) {
		try {
			const handle = await open(path, 'wx', 0o644);
			try {
				await handle.writeFile(JSON.stringify(me) + '\n');
				return lockAt(path, await handle.stat());
			} catch (error) {
				// A lock file that names nobody (the disk is full) would hold off every later run.
				await unlink(path).catch(() => undefined);
				throw error;
			} finally {
				await handle.close();
			}
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
				throw new UsageError(`cannot create the lock ${path} (${errorCode(error)})`);
			}
		}

		// Judged as it was when stat saw it: a lock replaced since is never broken on this reading.
		let judged: Stats;
		let holder: Holder | undefined;
		try {
			judged = statSync(path);
			holder = parseHolder((await readBoundedFile(path, {limit: 4096})).toString('utf8'));
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
				continue; // Released in between.
			}

			throw new UsageError(`the lock ${path} ${error instanceof SmallFileProblem ? error.message : `cannot be read (${errorCode(error)})`}; remove it if no simplestreams runs on ${root}`);
		}

		const now = holder && holder.host === me.host ? running(holder.pid) : undefined;
		if (lockStaleness(holder, Date.now() - judged.mtimeMs, me.host, now)) {
			await breakStale(path, judged);
			continue;
		}

		if (!holder && Date.now() < patience) {
			// Being written right now, or left unwritten: in the grace time one of the two shows.
			await new Promise(resolve => setTimeout(resolve, 100));
			attempt--;
			continue;
		}

		if (!holder) {
			break;
		}

		throw new LockHeld(root, path, holder);
	}

	throw new UsageError(`cannot take the lock ${path}; remove it if no simplestreams runs on ${root}`);
}
