// prune, remove and restore on real files, without clients (retention-clients.test.ts has them):
// TARGETs by version, product and fingerprint prefix; a delta whose base retires; a delta file
// nobody publishes; a version directory with a file of its own; a file that cannot be deleted; --watch --keep 2 while versions arrive; and
// prune -N against a watcher holding the root.
import {createHash} from 'node:crypto';
import {chmod, mkdir, readdir, readFile, rename, stat, utimes} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {sha256Files} from './helpers/clients.js';
import {deltaPair, imageVersion, tempDir, type BuiltVersion} from './helpers/images.js';
import {until} from './helpers/watch.js';

const cli = path.resolve('dist/cli.js');
const dir = 'images/acme/1.0/amd64/default';
const product = 'acme/1.0/amd64/default';

type Products = {products: Record<string, {versions: Record<string, {items: Record<string, {ftype: string; delta_base?: string}>}>}>};

async function streams(root: string): Promise<Products> {
	return JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as Products;
}

const versionsOf = async (root: string, id = 'acme:1.0:amd64:default') => Object.keys((await streams(root)).products[id]?.versions ?? {}).sort();

async function setup(t: {teardown(fn: () => Promise<void>): void}) {
	const tmp = await tempDir('ss-retention');
	t.teardown(async () => tmp.cleanup());
	const root = path.join(tmp.path, 'webroot');
	await mkdir(path.join(root, 'images'), {recursive: true});
	// verify trusts no cache, and refuses --cache as a flag it does not take.
	const run = async (...args: string[]) => execa('node', [cli, ...args, ...(args[0] === 'verify' ? [] : ['--cache', path.join(tmp.path, 'cache.json')])], {reject: false, env: {CI: 'true'}});
	return {tmp, root, run};
}

const version = async (root: string, name: string, variant = 'default', release = '1.0') =>
	imageVersion(root, {os: 'acme', release, arch: 'amd64', variant, version: name, meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});

const exists = async (file: string) => stat(file).then(() => true, () => false);

/** Every path under the root with its size, mtime and content. */
async function snapshot(root: string): Promise<Record<string, string>> {
	const listing: Record<string, string> = {};
	for (const entry of await readdir(root, {recursive: true, withFileTypes: true})) {
		const absolute = path.join(entry.parentPath, entry.name);
		const stats = await stat(absolute, {bigint: true});
		listing[path.relative(root, absolute)] = `${stats.size} ${stats.mtimeNs} ${entry.isFile() ? createHash('sha256').update(await readFile(absolute)).digest('hex') : ''}`;
	}

	return listing;
}

test('remove by version, by product and by fingerprint prefix; an ambiguous or unknown TARGET changes nothing', async t => {
	const {root, run} = await setup(t);
	// Seventeen images: two of their fingerprints begin with the same hex digit.
	const names = Array.from({length: 17}, (_, index) => `202401${String(index + 1).padStart(2, '0')}_0000`);
	const built: Record<string, BuiltVersion> = {};
	const fingerprints: Record<string, string> = {};
	for (const name of names) {
		built[name] = await version(root, name);
		fingerprints[name] = await sha256Files([built[name].files['incus.tar.xz']!, built[name].files['root.squashfs']!]);
	}

	await version(root, '20240101_0000', 'cloud');
	t.is((await run('-N', root)).exitCode, 0);

	const shared = names.find(name => names.some(other => other !== name && fingerprints[other]![0] === fingerprints[name]![0]))!;
	const before = await snapshot(root);
	const ambiguous = await run('remove', '-N', root, fingerprints[shared]![0]!);
	t.is(ambiguous.exitCode, 1);
	t.regex(ambiguous.stderr, /nothing removed: .*ambiguous, the clients would refuse it too/);
	const unknown = await run('remove', '-N', root, `${product}/20990101_0000`, 'acme/9.9');
	t.is(unknown.exitCode, 1);
	t.regex(unknown.stderr, /no published version images\/acme\/1\.0\/amd64\/default\/20990101_0000; acme\/9\.9: not a product/);
	const dry = await run('remove', root, `${product}/${names[0]!}`);
	t.is(dry.exitCode, 0, dry.stderr);
	t.regex(dry.stdout, /retire now \(leaves the streams\):\n {2}images\/acme\/1\.0\/amd64\/default\/20240101_0000 {2}\d/);
	t.deepEqual(await snapshot(root), before, 'a refused remove and a dry run change nothing');

	// A version, deleted at once.
	const byVersion = await run('remove', '-N', '--grace', '0', root, `${product}/${names[0]!}`);
	t.is(byVersion.exitCode, 0, byVersion.stderr);
	t.false((await versionsOf(root)).includes(names[0]!));
	t.false(await exists(built[names[0]!]!.dir));

	// An image by a prefix of its fingerprint, kept for the default grace.
	const byPrefix = await run('remove', '-N', root, fingerprints[names[1]!]!.slice(0, 12));
	t.is(byPrefix.exitCode, 0, byPrefix.stderr);
	t.regex(byPrefix.stdout, /removed \(fingerprint [\da-f]{12}\); files deleted after/);
	t.false((await versionsOf(root)).includes(names[1]!));
	t.true(await exists(built[names[1]!]!.files['root.squashfs']!));

	// A whole product: the other one stays.
	const byProduct = await run('remove', '-N', root, 'acme/1.0/amd64/cloud');
	t.is(byProduct.exitCode, 0, byProduct.stderr);
	t.deepEqual(await versionsOf(root, 'acme:1.0:amd64:cloud'), []);
	t.is((await versionsOf(root)).length, 15);
	t.is((await run('verify', root)).exitCode, 0);
});

