// Proves the integration harness end to end without the generator: real image files, a
// hand-written stream, the README's nginx block, and the real lxc and incus clients.
import {createHash} from 'node:crypto';
import {mkdir, readFile, stat, writeFile} from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import test from 'ava';
import {fingerprintOfExport, serveToClients, sha256File, type ClientKind, type Served} from './helpers/clients.js';
import {imageVersion, requireTool, tempDir, type BuiltVersion, type TempDir} from './helpers/images.js';

const kinds: ClientKind[] = ['lxc', 'incus'];
const aliases = ['acme/1.0/default', 'acme/1.0'];

let tmp: TempDir;
let served: Served | undefined;
let version: BuiltVersion;
const expected = {container: '', vm: ''};

// Independent of the helpers on purpose: the fingerprint the test expects is sha256(meta ‖ root).
const sha = async (...files: string[]) => {
	const h = createHash('sha256');
	for (const f of files) {
		h.update(await readFile(f));
	}

	return h.digest('hex');
};

test.before(async () => {
	for (const tool of ['lxc', 'incus', 'nginx', 'openssl', 'mksquashfs', 'qemu-img', 'xz', 'tar']) {
		await requireTool(tool); // a missing tool fails every test with its name, never skips
	}

	tmp = await tempDir('ss-harness');
	const webroot = path.join(tmp.path, 'webroot');
	version = await imageVersion(webroot, {
		os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: '20240101_0000',
		meta: ['incus.tar.xz'], rootfs: ['root.squashfs', 'disk.qcow2'],
	});
	const f = version.files as Required<BuiltVersion['files']>;
	expected.container = await sha(f['incus.tar.xz'], f['root.squashfs']);
	expected.vm = await sha(f['incus.tar.xz'], f['disk.qcow2']);

	const item = async (name: keyof BuiltVersion['files'], ftype: string) => ({
		ftype, path: version.rel[name]!, size: (await stat(f[name]!)).size, sha256: await sha(f[name]!),
	});
	// One metadata file, listed once per client family (format doc §15), shared by container and VM.
	const meta = {
		...await item('incus.tar.xz', 'incus.tar.xz'),
		combined_squashfs_sha256: expected.container,
		'combined_disk-kvm-img_sha256': expected.vm,
	};
	const productId = 'acme:1.0:amd64:default';
	const products = {
		content_id: 'images', datatype: 'image-downloads', format: 'products:1.0',
		products: {
			[productId]: {
				aliases: aliases.join(','), arch: 'amd64', os: 'Acme', release: '1.0', release_title: '1.0', variant: 'default', requirements: {},
				versions: {
					'20240101_0000': {items: {
						'lxd.tar.xz': {...meta, ftype: 'lxd.tar.xz'},
						'incus.tar.xz': meta,
						'root.squashfs': await item('root.squashfs', 'squashfs'),
						'disk.qcow2': await item('disk.qcow2', 'disk-kvm.img'),
					}},
				},
			},
		},
	};
	const index = {
		format: 'index:1.0',
		index: {images: {datatype: 'image-downloads', path: 'streams/v1/images.json', format: 'products:1.0', products: [productId]}},
	};
	await mkdir(path.join(webroot, 'streams/v1'), {recursive: true});
	await writeFile(path.join(webroot, 'streams/v1/index.json'), JSON.stringify(index));
	await writeFile(path.join(webroot, 'streams/v1/images.json'), JSON.stringify(products));
	// Files the README's block must hide or serve verbatim.
	await writeFile(path.join(webroot, 'streams/v1/.images.json.tmp'), '{}');
	await mkdir(path.join(webroot, '.cache'), {recursive: true});
	await writeFile(path.join(webroot, '.cache/state.json'), '{}');
	await writeFile(path.join(webroot, 'images/acme/blob.tar.gz'), Buffer.alloc(4096, 'a'));

	served = await serveToClients(webroot, kinds);
});

test.after.always(async () => {
	await served?.close();
	await tmp?.cleanup();
});

const client = (kind: ClientKind) => served!.remotes.get(kind)!;

