// The generator's output as the real clients see it: a tree of real images (mksquashfs, qemu-img,
// tar/xz) published with -N, served by the README's nginx block over TLS 1.3, then listed, resolved
// and exported by lxc (LXD 5.0) and incus (6.0). Fingerprints are computed here, independently.
import {createHash} from 'node:crypto';
import {chmod, mkdir, readFile, stat, utimes, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {fingerprintOfExport, remote, serveToClients, type ClientKind, type Served} from './helpers/clients.js';
import {copyExample} from './helpers/fixtures.js';
import {imageVersion, squashfsImage, tempDir, type BuiltVersion, type TempDir} from './helpers/images.js';
import {serve} from './helpers/server.js';

const cli = path.resolve('dist/cli.js');
const kinds: ClientKind[] = ['lxc', 'incus'];

const sha = async (...files: string[]) => {
	const hash = createHash('sha256');
	for (const file of files) {
		hash.update(await readFile(file));
	}

	return hash.digest('hex');
};

type Expected = {fingerprint: string; type: 'container' | 'virtual-machine'; rootfs: string; version: string; product: string};

let tmp: TempDir;
let webroot: string;
let served: Served | undefined;
const expected = new Map<ClientKind, Expected[]>([['lxc', []], ['incus', []]]);
const versions: Record<string, BuiltVersion> = {};
let firstRun = '';
let secondRun = '';

/** Record the images each client should see for a version: its own meta ftype first, else the other. */
async function expect(built: BuiltVersion, product: string, version: string) {
	const files = built.files;
	for (const kind of kinds) {
		const meta = kind === 'lxc' ? files['lxd.tar.xz'] ?? files['incus.tar.xz'] : files['incus.tar.xz'] ?? files['lxd.tar.xz'];
		for (const [name, type] of [['root.squashfs', 'container'], ['root.tar.xz', 'container'], ['disk.qcow2', 'virtual-machine']] as const) {
			if (files[name]) {
				expected.get(kind)!.push({fingerprint: await sha(meta!, files[name]), type, rootfs: name, version, product});
			}
		}
	}
}

const run = async (...args: string[]) => execa('node', [cli, ...args, '--cache', path.join(tmp.path, 'cache.json')], {reject: false, env: {CI: 'true'}});

test.before(async () => {
	tmp = await tempDir('ss-clients');
	webroot = path.join(tmp.path, 'webroot');
	const v = async (key: string, spec: Omit<Parameters<typeof imageVersion>[1], 'os'>) => {
		versions[key] = await imageVersion(webroot, {os: 'acme', ...spec});
		return versions[key];
	};

	// A container (squashfs and root.tar.xz) and a VM sharing one metadata file.
	await v('shared', {release: '1.0', arch: 'amd64', variant: 'default', version: '20240101_0000', meta: ['incus.tar.xz'], rootfs: ['root.squashfs', 'root.tar.xz', 'disk.qcow2']});
	// A newer version with separate LXD and Incus metadata files: each client pairs with its own.
	await v('newer', {release: '1.0', arch: 'amd64', variant: 'default', version: '20240102_0000', meta: ['lxd.tar.xz', 'incus.tar.xz'], rootfs: ['root.squashfs']});
	// lxd.tar.xz only: Incus must see it too.
	await v('lxdOnly', {release: '1.0', arch: 'arm64', variant: 'default', version: '20240101_0000', meta: ['lxd.tar.xz'], rootfs: ['root.tar.xz']});
	// A VM-only product in the seed's version form, with requirements from two levels.
	await v('vm', {release: '2.0', arch: 'amd64', variant: 'cloud', version: '20240105_12:30', meta: ['incus.tar.xz'], rootfs: ['disk.qcow2']});
	await writeFile(path.join(webroot, 'images/acme/1.0/amd64/default/.aliases'), '# extra names\nacme/lts\nbad alias\n');
	await writeFile(path.join(webroot, 'images/.requirements'), JSON.stringify({secureboot: 'true', cgroup: 'v2'}));
	await writeFile(path.join(webroot, 'images/acme/2.0/.lxd_requirements'), JSON.stringify({secureboot: 'false'}));
	// Never published: an upload in progress, metadata without rootfs, a bad version name, an unknown arch.
	await v('upload', {release: '1.0', arch: 'amd64', variant: 'default', version: '.20240109_0000', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
	await v('metaOnly', {release: '1.0', arch: 'amd64', variant: 'default', version: '20240108_0000', meta: ['incus.tar.xz'], rootfs: []});
	await v('badName', {release: '1.0', arch: 'amd64', variant: 'default', version: 'latest', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
	await v('badArch', {release: '1.0', arch: 'x64', variant: 'default', version: '20240101_0000', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});

	firstRun = (await run('-N', webroot)).stderr;

	// Change a published rootfs without changing its size or mtime: the cache must notice.
	const changed = versions.newer!.files['root.squashfs']!;
	const before = await stat(changed);
	await squashfsImage(changed, {'etc/hostname': 'rebuilt\n', 'etc/padding': 'x'.repeat(100)});
	await utimes(changed, before.atime, before.mtime);
	secondRun = (await run('-N', webroot)).stderr;

	await expect(versions.shared!, 'acme:1.0:amd64:default', '20240101_0000');
	await expect(versions.newer!, 'acme:1.0:amd64:default', '20240102_0000');
	await expect(versions.lxdOnly!, 'acme:1.0:arm64:default', '20240101_0000');
	await expect(versions.vm!, 'acme:2.0:amd64:cloud', '20240105_12:30');

	served = await serveToClients(webroot, kinds);
});

test.after.always(async () => {
	await served?.close();
	await tmp?.cleanup();
});

test('the generator reports what it left out, each with its reason', t => {
	t.regex(firstRun, /skipped version images\/acme\/1\.0\/amd64\/default\/\.20240109_0000: upload in progress/);
	t.regex(firstRun, /skipped version images\/acme\/1\.0\/amd64\/default\/20240108_0000: metadata but no usable rootfs/);
	t.regex(firstRun, /skipped version images\/acme\/1\.0\/amd64\/default\/latest: version "latest" is not a version name/);
	t.regex(firstRun, /images\/acme\/1\.0\/x64: arch unknown architecture "x64"/);
	t.regex(firstRun, /warning images\/acme\/1\.0\/amd64\/default\/\.aliases: line 3: alias "bad alias" may only use/);
	t.regex(secondRun, /hashed images\/acme\/1\.0\/amd64\/default\/20240102_0000\/root\.squashfs/);
	t.notRegex(secondRun, /hashed images\/acme\/1\.0\/amd64\/default\/20240101_0000\//, 'unchanged files come from the cache');
});

for (const kind of kinds) {
	test.serial(`${kind} lists exactly the intended images`, async t => {
		const listed = await served!.remotes.get(kind)!.list();
		const want = expected.get(kind)!;
		t.deepEqual(listed.map(i => i.fingerprint).sort(), want.map(e => e.fingerprint).sort());
		for (const image of listed) {
			const e = want.find(w => w.fingerprint === image.fingerprint)!;
			t.is(image.type, e.type, `${e.version} ${e.rootfs}`);
			t.is(image.properties.serial, e.version);
		}
	});

	test.serial(`${kind} exports every image, and the files hash to its fingerprint`, async t => {
		const client = served!.remotes.get(kind)!;
		for (const [index, e] of expected.get(kind)!.entries()) {
			const files = await client.export(e.fingerprint, path.join(tmp.path, `export-${kind}-${index}`), {vm: e.type === 'virtual-machine'});
			t.is(files.length, 2, `${e.version} ${e.rootfs} is a split image`);
			t.is(await fingerprintOfExport(files), e.fingerprint, `${e.version} ${e.rootfs}`);
		}
	});

	test.serial(`${kind} resolves aliases to the newest version, containers and VMs apart`, async t => {
		const client = served!.remotes.get(kind)!;
		const want = expected.get(kind)!;
		const find = (version: string, rootfs: string, product = 'acme:1.0:amd64:default') =>
			want.find(e => e.product === product && e.version === version && e.rootfs === rootfs)!.fingerprint;
		t.is((await client.info('acme/1.0')).fingerprint, find('20240102_0000', 'root.squashfs'));
		t.is((await client.info('acme/1.0/default/amd64')).fingerprint, find('20240102_0000', 'root.squashfs'));
		t.is((await client.info('acme/1.0', {vm: true})).fingerprint, find('20240101_0000', 'disk.qcow2'));
		t.is((await client.info('acme/2.0/cloud', {vm: true})).fingerprint, find('20240105_12:30', 'disk.qcow2', 'acme:2.0:amd64:cloud'));
		t.is((await client.info('acme/lts')).fingerprint, find('20240102_0000', 'root.squashfs'), 'an extra alias from .aliases');
		t.is((await client.info('acme/1.0/default/arm64')).fingerprint, find('20240101_0000', 'root.tar.xz', 'acme:1.0:arm64:default'));
		const names = new Set((await client.aliases()).map(a => a.name));
		t.false(names.has('acme/2.0'), 'os/release alias only for the default variant');
	});

	test.serial(`${kind} shows the requirements as image properties, the nearest file winning`, async t => {
		const info = await served!.remotes.get(kind)!.info('acme/2.0/cloud', {vm: true});
		t.is(info.properties['requirements.secureboot'], 'false');
		t.is(info.properties['requirements.cgroup'], 'v2');
	});
}

test.serial('a file the generator cannot read is skipped and the rest is still published', async t => {
	// Root reads everything, so run the generator as nobody on a tree nobody owns.
	const scratch = await tempDir('ss-unreadable');
	try {
		const root = path.join(scratch.path, 'webroot');
		const good = await imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: '20240101_0000', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
		const bad = await imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: '20240102_0000', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
		await chmod(scratch.path, 0o755);
		await execa('chown', ['-R', 'nobody:nogroup', root]);
		await chmod(bad.files['root.squashfs']!, 0o000);
		const result = await execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'node', cli, '-N', root, '--cache', path.join(root, '..', 'nobody-cache.json')], {reject: false, env: {CI: 'true', HOME: '/nonexistent'}});
		t.is(result.exitCode, 0, result.stderr);
		t.regex(result.stderr, /skipped file images\/acme\/1\.0\/amd64\/default\/20240102_0000\/root\.squashfs: cannot be read \(EACCES\)/);
		const products = JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as {products: Record<string, {versions: Record<string, unknown>}>};
		t.deepEqual(Object.keys(products.products['acme:1.0:amd64:default']!.versions), ['20240101_0000']);
		t.truthy(good.files['root.squashfs']);
	} finally {
		await mkdir(scratch.path, {recursive: true});
		await scratch.cleanup();
	}
});

test.serial('a copied version is published once, and both clients can still use the image', async t => {
	const scratch = await tempDir('ss-duplicate');
	t.teardown(async () => scratch.cleanup());
	const root = path.join(scratch.path, 'webroot');
	const original = await imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: '20240101_0000', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
	const copy = path.join(root, 'images/acme/1.0/amd64/default/20240102_0000');
	await execa('cp', ['-a', original.dir, copy]);
	const result = await execa('node', [cli, '-N', root, '--cache', path.join(scratch.path, 'cache.json')], {reject: false});
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /20240102_0000\/root\.squashfs: LXD would see fingerprint [0-9a-f]{12} twice: it is already published by images\/acme\/1\.0\/amd64\/default\/20240101_0000\/root\.squashfs/);
	const fingerprint = await sha(original.files['incus.tar.xz']!, original.files['root.squashfs']!);
	const duplicateServer = await serve(root);
	t.teardown(async () => duplicateServer.stop());
	for (const kind of kinds) {
		const client = await remote(kind, duplicateServer.url, duplicateServer.caFile);
		t.teardown(async () => client.close());
		t.deepEqual((await client.list()).map(i => i.fingerprint), [fingerprint]);
		const files = await client.export(fingerprint, path.join(scratch.path, `export-${kind}`));
		t.is(await fingerprintOfExport(files), fingerprint);
	}
});

test.serial('the bundled example tree publishes six images to each client', async t => {
	const scratch = await tempDir('ss-example');
	t.teardown(async () => scratch.cleanup());
	const root = path.join(scratch.path, 'webroot');
	await copyExample(root);
	const result = await execa('node', [cli, '-N', root, '--cache', path.join(scratch.path, 'cache.json')], {reject: false});
	t.is(result.exitCode, 0, result.stderr);
	const exampleServer = await serve(root);
	t.teardown(async () => exampleServer.stop());
	for (const kind of kinds) {
		const client = await remote(kind, exampleServer.url, exampleServer.caFile);
		t.teardown(async () => client.close());
		const listed = await client.list();
		t.is(listed.length, 6, kind);
		for (const image of listed) {
			const files = await client.export(image.fingerprint, path.join(scratch.path, `export-${kind}-${image.fingerprint}`), {vm: image.type === 'virtual-machine'});
			t.is(await fingerprintOfExport(files), image.fingerprint);
		}

		t.is((await client.info('demo/1.0', {vm: true})).properties['requirements.secureboot'], 'false');
	}
});