test('a delta whose base retires leaves the streams with it, and its file is deleted with it', async t => {
	const {root, run} = await setup(t);
	const [first, second, third] = await deltaPair(root, ['20240101_0000', '20240102_0000', '20240103_0000']);
	t.is((await run('-N', '--deltas', root)).exitCode, 0);
	const deltaFromFirst = path.join(second!.dir, `delta-20240101_0000.vcdiff`);
	t.true(await exists(deltaFromFirst));

	const pruned = await run('prune', '-N', '--deltas', '--keep', '2', '--grace', '0', root);
	t.is(pruned.exitCode, 0, pruned.stderr);
	t.deepEqual(await versionsOf(root), ['20240102_0000', '20240103_0000']);
	const items = (await streams(root)).products['acme:1.0:amd64:default']!.versions;
	t.deepEqual(Object.values(items['20240102_0000']!.items).filter(item => item.delta_base).map(item => item.delta_base), []);
	t.deepEqual(Object.values(items['20240103_0000']!.items).filter(item => item.delta_base).map(item => item.delta_base), ['20240102_0000']);
	t.false(await exists(first!.dir));
	t.false(await exists(deltaFromFirst), 'the delta from the retired version is deleted with it');
	t.true(await exists(path.join(third!.dir, 'delta-20240102_0000.vcdiff')));
	t.regex(pruned.stdout, /deleted \(past their grace\):\n {2}images\/acme\/1\.0\/amd64\/default\/20240101_0000/);
	t.is((await run('verify', root)).exitCode, 0);
});

const recorded = async (root: string) => (JSON.parse(await readFile(path.join(root, '.simplestreams-retired.json'), 'utf8').catch(() => '{"retired": []}')) as {retired: Array<{kind: string; path: string}>}).retired;

