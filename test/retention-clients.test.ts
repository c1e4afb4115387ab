// Retiring versions under real clients: five versions of a product, `prune -N --keep 2`, served by
// the README's nginx block to lxc (LXD 5.0) and incus (6.0), one incus keeping the index it fetched
// before the prune. The retired files stay for the grace, a -N meanwhile does not publish them again,
// the next -N after the grace deletes them, verify passes at every step, and a dry run never changes
// a byte of the tree.
import {createHash} from 'node:crypto';
import {readdir, readFile, stat} from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import test from 'ava';
import {execa} from 'execa';
import {remote, serveToClients, sha256Files, type Remote, type Served} from './helpers/clients.js';
import {imageVersion, tempDir, type BuiltVersion, type TempDir} from './helpers/images.js';

const cli = path.resolve('dist/cli.js');
const dir = 'images/acme/1.0/amd64/default';
const names = ['20240101_0000', '20240102_0000', '20240103_0000', '20240104_0000', '20240105_0000'];

let tmp: TempDir;
let webroot: string;
let served: Served;
let stale: Remote;
const built: Record<string, BuiltVersion> = {};
const fingerprints: Record<string, string> = {};

// verify trusts no cache, and refuses --cache as a flag it does not take.
const run = async (...args: string[]) => execa('node', [cli, ...args, ...(args[0] === 'verify' ? [] : ['--cache', path.join(tmp.path, 'cache.json')])], {reject: false, env: {CI: 'true'}});

type Streams = {products: Record<string, {versions: Record<string, unknown>}>};
const published = async () => Object.keys((JSON.parse(await readFile(path.join(webroot, 'streams/v1/images.json'), 'utf8')) as Streams).products['acme:1.0:amd64:default']?.versions ?? {}).sort();

/** Every file and directory under the web root, dot-files too, with its size, mtime and content. */
async function snapshot(): Promise<Record<string, string>> {
	const listing: Record<string, string> = {};
	for (const entry of await readdir(webroot, {recursive: true, withFileTypes: true})) {
		const absolute = path.join(entry.parentPath, entry.name);
		const stats = await stat(absolute, {bigint: true});
		const content = entry.isFile() ? createHash('sha256').update(await readFile(absolute)).digest('hex') : 'dir';
		listing[path.relative(webroot, absolute)] = `${stats.size} ${stats.mtimeNs} ${content}`;
	}

	return listing;
}

async function verified(t: {is(a: unknown, b: unknown, message?: string): void}, step: string) {
	const result = await run('verify', webroot);
	t.is(result.exitCode, 0, `verify ${step}: ${result.stdout}${result.stderr}`);
}

async function status(url: string, caFile: string): Promise<number> {
	const ca = await readFile(caFile);
	return new Promise((resolve, reject) => {
		https.get(url, {ca}, response => {
			response.resume();
			resolve(response.statusCode ?? 0);
		}).on('error', reject);
	});
}

