// `simplestreams verify` and `simplestreams list` on real published trees: a clean tree passes, and
// each kind of damage is caught and named; `list` shows what the real lxc and incus clients list.
import {open, readFile, rm, stat, truncate, utimes, writeFile} from 'node:fs/promises';
import {arch} from 'node:os';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {execa} from 'execa';
import {remote, type ClientKind} from './helpers/clients.js';
import {deltaPair, imageVersion, tempDir, type TempDir} from './helpers/images.js';
import {serve} from './helpers/server.js';

const cli = path.resolve('dist/cli.js');
const product = 'acme:1.0:amd64:default';
const [older, newer] = ['20240101_0000', '20240102_0000'];
const dir = (version: string) => `images/acme/1.0/amd64/default/${version}`;

type Item = {ftype: string; path: string; sha256: string; size: number | string; [field: string]: unknown};
type Products = {products: Record<string, {versions: Record<string, {items: Record<string, Item>}>}>};

let template: TempDir;
let clean: string;

test.before(async () => {
	template = await tempDir('ss-verify');
	clean = path.join(template.path, 'webroot');
	await deltaPair(clean, [older, newer]);
	await imageVersion(clean, {os: 'acme', release: '2.0', arch: 'arm64', variant: 'cloud', version: '20240105_12:30', meta: ['lxd.tar.xz', 'incus.tar.xz'], rootfs: ['disk.qcow2']});
	await writeFile(path.join(clean, 'images/acme/2.0/.requirements'), '{"secureboot": "false"}');
	const published = await execa(process.execPath, [cli, '--deltas', '-N', '--cache', path.join(template.path, 'cache.json'), clean], {reject: false, env: {CI: 'true'}});
	if (published.exitCode !== 0) {
		throw new Error(published.stderr);
	}
});

test.after.always(async () => {
	await template?.cleanup();
});

/** A copy of the clean published tree for one test to damage. */
async function copy(t: ExecutionContext): Promise<string> {
	const scratch = await tempDir('ss-verify-case');
	t.teardown(async () => scratch.cleanup());
	const root = path.join(scratch.path, 'webroot');
	await execa('cp', ['-a', clean, root]);
	return root;
}

const verify = async (root: string, ...args: string[]) => execa(process.execPath, [cli, 'verify', ...args, root], {reject: false, env: {CI: 'true'}});

async function editStreams(root: string, change: (products: Products) => void): Promise<void> {
	const file = path.join(root, 'streams/v1/images.json');
	const products = JSON.parse(await readFile(file, 'utf8')) as Products;
	change(products);
	await writeFile(file, JSON.stringify(products));
}

const itemsOf = (products: Products, version: string) => products.products[product]!.versions[version]!.items;

/** The problem lines verify printed that name this product, version, item and file. */
const problemLine = (item: string, file: string, version = newer) =>
	new RegExp(`^problem: product ${product}, version ${version}, item ${item.replaceAll('.', '\\.')}, file ${file.replaceAll('.', '\\.')}: `, 'm');

test('a clean tree passes: every file, fingerprint and delta checked', async t => {
	const result = await verify(clean);
	t.is(result.exitCode, 0, result.stdout);
	t.regex(result.stdout, /^ok: 2 products, 3 versions, 3 images for LXD, 3 for Incus, \d+ files, hashed .*, 1 delta applied$/m);
	t.regex(result.stderr, /^checked delta images\/acme\/1\.0\/amd64\/default\/20240102_0000\/delta-20240101_0000\.vcdiff/m);
	const json = JSON.parse((await verify(clean, '--json')).stdout) as {ok: boolean; problems: unknown[]; deltas: number};
	t.like(json, {ok: true, problems: [], deltas: 1});
});

test('a flipped byte in a rootfs, its mtime restored, is caught', async t => {
	const root = await copy(t);
	const file = path.join(root, dir(newer), 'root.squashfs');
	const before = await stat(file);
	const handle = await open(file, 'r+');
	const byte = Buffer.alloc(1);
	await handle.read(byte, 0, 1, 5000);
	byte[0]! ^= 0xff;
	await handle.write(byte, 0, 1, 5000);
	await handle.close();
	await utimes(file, before.atime, before.mtime);
	const result = await verify(root);
	t.is(result.exitCode, 1);
	t.regex(result.stdout, problemLine('root.squashfs', `${dir(newer)}/root.squashfs`));
	t.regex(result.stdout, /has sha256 [0-9a-f]{64}, the item says [0-9a-f]{64}: every download of it fails/);
	t.regex(result.stdout, /fingerprint [0-9a-f]{64} of the squashfs image is not sha256/, 'and the fingerprint that depends on it');
	t.regex(result.stdout, /^\d+ problems: /m);
});