test('a delta file nobody publishes retires: recorded once, kept for its grace, taken back when published again, deleted after the grace', async t => {
	const {tmp, root, run} = await setup(t);
	const [first, second] = await deltaPair(root, ['20240101_0000', '20240102_0000', '20240103_0000']);
	t.is((await run('-N', '--deltas', root)).exitCode, 0);
	const orphan = `${dir}/20240102_0000/delta-20240101_0000.vcdiff`;
	t.true(await exists(path.join(root, orphan)));
	const saved = path.join(tmp.path, 'saved');
	await execa('cp', ['-a', first!.dir, saved]);
	const out = (result: {stdout: string; stderr: string}) => `${result.stdout}\n${result.stderr}`;

	// Its base deleted by hand: the delta is published no more.
	await execa('rm', ['-r', first!.dir]);
	const dry = await run('--deltas', root);
	t.regex(out(dry), new RegExp(`^warning ${orphan}: not published: `, 'm'), 'a dry run says it');
	t.deepEqual(await recorded(root), [], 'and records nothing');
	const retiring = await run('-N', '--deltas', '--grace', '1h', root);
	t.is(retiring.exitCode, 0, retiring.stderr);
	t.regex(out(retiring), new RegExp(`^retired ${orphan} \\(.+\\): 20240101_0000 is not the version before 20240102_0000 any more; files deleted after `, 'm'));
	t.deepEqual((await recorded(root)).map(entry => `${entry.kind} ${entry.path}`), [`orphan ${orphan}`]);
	t.true(await exists(path.join(root, orphan)), 'kept for its grace');
	// A change in the tree (the metadata file touched), so that the run looks at the deltas again.
	await utimes(second!.files['incus.tar.xz']!, new Date(), new Date());
	const within = await run('-N', '--deltas', root);
	t.is(within.exitCode, 0, within.stderr);
	t.notRegex(out(within), /not published|: 20240101_0000 is not the version before/, 'a recorded delta is not said again');
	t.true(await exists(path.join(root, orphan)));
	t.is((await recorded(root)).length, 1);

	// Its base back: published again, and out of the record.
	await execa('cp', ['-a', saved, first!.dir]);
	const back = await run('-N', '--deltas', root);
	t.is(back.exitCode, 0, back.stderr);
	t.regex(out(back), new RegExp(`^restored ${orphan}$`, 'm'));
	t.deepEqual(await recorded(root), []);
	t.deepEqual(Object.values((await streams(root)).products['acme:1.0:amd64:default']!.versions['20240102_0000']!.items).map(item => item.delta_base).filter(Boolean), ['20240101_0000']);

	// Orphaned again with a grace of seconds: the next run past it deletes the file.
	await execa('rm', ['-r', first!.dir]);
	t.is((await run('-N', '--deltas', '--grace', '2s', root)).exitCode, 0);
	t.true(await exists(path.join(root, orphan)));
	const deleted = await until('the orphan delta deleted', async () => {
		const result = await run('-N', '--deltas', root);
		t.notRegex(out(result), /not published/);
		return !(await exists(path.join(root, orphan))) && result;
	});
	t.regex(out(deleted), new RegExp(`^deleted ${orphan}: 1 files`, 'm'));
	t.deepEqual(await recorded(root), []);
	t.is((await run('verify', root)).exitCode, 0);
});

/** Make a file impossible to delete: immutable for root, its directory read-only for anyone else. */
async function pin(file: string): Promise<() => Promise<void>> {
	if (process.getuid?.() === 0) {
		await execa('chattr', ['+i', file]);
		return async () => {
			await execa('chattr', ['-i', file], {reject: false}); // Also after the file is gone.
		};
	}

	await chmod(path.dirname(file), 0o555);
	return async () => chmod(path.dirname(file), 0o755).catch(() => undefined);
}

