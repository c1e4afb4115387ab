// What killed processes leave behind never blocks or strands the next run: locks whose owner is
// gone, temporary files of killed writes, imports killed half way; and an import whose file
// changes under the hash publishes nothing with that digest.
import {mkdir, readdir, readFile, rename, utimes, writeFile} from 'node:fs/promises';
import {hostname} from 'node:os';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {lockStaleness, type Holder} from '../source/util/lock.js';
import {ownerGone, running} from '../source/util/owner.js';
import {defaultCachePath} from '../source/cache/digest-cache.js';
import {copyExample, distPath, flipLastByte, metaTarball, oneVersionRoot, rewriteSameSize, squashfs, tempDir} from './helpers/fixtures.js';
import {cacheOnDisk} from './helpers/cache.js';
import {importSource, listTree, snapshot} from './helpers/import.js';

const cli = distPath('cli.js');
const product = 'images/acme/1.0/amd64/default';

/** A live process that is not simplestreams, ended with the test. */
function liveStranger(t: Parameters<typeof tempDir>[0]) {
	const sleeper = execa('sleep', ['600']);
	t.teardown(() => {
		sleeper.kill();
	});
	void sleeper.catch(() => undefined);
	return sleeper.pid!;
}

test('lockStaleness: who may take a lock over', t => {
	const host = 'here';
	const holder: Holder = {pid: 42, host, since: '2026-01-01T00:00:00Z', command: 'simplestreams -N', started: 1000};
	t.is(lockStaleness(holder, 5, host, {started: 1000, command: 'node /x/dist/cli.js -N /srv'}), undefined, 'its owner runs');
	t.regex(lockStaleness(holder, 5, host, undefined) ?? '', /pid 42, is gone/);
	t.regex(lockStaleness(holder, 5, host, {started: 9000, command: 'sleep 600'}) ?? '', /pid 42 now belongs to another process \(sleep 600\)/);
	t.is(lockStaleness({...holder, host: 'there'}, 5, host, undefined), undefined, 'another machine\'s lock is respected');
	const {started: _, ...older} = holder;
	t.is(lockStaleness(older, 5, host, {started: 9000, command: 'node /usr/lib/node_modules/simplestreams/dist/cli.js --watch /srv'}), undefined, 'a lock without a start time, held by a simplestreams');
	t.regex(lockStaleness(older, 5, host, {started: 9000, command: 'sleep 600'}) ?? '', /another process/);
	t.is(lockStaleness(undefined, 2000, host, undefined), undefined, 'a lock being written');
	t.regex(lockStaleness(undefined, 60_000, host, undefined) ?? '', /names no owner/);
});

test('ownerGone: a pid that is free, or taken by a later process', t => {
	t.regex(ownerGone(7, 10_000, undefined) ?? '', /is gone/);
	t.is(ownerGone(7, 10_000, {started: 9000, command: 'x'}), undefined);
	t.regex(ownerGone(7, 10_000, {started: 60_000, command: 'x'}) ?? '', /another process/);
	const self = running(process.pid);
	t.truthy(self);
	t.is(ownerGone(process.pid, Date.now(), self), undefined, 'this process owns what it makes now');
});

test('an empty lock file left by a crash does not block -N', async t => {
	const {root, run} = await oneVersionRoot(t);
	const lock = path.join(root, '.simplestreams.lock');
	await writeFile(lock, '');
	const minuteAgo = new Date(Date.now() - 60_000);
	await utimes(lock, minuteAgo, minuteAgo);
	const result = await run();
	t.is(result.exitCode, 0, result.stderr);
	await t.throwsAsync(readFile(lock), {code: 'ENOENT'}, 'released on exit');
});