test('a truncated file is caught, with both sizes', async t => {
	const root = await copy(t);
	const file = path.join(root, dir(older), 'root.squashfs');
	const {size} = await stat(file);
	await truncate(file, size - 4096);
	const result = await verify(root);
	t.is(result.exitCode, 1);
	t.regex(result.stdout, problemLine('root.squashfs', `${dir(older)}/root.squashfs`, older));
	t.true(result.stdout.includes(`is ${size - 4096} bytes, the item says ${size}`), result.stdout);
	t.regex(result.stdout, /item root\.20240101_0000\.vcdiff, file .*delta-20240101_0000\.vcdiff: xdelta3 cannot apply it/, 'the delta from it no longer applies');
});

test('a missing file is caught for every item that names it', async t => {
	const root = await copy(t);
	await rm(path.join(root, dir(newer), 'incus.tar.xz'));
	const result = await verify(root);
	t.is(result.exitCode, 1);
	for (const item of ['incus.tar.xz', 'lxd.tar.xz']) {
		t.regex(result.stdout, problemLine(item, `${dir(newer)}/incus.tar.xz`));
	}

	t.regex(result.stdout, /is missing: every download of it fails/);
});

test('a wrong combined fingerprint is caught for the client that reads it', async t => {
	const root = await copy(t);
	await editStreams(root, products => {
		itemsOf(products, newer)['incus.tar.xz']!.combined_squashfs_sha256 = '0'.repeat(64);
	});
	const result = await verify(root);
	t.is(result.exitCode, 1);
	t.regex(result.stdout, problemLine('incus.tar.xz', `${dir(newer)}/incus.tar.xz`));
	t.regex(result.stdout, /fingerprint 0{64} of the squashfs image is not sha256\(images\/acme\/1\.0\/amd64\/default\/20240102_0000\/incus\.tar\.xz ‖ images\/acme\/1\.0\/amd64\/default\/20240102_0000\/root\.squashfs\) = [0-9a-f]{64}/);
	t.notRegex(result.stdout, /item lxd\.tar\.xz/, 'LXD reads its own item, which is right');
});

test('a gzip beside a streams file that is not of its version, not a gzip or not a file is caught; -N writes the pairs anew', async t => {
	const root = await copy(t);
	await editStreams(root, products => {
		delete products.products[product]!.versions[older];
	});
	await writeFile(path.join(root, 'streams/v1/index.json.gz'), 'not gzip');
	await rm(path.join(root, 'index.html.gz'));
	await execa('mkfifo', [path.join(root, 'index.html.gz')]);
	const result = await verify(root);
	t.is(result.exitCode, 1);
	t.regex(result.stdout, /^problem: file streams\/v1\/images\.json\.gz: is not a gzip of streams\/v1\/images\.json as it is but of another version: a server with gzip_static sends it to clients that accept gzip/m);
	t.regex(result.stdout, /^problem: file streams\/v1\/index\.json\.gz: is not a gzip of streams\/v1\/index\.json \(incorrect header check\)/m);
	t.regex(result.stdout, /^problem: file index\.html\.gz: is a FIFO, not a regular file\b.*: a server with gzip_static/m);
	t.regex(result.stderr, /^damaged index\.html\.gz \(1 problem\): remove index\.html\.gz, then simplestreams -N /m);

	await rm(path.join(root, 'index.html.gz'));
	const written = await execa(process.execPath, [cli, '-N', '--deltas', '--cache', path.join(root, '..', 'cache.json'), root], {reject: false, env: {CI: 'true'}});
	t.is(written.exitCode, 0, written.stderr);
	const again = await verify(root);
	t.is(again.exitCode, 0, again.stdout);
});

test('a duplicated fingerprint is caught for both clients', async t => {
	const root = await copy(t);
	await editStreams(root, products => {
		for (const key of ['lxd.tar.xz', 'incus.tar.xz']) {
			itemsOf(products, newer)[key]!.combined_squashfs_sha256 = itemsOf(products, older)[key]!.combined_squashfs_sha256;
		}
	});
	const result = await verify(root);
	t.is(result.exitCode, 1);
	t.regex(result.stdout, /LXD sees fingerprint [0-9a-f]{64} twice \(also acme:1\.0:amd64:default 20240102_0000 squashfs\): "More than one match" for both/);
	t.regex(result.stdout, /Incus sees fingerprint [0-9a-f]{64} twice/);
	t.regex(result.stdout, new RegExp(`^problem: product ${product}, version ${older}, item (lxd|incus)\\.tar\\.xz, file streams/v1/images\\.json: LXD sees`, 'm'));
});

test('a size written as a string is caught: the clients reject the whole file', async t => {
	const root = await copy(t);
	await editStreams(root, products => {
		const item = itemsOf(products, newer)['root.squashfs']!;
		item.size = String(item.size);
	});
	const result = await verify(root, '--json');
	t.is(result.exitCode, 1);
	const report = JSON.parse(result.stdout) as {ok: boolean; problems: Array<Record<string, string>>};
	t.false(report.ok);
	t.deepEqual(report.problems.find(p => p.message!.startsWith('size is a string')), {
		file: 'streams/v1/images.json', product, version: newer, item: 'root.squashfs',
		message: 'size is a string, not a whole number: LXD and Incus reject the whole products file',
	});
	const list = await execa(process.execPath, [cli, 'list', root], {reject: false});
	t.is(list.exitCode, 1, 'list refuses what the clients cannot decode');
	t.regex(list.stderr, /lxc and incus cannot decode streams\/v1\/images\.json: it has 1 JSON type errors, which simplestreams verify names/);
});