test('a file of its own keeps a version directory; a file that cannot be deleted is said, the rest deleted, and tried again', async t => {
	const {root, run} = await setup(t);
	const [a, b] = [await version(root, '20240101_0000'), await version(root, '20240102_0000')];
	await version(root, '20240103_0000');
	const notes = path.join(a.dir, 'notes.txt');
	await execa('sh', ['-c', `echo kept > '${notes}'`]);
	await chmod(a.files['incus.tar.xz']!, 0o000); // Unreadable: deleting it needs no reading.
	const stuck = b.files['root.squashfs']!;
	const unpin = await pin(stuck);
	t.teardown(unpin);
	t.is((await run('-N', root)).exitCode, 0);

	const pruned = await run('prune', '-N', '--keep', '1', '--grace', '0', root);
	t.is(pruned.exitCode, 0, pruned.stderr);
	t.deepEqual(await versionsOf(root), ['20240103_0000']);
	t.deepEqual(await readdir(a.dir), ['notes.txt']);
	t.regex(pruned.stderr, /warning images\/acme\/1\.0\/amd64\/default\/20240101_0000: kept with what simplestreams did not publish from it: notes\.txt/);
	t.regex(pruned.stderr, /warning images\/acme\/1\.0\/amd64\/default\/20240102_0000\/root\.squashfs: cannot delete \((EPERM|EACCES)\); left in place, tried again at the next run/);
	t.false(await exists(b.files['incus.tar.xz']!));
	t.true(await exists(stuck));
	const record = JSON.parse(await readFile(path.join(root, '.simplestreams-retired.json'), 'utf8')) as {retired: Array<{path: string; files: Array<{path: string}>}>};
	t.deepEqual(record.retired.map(r => r.files.map(f => f.path)), [[`${dir}/20240102_0000/root.squashfs`]]);
	t.is((await run('verify', root)).exitCode, 0);

	// Still retired: the next -N does not publish it, and deletes it once it can.
	t.deepEqual(await versionsOf(root), ['20240103_0000']);
	await unpin();
	const again = await run('-N', root);
	t.is(again.exitCode, 0, again.stderr);
	t.false(await exists(b.dir));
	t.deepEqual(JSON.parse(await readFile(path.join(root, '.simplestreams-retired.json'), 'utf8')).retired, []);
	t.deepEqual(await versionsOf(root), ['20240103_0000']);
	t.is(await readFile(notes, 'utf8'), 'kept\n');
});

async function upload(root: string, name: string): Promise<void> {
	const staging = await version(root, `.${name}`);
	await rename(staging.dir, path.join(path.dirname(staging.dir), name));
}

test('--watch --keep 2: versions uploaded one by one are retired and later deleted without another command; prune -N meanwhile is refused as -N is', async t => {
	const {tmp, root, run} = await setup(t);
	await version(root, '20240101_0000');
	const past = new Date(Date.now() - 60_000);
	for (const entry of await readdir(root, {recursive: true, withFileTypes: true})) {
		if (entry.isFile()) {
			await utimes(path.join(entry.parentPath, entry.name), past, past);
		}
	}

	const watcher = execa('node', [cli, '--watch', root, '--keep', '2', '--grace', '3s', '--settle', '0.4', '--log', 'plain', '--cache', path.join(tmp.path, 'watch-cache.json')], {reject: false, env: {CI: 'true'}, all: true});
	t.teardown(async () => {
		watcher.kill('SIGTERM');
		await watcher;
	});
	let log = '';
	watcher.all!.on('data', (chunk: Buffer) => {
		log += chunk.toString();
	});
	const published = async (expected: string[]) => until(`streams with ${expected.join(', ')}`, async () => {
		const now = await versionsOf(root).catch(() => []);
		return JSON.stringify(now) === JSON.stringify(expected);
	});

	await published(['20240101_0000']);
	// Another writer is refused while the watcher holds the root, prune -N as -N.
	const refusedN = await run('-N', root);
	const refusedPrune = await run('prune', '-N', '--keep', '1', root);
	t.is(refusedPrune.exitCode, refusedN.exitCode);
	t.regex(refusedPrune.stderr, /is being written by another simplestreams \(simplestreams --watch, pid \d+/);
	t.false(await exists(path.join(root, '.simplestreams-retired.json')));

	const names = ['20240102_0000', '20240103_0000', '20240104_0000', '20240105_0000'];
	for (const [index, name] of names.entries()) {
		await upload(root, name);
		await published(['20240101_0000', ...names].slice(Math.max(0, index), index + 2));
	}

	// The retired ones go, with nothing else run, once their grace has passed.
	await until('the retired versions deleted', async () => {
		const left = await readdir(path.join(root, dir));
		return left.length === 2 && left;
	});
	t.deepEqual(await versionsOf(root), ['20240104_0000', '20240105_0000']);
	await until('the log line counting deletions', async () => /regenerated in .*; -\d+ retired, [1-9]\d* deleted \(\d/.test(log));
	t.regex(log, /retired images\/acme\/1\.0\/amd64\/default\/20240101_0000 \(.*\): beyond the newest 2; files deleted after/);
	t.regex(log, /regenerated in .* -1 \(acme:1\.0:amd64:default 20240101_0000\); -1 retired, \d+ deleted \(/);
	t.is((await run('verify', root)).exitCode, 0);
});