for (const kind of kinds) {
	test(`${kind}: image list shows the container and the VM with sha256(meta ‖ rootfs) fingerprints`, async t => {
		const images = await client(kind).list();
		const byFp = new Map(images.map(i => [i.fingerprint, i]));
		t.is(images.length, 2);
		t.is(byFp.get(expected.container)?.type, 'container');
		t.is(byFp.get(expected.container)?.properties.type, 'squashfs');
		t.is(byFp.get(expected.vm)?.type, 'virtual-machine');
		t.is(byFp.get(expected.vm)?.properties.type, 'disk-kvm.img');
		t.is(byFp.get(expected.container)?.architecture, 'x86_64');
		t.is(byFp.get(expected.container)?.filename, 'incus.tar.xz');
	});

	test(`${kind}: image alias list resolves short and /amd64 aliases per instance type`, async t => {
		const listed = await client(kind).aliases();
		for (const name of aliases.flatMap(a => [a, `${a}/amd64`])) {
			t.is(listed.find(a => a.name === name && a.type === 'container')?.target, expected.container, name);
			t.is(listed.find(a => a.name === name && a.type === 'virtual-machine')?.target, expected.vm, `${name} --vm`);
		}
	});

	test(`${kind}: image info resolves the alias (container, and VM with --vm)`, async t => {
		const ct = await client(kind).info('acme/1.0');
		t.is(ct.fingerprint, expected.container);
		t.is(ct.fields.Type, 'container');
		t.is(ct.properties.serial, '20240101_0000');
		t.true(ct.aliases.includes('acme/1.0/default/amd64'));
		const vm = await client(kind).info('acme/1.0', {vm: true});
		t.is(vm.fingerprint, expected.vm);
		t.is(vm.fields.Type, 'virtual-machine');
	});

	test(`${kind}: image export of the container gives meta + squashfs hashing to the fingerprint`, async t => {
		const files = await client(kind).export('acme/1.0', path.join(tmp.path, `export-${kind}-ct`));
		t.deepEqual(files.map(f => path.basename(f)), ['incus.tar.xz', 'root.squashfs']);
		t.is(await fingerprintOfExport(files), expected.container);
		t.is(await sha256File(files[1]!), await sha256File(version.files['root.squashfs']!));
	});

	test(`${kind}: image export --vm gives meta + qcow2 hashing to the fingerprint`, async t => {
		const files = await client(kind).export(expected.vm.slice(0, 12), path.join(tmp.path, `export-${kind}-vm`), {vm: true});
		t.deepEqual(files.map(f => path.basename(f)), ['incus.tar.xz', 'disk.qcow2']);
		t.is(await fingerprintOfExport(files), expected.vm);
	});

	test(`${kind}: errors carry the client's stderr`, async t => {
		const error = await t.throwsAsync(client(kind).info('no/such/alias'));
		t.regex(error?.message ?? '', /couldn't be found/);
	});
}

/** A raw HTTPS GET against the test server (TLS 1.3 only unless overridden). */
async function get(p: string, opts: https.RequestOptions = {}): Promise<{status: number; headers: Record<string, unknown>; body: Buffer}> {
	const ca = await readFile(served!.server.caFile);
	return new Promise((resolve, reject) => {
		https.get(`${served!.server.url}${p}`, {ca, headers: {'accept-encoding': 'gzip'}, ...opts}, res => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks)}));
		}).on('error', reject);
	});
}

test('nginx (README block): streams JSON is application/json with Cache-Control no-cache', async t => {
	const r = await get('/streams/v1/index.json');
	t.is(r.status, 200);
	t.regex(String(r.headers['content-type']), /^application\/json/);
	t.regex(String(r.headers['cache-control']), /no-cache|max-age=\d+/);
});

test('nginx (README block): image files are octet-stream and never Content-Encoded, even .gz', async t => {
	for (const p of [`/${version.rel['root.squashfs']!}`, '/images/acme/blob.tar.gz']) {
		const r = await get(p);
		t.is(r.status, 200, p);
		t.is(r.headers['content-type'], 'application/octet-stream', p);
		t.is(r.headers['content-encoding'], undefined, p);
	}
});

test('nginx (README block): dotfiles and dot-directories are 404', async t => {
	for (const p of ['/streams/v1/.images.json.tmp', '/.cache/state.json']) {
		t.is((await get(p)).status, 404, p);
	}
});

test('nginx (README block): TLS 1.2 is refused', async t => {
	await t.throwsAsync(get('/streams/v1/index.json', {maxVersion: 'TLSv1.2'}));
});

test('images: a version is byte-reproducible and differs with the seed', async t => {
	const spec = {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: '20240101_0000', meta: ['lxd.tar.xz' as const], rootfs: ['root.tar.xz' as const, 'rootfs.squashfs' as const]};
	const a = await imageVersion(path.join(tmp.path, 'repro-a'), spec);
	const b = await imageVersion(path.join(tmp.path, 'repro-b'), spec);
	const c = await imageVersion(path.join(tmp.path, 'repro-c'), {...spec, seed: 'other'});
	for (const name of ['lxd.tar.xz', 'root.tar.xz', 'rootfs.squashfs'] as const) {
		t.is(await sha256File(a.files[name]!), await sha256File(b.files[name]!), name);
		t.not(await sha256File(a.files[name]!), await sha256File(c.files[name]!), name);
	}
});