test('a size written as 8.7e5 is caught too: JSON.parse takes it, Go does not', async t => {
	const root = await copy(t);
	const file = path.join(root, 'streams/v1/images.json');
	const text = await readFile(file, 'utf8');
	const size = itemsOf(JSON.parse(text) as Products, newer)['root.squashfs']!.size as number;
	await writeFile(file, text.replace(`"size":${size}`, `"size":${size / 1000}e3`));
	const result = await verify(root);
	t.is(result.exitCode, 1);
	t.regex(result.stdout, /the number [\d.]+e3 is not a whole number as Go reads one/);
});

test('list shows the images, aliases and types the real clients list', async t => {
	const result = await execa(process.execPath, [cli, 'list', '--format', 'json', clean]);
	type Row = {aliases: string[]; arch: string; fingerprint: string; type: 'container' | 'virtual-machine'; version: string; clients: string[]; deltaFrom: string[]; requirements: Record<string, string>};
	const rows = JSON.parse(result.stdout) as Row[];
	// The VM version has a metadata file per client, so each client sees its own image of it.
	t.is(rows.length, 4);
	t.deepEqual(rows.filter(r => r.type === 'virtual-machine').map(r => r.clients), [['lxd'], ['incus']]);
	t.deepEqual(rows.find(r => r.version === newer)?.deltaFrom, [older]);
	t.deepEqual(rows.find(r => r.type === 'virtual-machine')?.requirements, {secureboot: 'false'});
	const server = await serve(clean);
	t.teardown(async () => server.stop());
	for (const kind of ['lxc', 'incus'] satisfies ClientKind[]) {
		const client = await remote(kind, server.url, server.caFile);
		t.teardown(async () => client.close());
		const listed = await client.list();
		const ours = rows.filter(r => r.clients.includes(kind === 'lxc' ? 'lxd' : 'incus'));
		t.deepEqual(listed.map(i => i.fingerprint).sort(), ours.map(r => r.fingerprint).sort(), kind);
		for (const image of listed) {
			const row = ours.find(r => r.fingerprint === image.fingerprint)!;
			t.is(image.type, row.type);
			// The clients display the short aliases only on images of the host's architecture.
			const shown = row.arch === ({x64: 'amd64', arm64: 'arm64'}[arch()] ?? arch()) ? row.aliases : row.aliases.filter(alias => alias.endsWith(`/${row.arch}`));
			t.deepEqual((image.aliases ?? []).map(a => a.name).sort(), [...shown].sort(), `${kind} ${row.version}`);
		}
	}

	const table = await execa(process.execPath, [cli, 'list', clean]);
	t.regex(table.stdout, /^ALIAS +FINGERPRINT +TYPE +ARCH +VERSION +SIZE +OS\/RELEASE\/VARIANT +REQUIREMENTS +DELTA FROM +CLIENTS$/m);
	t.regex(table.stdout, /^acme\/2\.0\/cloud, acme\/2\.0\/cloud\/arm64 +[0-9a-f]{12} +VM +arm64 +20240105_12:30 .* secureboot=false +- +LXD$/m);
	const csv = await execa(process.execPath, [cli, 'list', '--format', 'csv', clean]);
	t.is(csv.stdout.split('\n').length, 5);
	t.regex(csv.stdout, /^aliases,fingerprint,type,arch,version,size,os,release,variant,requirements,delta_from,clients,product$/m);
});

test('verify and list are subcommands; a web root named verify is reached as ./verify', async t => {
	const help = await execa(process.execPath, [cli, '--help']);
	t.regex(help.stdout, /\$ simplestreams verify \[--json\] \[rootdir\]/);
	t.regex(help.stdout, /--deltas/);
	t.regex(help.stdout, /reached as \.\/verify or \.\/list/);
	const scratch = await tempDir('ss-verify-named');
	t.teardown(async () => scratch.cleanup());
	await execa('cp', ['-a', clean, path.join(scratch.path, 'verify')]);
	const generated = await execa(process.execPath, [cli, './verify', '--cache', path.join(scratch.path, 'cache.json')], {cwd: scratch.path, reject: false, env: {CI: 'true'}});
	t.is(generated.exitCode, 0, generated.stderr);
	t.regex(generated.stderr, /^catalog: 2 products/m, 'the dry run of the web root, not the subcommand');
	const checked = await execa(process.execPath, [cli, 'verify', 'verify'], {cwd: scratch.path, reject: false, env: {CI: 'true'}});
	t.is(checked.exitCode, 0, checked.stdout);
	t.regex(checked.stdout, /^ok: /m);
});
