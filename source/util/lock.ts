// One writer per web root: `-N`, `--watch` and imports hold ROOT/.simplestreams.lock (a dot-name,
// so the web server never serves it). A lock left by a process that no longer runs is taken over.
import {hostname} from 'node:os';
import {join} from 'node:path';
import {open, readFile, stat, unlink} from 'node:fs/promises';
import {errorCode, UsageError} from './errors.js';

export const lockName = '.simplestreams.lock';

type Holder = {pid: number; host: string; since: string; command: string};

export const watchCommand = 'simplestreams --watch';

/** The root is being written by another live simplestreams: who, since when. */
export class LockHeld extends UsageError {
	constructor(root: string, path: string, readonly holder: Holder) {
		super(`${root} is being written by another simplestreams (${holder.command}, pid ${holder.pid} on ${holder.host} since ${holder.since}); lock: ${path}`);
	}
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

async function holderOf(path: string): Promise<Holder | undefined> {
	try {
		return JSON.parse(await readFile(path, 'utf8')) as Holder;
	} catch {
		return undefined;
	}
}

/**
 * Remove a lock whose holder is dead. Only the process that creates the breaker file may do it, and
 * only if the lock still names the dead holder: two newcomers can never both break and both win.
 */
async function breakStale(path: string, deadPid: number): Promise<void> {
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
		if ((await holderOf(path))?.pid === deadPid) {
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
	const me: Holder = {pid: process.pid, host: hostname(), since: new Date().toISOString(), command};
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

		const holder = await holderOf(path);
		if (holder && holder.host === me.host && !alive(holder.pid)) {
			await breakStale(path, holder.pid);
			continue;
		}

		if (!holder) {
			// Being written right now, or unreadable: give the writer a moment.
			await new Promise(resolve => setTimeout(resolve, 50));
			continue;
		}

		throw new LockHeld(root, path, holder);
	}

	throw new UsageError(`cannot take the lock ${path}; remove it if no simplestreams runs on ${root}`);
}
