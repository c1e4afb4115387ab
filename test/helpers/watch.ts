// A `--watch` run as a real process on a tree made for the test, and waits on what it writes.
import {mkdir, readdir, readFile, utimes} from 'node:fs/promises';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {execa, type ResultPromise} from 'execa';
import {tempDir, type TempDir} from './images.js';

const cli = path.resolve('dist/cli.js');
export const product = 'images/acme/1.0/amd64/default';

/** The inotify watches a process holds, from its file descriptors' fdinfo. */
export async function inotifyWatches(pid: number): Promise<number> {
	let count = 0;
	for (const fd of await readdir(`/proc/${pid}/fdinfo`)) {
		const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
		count += info.split('\n').filter(line => line.startsWith('inotify wd:')).length;
	}

	return count;
}

type Products = {products: Record<string, {requirements: Record<string, string>; versions: Record<string, {items: Record<string, {path: string; sha256: string}>}>}>};

export async function readStreams(root: string): Promise<Products | undefined> {
	try {
		return JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as Products;
	} catch {
		return undefined;
	}
}

export const versionsIn = (streams: Products | undefined, id = 'acme:1.0:amd64:default') => Object.keys(streams?.products[id]?.versions ?? {}).sort();

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeout = 120_000): Promise<T> {
	const deadline = Date.now() + timeout;
	for (;;) {
		const value = await probe();
		if (value) {
			return value;
		}

		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await sleep(50);
	}
}

export type Running = {root: string; tmp: TempDir; watcher: ResultPromise; log: () => string};

/** `wrap`: a command the watcher runs under (its arguments before node's). */
export async function startWatcher(t: {teardown(fn: () => Promise<void>): void}, build: (root: string) => Promise<void>, extra: string[] = [], wrap: string[] = []): Promise<Running> {
	const tmp = await tempDir('ss-watch');
	const root = path.join(tmp.path, 'webroot');
	await mkdir(path.join(root, 'images'), {recursive: true});
	await build(root);
	// The tree is older than the settle window, as a tree the watcher starts on usually is.
	const past = new Date(Date.now() - 60_000);
	for (const entry of await readdir(root, {recursive: true, withFileTypes: true})) {
		if (entry.isFile()) {
			await utimes(path.join(entry.parentPath, entry.name), past, past);
		}
	}

	const command = [...wrap, process.execPath, cli, '--watch', root];
	const watcher = execa(command[0]!, [...command.slice(1), '--settle', '0.4', '--cache', path.join(tmp.path, 'cache.json'), ...extra], {reject: false, env: {CI: 'true'}, all: true});
	let output = '';
	watcher.all?.on('data', (chunk: Buffer) => {
		output += chunk.toString();
	});
	t.teardown(async () => {
		watcher.kill('SIGKILL');
		await watcher;
		await tmp.cleanup();
	});
	await until('the first regeneration', async () => output.includes('regenerated in') || output.includes('"type":"regenerated"'));
	return {root, tmp, watcher, log: () => output};
}