test('a lock naming a live process that is not simplestreams (a reused pid) does not block -N', async t => {
	const {root, run} = await oneVersionRoot(t);
	const lock = path.join(root, '.simplestreams.lock');
	const pid = liveStranger(t);
	// As an older simplestreams wrote it (no start time), and as this one does (a start time the
	// process with that pid does not have).
	for (const extra of [{}, {started: running(pid)!.started - 60_000}]) {
		await writeFile(lock, JSON.stringify({pid, host: hostname(), since: new Date().toISOString(), command: 'simplestreams -N', ...extra}));
		const result = await run();
		t.is(result.exitCode, 0, result.stderr);
		await t.throwsAsync(readFile(lock), {code: 'ENOENT'});
	}

	// The same process named with its own start time holds the lock.
	await writeFile(lock, JSON.stringify({pid, host: hostname(), since: new Date().toISOString(), command: 'simplestreams -N', started: running(pid)!.started}));
	const held = await run();
	t.is(held.exitCode, 1);
	t.regex(held.stderr, new RegExp(`being written by another simplestreams \\(simplestreams -N, pid ${pid}`));
});

test('temporary files of killed writes are removed by the next write; a live writer\'s stay', async t => {
	const {root, xdg, run} = await oneVersionRoot(t);
	t.is((await run()).exitCode, 0);
	const streams = path.join(root, 'streams/v1');
	const cache = path.join(xdg, 'simplestreams', path.basename(defaultCachePath(root)));
	// What a writer killed before its rename leaves: a temporary file named with its pid.
	const leave = async (target: string) => {
		await execa('sh', ['-c', 'printf partial > "$0.$$-0123456789ab.tmp"', path.join(path.dirname(target), `.${path.basename(target)}`)]);
	};

	await leave(path.join(streams, 'images.json'));
	await leave(cache);
	const live = liveStranger(t);
	const liveTemporary = path.join(streams, `.images.json.${live}-0123456789ab.tmp`);
	await writeFile(liveTemporary, 'in progress');
	const unnamed = path.join(streams, '.images.json.0123456789ab.tmp');
	await writeFile(unnamed, 'from an older version');
	const twoDaysAgo = new Date(Date.now() - (48 * 3600 * 1000));
	await utimes(unnamed, twoDaysAgo, twoDaysAgo);
	await writeFile(path.join(streams, '.keep'), 'not ours');

	// A new version: the streams and the cache are written again.
	const next = path.join(root, product, '20240102_0000');
	await Promise.all([metaTarball(path.join(next, 'incus.tar.xz'), 'meta2'), squashfs(path.join(next, 'root.squashfs'), 'root2')]);
	const result = await run();
	t.is(result.exitCode, 0, result.stderr);
	t.deepEqual((await readdir(streams)).filter(n => n.startsWith('.')).sort(), [path.basename(liveTemporary), '.keep']);
	t.deepEqual((await readdir(path.dirname(cache))).filter(n => n.endsWith('.tmp')), []);
});

const imported = 'images/acme/3.0/amd64/default';
const importedVersion = '20240601_00:00';

/** Wait for a condition, checking every 50 ms, for at most `ms`. */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
	const deadline = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await new Promise(resolve => setTimeout(resolve, 50));
	}
}

/** The process state letter in /proc (T: stopped). */
const state = async (pid: number) => readFile(`/proc/${pid}/stat`, 'latin1').then(s => s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3), () => '');

/** `-i SRC -N` into `root`, stopped at `point` and killed there with SIGKILL. */
async function killedImport(dir: string, src: string, root: string, point: 'moved' | 'replaced', ...args: string[]) {
	const child = stoppedImport(dir, src, root, point, ...args);
	await until(`the import to reach "${point}"`, async () => (await state(child.pid!)) === 'T' || child.exitCode !== null);
	child.kill('SIGKILL');
	const result = await child;
	if (result.signal !== 'SIGKILL') {
		throw new Error(`the import was not killed at "${point}": ${result.stderr}`);
	}
}

/** `-i SRC -N` into `root`, stopping itself at `point`. */
function stoppedImport(dir: string, src: string, root: string, point: 'moved' | 'hashed' | 'replaced', ...args: string[]) {
	return execa(process.execPath, [cli, '-i', src, '-N', '--yes', ...args, '--cache', path.join(dir, 'cache.json'), root], {
		reject: false, stdin: 'ignore', env: {CI: 'true', SIMPLESTREAMS_STOP_AT: point},
	});
}

const cliIn = (dir: string) => async (...args: string[]) => execa(process.execPath, [cli, ...args, '--cache', path.join(dir, 'cache.json')], {reject: false, stdin: 'ignore', timeout: 100_000, env: {CI: 'true'}});