test.before(async () => {
	tmp = await tempDir('ss-retention-clients');
	webroot = path.join(tmp.path, 'webroot');
	for (const name of names) {
		built[name] = await imageVersion(webroot, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: name, meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
		fingerprints[name] = await sha256Files([built[name].files['incus.tar.xz']!, built[name].files['root.squashfs']!]);
	}

	served = await serveToClients(webroot, ['lxc', 'incus']);
	stale = await remote('incus', served.server.url, served.server.caFile, 'stale');
});

test.after.always(async () => {
	await stale?.close();
	await served?.close();
	await tmp?.cleanup();
});

test('prune -N --keep 2: the clients see the newest two, a cached index still gets a retired one, the next -N after the grace deletes them', async t => {
	t.is((await run('-N', webroot)).exitCode, 0);
	await verified(t, 'after the first publish');
	// This incus keeps the index it fetched now, as clients and daemons do for minutes to an hour.
	t.is((await stale.list()).length, 5);

	const before = await snapshot();
	const dry = await run('prune', '--keep', '2', webroot);
	t.is(dry.exitCode, 0, dry.stderr);
	t.regex(dry.stdout, /retire now \(leaves the streams\):/);
	for (const name of names.slice(0, 3)) {
		t.true(dry.stdout.includes(`${dir}/${name}`), name);
	}

	t.regex(dry.stdout, /dry run: nothing changed/);
	t.deepEqual(await snapshot(), before, 'a dry-run prune changes nothing');

	const prune = await run('prune', '-N', '--keep', '2', '--grace', '40s', webroot);
	t.is(prune.exitCode, 0, prune.stderr);
	t.regex(prune.stderr, /retired images\/acme\/1\.0\/amd64\/default\/20240101_0000 \(\d.* KiB\): beyond the newest 2/);
	t.deepEqual(await published(), names.slice(3));
	const record = JSON.parse(await readFile(path.join(webroot, '.simplestreams-retired.json'), 'utf8')) as {retired: Array<{path: string; deleteAfter: string}>};
	t.deepEqual(record.retired.map(r => r.path).sort(), names.slice(0, 3).map(name => `${dir}/${name}`));

	// A -N meanwhile publishes what is there, but not the retired versions, whose files still are.
	const again = await run('-N', webroot);
	t.is(again.exitCode, 0, again.stderr);
	t.deepEqual(await published(), names.slice(3));
	for (const name of names.slice(0, 3)) {
		t.truthy(await stat(built[name]!.files['root.squashfs']!).catch(() => undefined), `${name} is still on disk`);
	}

	await verified(t, 'after the prune');

	for (const kind of ['lxc', 'incus'] as const) {
		const images = await served.remotes.get(kind)!.list();
		t.deepEqual(images.map(image => image.fingerprint).sort(), [fingerprints[names[3]!], fingerprints[names[4]!]!].sort(), kind);
	}

	// The incus that fetched the index before the prune still lists all five and downloads a retired one.
	t.is((await stale.list()).length, 5);
	const exported = await stale.export(fingerprints[names[0]!]!, path.join(tmp.path, 'export'));
	t.is(await sha256Files(exported), fingerprints[names[0]!]!);

	// The record is in the web root, and the web server refuses it.
	t.is(await status(`${served.server.url}/.simplestreams-retired.json`, served.server.caFile), 404);

	const due = Math.max(...record.retired.map(r => Date.parse(r.deleteAfter)));
	while (Date.now() <= due) {
		await sleep(200);
	}

	const pending = await snapshot();
	const dryDue = await run('prune', webroot);
	t.regex(dryDue.stdout, /delete now \(past their grace\):/);
	t.deepEqual(await snapshot(), pending, 'a dry-run prune with deletions due changes nothing');

	const deleting = await run('-N', webroot);
	t.is(deleting.exitCode, 0, deleting.stderr);
	t.regex(deleting.stderr, /deleted images\/acme\/1\.0\/amd64\/default\/20240101_0000: 2 files/);
	for (const name of names.slice(0, 3)) {
		t.is(await stat(built[name]!.dir).catch(() => undefined), undefined, `${name} is deleted`);
	}

	for (const name of names.slice(3)) {
		t.truthy(await stat(built[name]!.files['root.squashfs']!), `${name} is kept`);
	}

	t.deepEqual(await published(), names.slice(3));
	await verified(t, 'after the deletion');

	// The product's aliases move to the newest version that remains.
	const lxc = served.remotes.get('lxc')!;
	t.is((await lxc.info('acme/1.0')).fingerprint, fingerprints[names[4]!]!);
	const removed = await run('remove', '-N', '--grace', '1h', webroot, `${dir.slice('images/'.length)}/${names[4]!}`);
	t.is(removed.exitCode, 0, removed.stderr);
	t.is((await lxc.info('acme/1.0')).fingerprint, fingerprints[names[3]!]!);
	await verified(t, 'after the remove');

	// Until its files are deleted, a retired version comes back.
	const restored = await run('restore', '-N', webroot, `acme/1.0/amd64/default/${names[4]!}`);
	t.is(restored.exitCode, 0, restored.stderr);
	t.deepEqual(await published(), names.slice(3));
	t.is((await lxc.info('acme/1.0')).fingerprint, fingerprints[names[4]!]!);
	await verified(t, 'after the restore');
});