test('an import killed while it assembles the version is rolled back by the next -N, which says so', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await mkdir(root);
	const src = await importSource(path.join(dir, 'src'));
	const before = await snapshot(src);
	await killedImport(dir, src, root, 'moved');
	t.notDeepEqual(await snapshot(src), before, 'the kill left a file of SRC in the staging directory');

	const run = cliIn(dir);
	// Rolled back, the import leaves the root without an image: nothing to publish, and -N says so (exit 1).
	const next = await run('-N', root);
	t.is(next.exitCode, 1, next.stderr);
	t.regex(next.stderr, /nothing to publish: .*images does not exist/);
	t.regex(next.stderr, new RegExp(`${imported}/${importedVersion}: its import was killed before the version was whole \\(its owner, pid \\d+, is gone\\): rolled it back; .*lxd\\.tar\\.xz moved back`));
	t.deepEqual(await snapshot(src), before, 'SRC is whole again');
	t.deepEqual((await readdir(root)).filter(n => n.startsWith('.simplestreams.import')), [], 'the journal is gone');
	t.deepEqual(await listTree(path.join(root, 'images')).catch(() => []), [], 'nothing of the import is left in the root');

	const again = await run('-i', src, '-N', '--yes', root);
	t.is(again.exitCode, 0, again.stderr);
	t.deepEqual(await listTree(path.join(root, imported, importedVersion)), ['lxd.tar.xz', 'root.squashfs']);
});

test('an import --force killed between its two renames is finished by the next import, which says so', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await mkdir(root);
	const run = cliIn(dir);
	t.is((await run('-i', await importSource(path.join(dir, 'first')), '-N', '--yes', root)).exitCode, 0);
	const second = await importSource(path.join(dir, 'second'));
	const replacement = await snapshot(second);
	await killedImport(dir, second, root, 'replaced', '--force');
	t.false((await readdir(path.join(root, imported))).includes(importedVersion), 'the kill left the version unpublished');

	const third = await importSource(path.join(dir, 'third'), {metadata: {creationDate: 1_717_300_000}});
	const next = await run('-i', third, '-N', '--yes', root);
	t.is(next.exitCode, 0, next.stderr);
	t.regex(next.stderr, new RegExp(`${imported}/${importedVersion}: its import was killed as it put the version in place \\(its owner, pid \\d+, is gone\\): finished it, the version is in place and the one it replaced removed`));
	const published = JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as {products: Record<string, {versions: Record<string, {items: Record<string, {sha256: string}>}>}>};
	const {versions} = published.products['acme:3.0:amd64:default']!;
	t.is(versions[importedVersion]!.items['root.squashfs']!.sha256, replacement['rootfs.squashfs']!, 'the replacement is published');
	t.deepEqual((await readdir(path.join(root, imported))).filter(n => n.startsWith('.')), [], 'no staging or replaced directory is left');
});

test('an import --force killed between its two renames is finished by a watcher started on the root, which says so and publishes it', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await mkdir(root);
	t.is((await cliIn(dir)('-i', await importSource(path.join(dir, 'first')), '-N', '--yes', root)).exitCode, 0);
	const second = await importSource(path.join(dir, 'second'));
	const replacement = await snapshot(second);
	await killedImport(dir, second, root, 'replaced', '--force');
	const watcher = execa(process.execPath, [cli, '--watch', '--settle', '0.2', '--cache', path.join(dir, 'cache.json'), root], {reject: false, stdin: 'ignore', env: {CI: 'true'}, all: true});
	t.teardown(() => {
		watcher.kill('SIGKILL');
	});
	let log = '';
	watcher.all!.on('data', (chunk: Buffer) => {
		log += chunk.toString();
	});
	const published = async () => {
		const text = await readFile(path.join(root, 'streams/v1/images.json'), 'utf8').catch(() => '{}');
		const {products} = JSON.parse(text) as {products?: Record<string, {versions: Record<string, {items: Record<string, {sha256: string}>}>}>};
		return products?.['acme:3.0:amd64:default']?.versions[importedVersion]?.items['root.squashfs']?.sha256 === replacement['rootfs.squashfs'];
	};

	await until('the watcher to publish the replacement', published);
	t.regex(log, new RegExp(`${imported}/${importedVersion}: its import was killed as it put the version in place \\(its owner, pid \\d+, is gone\\): finished it, the version is in place and the one it replaced removed`));
	t.deepEqual((await readdir(root)).filter(n => n.startsWith('.simplestreams.import')), [], 'the journal is gone');
	watcher.kill('SIGTERM');
	t.is((await watcher).exitCode, 0, log);
});

test('an import whose file changes while it is hashed is refused and put back; no digest of it is published or cached', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await mkdir(root);
	const src = await importSource(path.join(dir, 'src'));
	const child = stoppedImport(dir, src, root, 'hashed');
	await until('the import to have hashed its first file', async () => (await state(child.pid!)) === 'T' || child.exitCode !== null);
	const [staging] = (await readdir(path.join(root, imported))).filter(n => n.includes('.import-'));
	// Rewritten in place, same size and mtime, as an upload still running would.
	await rewriteSameSize(path.join(root, imported, staging!, 'lxd.tar.xz'), flipLastByte);
	child.kill('SIGCONT');
	const result = await child;
	t.is(result.exitCode, 1, result.stderr);
	t.regex(result.stderr, /lxd\.tar\.xz changed while it was being hashed/);
	t.deepEqual(await listTree(path.join(root, imported)).catch(() => []), [], 'nothing of it is in the root');
	t.true((await readdir(src)).includes('lxd.tar.xz'), 'the file is back in SRC');
	const cached = await cacheOnDisk(path.join(dir, 'cache.json')).catch(() => ({files: {}}));
	t.false(Object.keys(cached.files).some(file => file.endsWith('lxd.tar.xz')), 'no digest of it cached');
});

test('a watcher the system refuses a hash thread (its user at the process limit: EAGAIN) hashes on its own thread and publishes', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await copyExample(root);
	// Only small files at the start, so that no hash thread has been started when the limit is reached.
	const version = path.join(root, 'images/demo/1.0/amd64/default/20240615_00:00');
	await rename(path.join(root, 'images/demo'), path.join(dir, 'demo'));
	// A user of its own: the process limit counts every process and thread of the user.
	const uid = String(61_000 + (process.pid % 4000));
	const as = ['--reuid', uid, '--regid', uid, '--clear-groups'];
	await execa('chown', ['-R', uid, dir]);
	const limit = 64;
	const watcher = execa('setpriv', [...as, 'bash', '-c', `ulimit -u ${limit} && exec "$@"`, 'bash', process.execPath, cli, '--watch', '--settle', '0.2', '--cache', path.join(dir, 'cache.json'), root], {reject: false, stdin: 'ignore', env: {CI: 'true', HOME: dir}, all: true});
	const holders: Array<ReturnType<typeof execa>> = [];
	t.teardown(() => {
		watcher.kill('SIGKILL');
		for (const holder of holders) {
			holder.kill('SIGKILL');
		}
	});
	let log = '';
	watcher.all!.on('data', (chunk: Buffer) => {
		log += chunk.toString();
	});
	await until('the watcher\'s first regeneration', () => log.includes('regenerat'));
	// Started by root, which the limit does not hold: the user is now at its limit.
	for (let i = 0; i < limit; i++) {
		holders.push(execa('setpriv', [...as, 'sleep', '600'], {reject: false}));
	}

	await until('the processes that fill the limit', async () => (await execa('ps', ['-L', '-u', uid, '-o', 'lwp=']).then(r => r.stdout.split('\n').length, () => 0)) >= limit);
	await execa('mv', [path.join(dir, 'demo'), path.join(root, 'images/demo')]);
	await execa('chown', ['-R', uid, root]);
	await until('a regeneration after the move', () => /regenerated|regeneration failed, previous streams kept: (?!nothing)/.test(log));
	const images = await readFile(path.join(root, 'streams/v1/images.json'), 'utf8').catch(() => '');
	t.true(images.includes(path.relative(root, version)), log);
	t.notRegex(log, /EAGAIN|\n\s+at /);
	watcher.kill('SIGTERM');
	t.is((await watcher).exitCode, 0, log);
});
