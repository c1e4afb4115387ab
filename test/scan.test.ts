import {chmod, lstat, mkdir, rm, stat, symlink, utimes} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import type {PipelineEvent} from '../source/pipeline/events.js';
import type {Tree} from '../source/domain/tree.js';
import {Listings} from '../source/pipeline/listings.js';
import {scan, scannedTotals} from '../source/pipeline/scan.js';
import {treeKey} from '../source/pipeline/receipt.js';
import {identityOf} from '../source/domain/file.js';
import {asNobody, collector, distModule, permissionsIgnored, sleep, tempDir, writeFiles} from './helpers/fixtures.js';

const v = 'images/debian/12/amd64/default';

/** A version directory with the given file names (scan never opens image files: any bytes do). */
const version = (dir: string, names: string[]) => Object.fromEntries(names.map(name => [`${dir}/${name}`, `${name}\n`]));

async function scanned(root: string) {
	const c = collector();
	const tree = await scan(root, c.emit);
	const skipped = (p: string) => c.of('skipped').find(e => e.path === p);
	return {...c, tree, skipped};
}

test('a plain tree: products, versions, files, and the events that say so', async t => {
	const root = await tempDir(t);
	await writeFiles(root, {
		...version(`${v}/20240101_0000`, ['incus.tar.xz', 'root.squashfs', 'root.tar.xz', 'disk.qcow2', 'manifest.txt', 'SHA256SUMS']),
		...version(`${v}/20240102_0000`, ['lxd.tar.xz', 'incus.tar.xz', 'rootfs.squashfs']),
		'images/README': 'stray file\n',
		[`${v}/notes.txt`]: 'stray file\n',
	});
	const {tree, events, of} = await scanned(root);
	t.is(tree.products.length, 1);
	const [product] = tree.products;
	t.deepEqual(product!.ref, {id: 'debian:12:amd64:default', os: 'debian', release: '12', arch: 'amd64', variant: 'default', path: v});
	t.deepEqual(product!.requirements, {});
	t.deepEqual(product!.versions.map(x => [x.name, x.path]), [['20240101_0000', `${v}/20240101_0000`], ['20240102_0000', `${v}/20240102_0000`]]);
	const [first, second] = product!.versions;
	t.deepEqual(first!.files.map(f => [f.path, f.role.kind, f.role.ftype]), [
		[`${v}/20240101_0000/disk.qcow2`, 'root', 'disk-kvm.img'],
		[`${v}/20240101_0000/incus.tar.xz`, 'meta', 'incus.tar.xz'],
		[`${v}/20240101_0000/root.squashfs`, 'root', 'squashfs'],
		[`${v}/20240101_0000/root.tar.xz`, 'root', 'root.tar.xz'],
	]);
	t.deepEqual(second!.files.map(f => f.role.ftype), ['incus.tar.xz', 'lxd.tar.xz', 'squashfs']);
	const file = first!.files[0]!;
	t.is(file.absolute, path.join(tree.root, file.path));
	t.is(file.identity.size, 'disk.qcow2\n'.length);
	t.true(Number.isInteger(file.identity.size));
	t.is(file.identity.mtimeMs, (await stat(path.join(tree.root, file.path))).mtimeMs);
	t.is(first!.product, product!.ref);

	t.deepEqual(events[0], {type: 'scan-started', root});
	t.deepEqual(of('found').map(e => [e.version, e.files.length]).sort(), [['20240101_0000', 4], ['20240102_0000', 3]]);
	t.deepEqual(of('scanned'), [{type: 'scanned', products: 1, versions: 2, files: 7, bytes: [...first!.files, ...second!.files].reduce((s, f) => s + f.identity.size, 0)}]);
	t.deepEqual(of('skipped'), [], 'stray files are ignored silently');
	t.deepEqual(of('warning'), []);
});

test('no images/ directory: a warning and nothing to publish', async t => {
	const root = await tempDir(t);
	const {tree, of} = await scanned(root);
	t.deepEqual(tree.products, []);
	t.is(of('warning')[0]?.path, 'images');
});

test('dot directories at every level are uploads in progress', async t => {
	const root = await tempDir(t);
	await writeFiles(root, {
		...version(`${v}/20240101_0000`, ['incus.tar.xz', 'root.squashfs']),
		...version(`${v}/.20240102_0000`, ['incus.tar.xz', 'root.squashfs']),
		...version('images/.upload/12/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version('images/debian/.13/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version('images/debian/12/.arm64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version('images/debian/12/amd64/.cloud/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
	});
	const {tree, skipped} = await scanned(root);
	t.deepEqual(tree.products.map(p => p.ref.id), ['debian:12:amd64:default']);
	t.deepEqual(tree.products[0]!.versions.map(x => x.name), ['20240101_0000']);
	for (const p of [`${v}/.20240102_0000`, 'images/.upload', 'images/debian/.13', 'images/debian/12/.arm64', 'images/debian/12/amd64/.cloud']) {
		t.regex(skipped(p)?.reason ?? '', /upload in progress/, p);
	}
});

test('bad version names are skipped with the reason', async t => {
	const root = await tempDir(t);
	const names = ['latest', '2024-01-01', 'v20240101', '20240230', '20240101_2400', '1234567'];
	await writeFiles(root, Object.assign({}, ...['20240101_0000', ...names].map(n => version(`${v}/${n}`, ['incus.tar.xz', 'root.squashfs']))));
	const {tree, skipped} = await scanned(root);
	t.deepEqual(tree.products[0]!.versions.map(x => x.name), ['20240101_0000']);
	for (const name of names) {
		const event = skipped(`${v}/${name}`);
		t.is(event?.scope, 'version', name);
		t.regex(event?.reason ?? '', /version/, name);
	}
});

test('unknown, one-client-only and wrong-case architectures are skipped with the reason', async t => {
	const root = await tempDir(t);
	await writeFiles(root, Object.assign({}, ...['amd64', 'x64', 'AMD64', 'amd64v3', 'x86_64_v2'].map(a => version(`images/debian/12/${a}/default/20240101_0000`, ['incus.tar.xz', 'root.squashfs']))));
	const {tree, skipped} = await scanned(root);
	t.deepEqual(tree.products.map(p => p.ref.id), ['debian:12:amd64:default']);
	t.regex(skipped('images/debian/12/x64')?.reason ?? '', /unknown architecture "x64"/);
	t.regex(skipped('images/debian/12/AMD64')?.reason ?? '', /use "amd64"/);
	t.regex(skipped('images/debian/12/amd64v3')?.reason ?? '', /LXD only/);
	t.regex(skipped('images/debian/12/x86_64_v2')?.reason ?? '', /Incus only/);
});

test('names the clients would escape differently are skipped at every level', async t => {
	const root = await tempDir(t);
	await writeFiles(root, {
		...version('images/my os/12/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version('images/debian/12%/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version('images/debian/12/amd64/a,b/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version('images/débian/12/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
	});
	const {tree, skipped} = await scanned(root);
	t.deepEqual(tree.products, []);
	for (const p of ['images/my os', 'images/debian/12%', 'images/debian/12/amd64/a,b', 'images/débian']) {
		t.regex(skipped(p)?.reason ?? '', /escape differently/, p);
	}
});

test('a skip is reported with the scope of the level it leaves out', async t => {
	// os, release and arch directories hold many products ("tree"); a variant directory is one product.
	const root = await tempDir(t);
	await writeFiles(root, {
		...version('images/debian/12/x64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version('images/debian/12/amd64/a,b/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version(`${v}/latest`, ['incus.tar.xz', 'root.squashfs']),
	});
	const {skipped} = await scanned(root);
	t.is(skipped('images/debian/12/amd64/a,b')?.scope, 'product', 'variant directory');
	t.is(skipped('images/debian/12/x64')?.scope, 'tree', 'arch directory');
	t.is(skipped(`${v}/latest`)?.scope, 'version', 'version directory');
});

test('root.squashfs and rootfs.squashfs: the second is skipped as a twin', async t => {
	const root = await tempDir(t);
	await writeFiles(root, version(`${v}/20240101_0000`, ['incus.tar.xz', 'root.squashfs', 'rootfs.squashfs', 'root.tar.xz', 'rootfs.tar.xz']));
	const {tree, skipped} = await scanned(root);
	const dir = `${v}/20240101_0000`;
	t.deepEqual(tree.products[0]!.versions[0]!.files.map(f => f.path), [`${dir}/incus.tar.xz`, `${dir}/root.squashfs`, `${dir}/root.tar.xz`]);
	t.is(skipped(`${dir}/rootfs.squashfs`)?.scope, 'file');
	t.regex(skipped(`${dir}/rootfs.squashfs`)?.reason ?? '', /root\.squashfs already serves as squashfs/);
	t.regex(skipped(`${dir}/rootfs.tar.xz`)?.reason ?? '', /root\.tar\.xz already serves as root\.tar\.xz/);
});

test('a twin whose preferred name is not a regular file leaves the other name in use', async t => {
	const root = await tempDir(t);
	const dir = `${v}/20240101_0000`;
	await writeFiles(root, version(dir, ['incus.tar.xz', 'rootfs.squashfs']));
	await mkdir(path.join(root, dir, 'root.squashfs'));
	const {tree, skipped} = await scanned(root);
	t.deepEqual(tree.products[0]!.versions[0]!.files.map(f => f.path), [`${dir}/incus.tar.xz`, `${dir}/rootfs.squashfs`]);
	t.regex(skipped(`${dir}/root.squashfs`)?.reason ?? '', /not a regular file/);
});

test('disk.qcow2 and disk-kvm.img: the preferred name (fileRoles order) wins', async t => {
	const root = await tempDir(t);
	const dir = `${v}/20240101_0000`;
	await writeFiles(root, version(dir, ['incus.tar.xz', 'disk.qcow2', 'disk-kvm.img']));
	const {tree, skipped} = await scanned(root);
	t.deepEqual(tree.products[0]!.versions[0]!.files.map(f => f.path).sort(), [`${dir}/disk.qcow2`, `${dir}/incus.tar.xz`]);
	t.regex(skipped(`${dir}/disk-kvm.img`)?.reason ?? '', /disk\.qcow2 already serves/);
});

test('symbolic links inside the web root are followed; the item path is the link', async t => {
	const root = await tempDir(t);
	await writeFiles(root, {
		'pool/shared.squashfs': 'squashfs bytes\n',
		...version('pool/version', ['incus.tar.xz', 'root.squashfs']),
		...version(`${v}/20240101_0000`, ['incus.tar.xz']),
	});
	await symlink('../../../../../../pool/shared.squashfs', path.join(root, v, '20240101_0000/root.squashfs'));
	await symlink(path.join(root, 'pool/version'), path.join(root, v, '20240102_0000'));
	await mkdir(path.join(root, 'images/debian/12/amd64'), {recursive: true});
	await symlink('default', path.join(root, 'images/debian/12/amd64/cloud'));
	const {tree, of} = await scanned(root);
	t.deepEqual(of('skipped'), []);
	t.deepEqual(tree.products.map(p => p.ref.id), ['debian:12:amd64:cloud', 'debian:12:amd64:default']);
	const [cloud, main] = tree.products;
	const link = main!.versions[0]!.files.find(f => f.role.ftype === 'squashfs')!;
	t.is(link.path, `${v}/20240101_0000/root.squashfs`);
	t.is(link.absolute, path.join(tree.root, 'pool/shared.squashfs'));
	t.is(link.identity.size, 'squashfs bytes\n'.length, 'the identity is the target\'s');
	t.deepEqual(main!.versions[1]!.files.map(f => f.path), [`${v}/20240102_0000/incus.tar.xz`, `${v}/20240102_0000/root.squashfs`]);
	t.is(main!.versions[1]!.files[0]!.absolute, path.join(tree.root, 'pool/version/incus.tar.xz'));
	t.deepEqual(cloud!.versions.map(x => x.path), ['images/debian/12/amd64/cloud/20240101_0000', 'images/debian/12/amd64/cloud/20240102_0000']);
});

test('a version\'s files are made once, when first asked for: the key and the totals read the same before and after', async t => {
	const root = await tempDir(t);
	await writeFiles(root, {
		'pool/shared.squashfs': 'squashfs bytes\n',
		...version(`${v}/20240101_0000`, ['incus.tar.xz', 'root.squashfs', 'notes.txt']),
		...version(`${v}/20240102_0000`, ['lxd.tar.xz']),
		...version(`${v}/20240103_0000`, ['incus.tar.xz', 'root.squashfs']),
		// Names as long as the version before's, other names.
		...version(`${v}/20240104_0000`, ['disk-kvm.img', 'root.squashfs']),
	});
	// One version holds a link, and keeps its files as objects from the start.
	await symlink('../../../../../../pool/shared.squashfs', path.join(root, v, '20240102_0000/root.squashfs'));
	// Every number of an identity apart from the others.
	await utimes(path.join(root, v, '20240103_0000/root.squashfs'), new Date(), new Date(Date.now() - 86_400_000));
	const {tree, of} = await scanned(root);
	const before = treeKey(tree);
	const totals = scannedTotals(tree.products);
	t.deepEqual(of('scanned'), [totals]);
	const versions = tree.products[0]!.versions;
	const files = versions.map(x => x.files);
	t.deepEqual(files.map(f => f.map(x => x.path.slice(v.length + 1))), [
		['20240101_0000/incus.tar.xz', '20240101_0000/root.squashfs'],
		['20240102_0000/lxd.tar.xz', '20240102_0000/root.squashfs'],
		['20240103_0000/incus.tar.xz', '20240103_0000/root.squashfs'],
		['20240104_0000/disk-kvm.img', '20240104_0000/root.squashfs'],
	]);
	for (const file of files.flat()) {
		t.deepEqual({...file.identity}, identityOf(await stat(file.absolute)), file.path);
		t.is(file.absolute === path.join(tree.root, file.path), !(await lstat(path.join(tree.root, file.path))).isSymbolicLink(), file.path);
	}

	// The same objects at every ask: the digest cache shares the identities.
	t.true(versions.every((x, index) => x.files === files[index] && x.files.every((f, at) => f.identity === files[index]![at]!.identity)));
	t.is(treeKey(tree), before);
	t.deepEqual(scannedTotals(tree.products), totals);
	t.deepEqual(of('found').map(e => e.files), files.map(f => f.map(x => ({path: x.path, size: x.identity.size}))));
});

test('symbolic links out of the web root, and broken ones, are skipped with the reason', async t => {
	const root = await tempDir(t);
	const outside = await tempDir(t, 'ss-outside');
	await writeFiles(outside, {'x.squashfs': 'x\n', ...version('debian/12/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs'])});
	const dir = `${v}/20240101_0000`;
	await writeFiles(root, version(dir, ['incus.tar.xz']));
	await symlink(path.join(outside, 'x.squashfs'), path.join(root, dir, 'root.squashfs'));
	await symlink('missing.tar.xz', path.join(root, dir, 'root.tar.xz'));
	await symlink(path.join(outside, 'debian'), path.join(root, 'images/ubuntu'));
	await symlink('loop', path.join(root, dir, 'disk.qcow2'));
	await symlink('disk.qcow2', path.join(root, dir, 'loop'));
	const {tree, skipped} = await scanned(root);
	t.deepEqual(tree.products.map(p => p.ref.id), ['debian:12:amd64:default']);
	t.deepEqual(tree.products[0]!.versions[0]!.files.map(f => f.path), [`${dir}/incus.tar.xz`]);
	t.regex(skipped(`${dir}/root.squashfs`)?.reason ?? '', /outside the web root/);
	t.true(skipped(`${dir}/root.squashfs`)?.reason.includes(path.join(outside, 'x.squashfs')));
	t.regex(skipped('images/ubuntu')?.reason ?? '', /outside the web root/);
	t.regex(skipped(`${dir}/root.tar.xz`)?.reason ?? '', /broken symbolic link \(ENOENT\)/);
	t.regex(skipped(`${dir}/disk.qcow2`)?.reason ?? '', /broken symbolic link \(ELOOP\)/);
});

test('requirements at images/, os/ and variant/ levels merge, the nearest winning per key', async t => {
	const root = await tempDir(t);
	await writeFiles(root, {
		'images/.requirements': '{"a": "images", "b": "images", "c": "images"}',
		'images/debian/.requirements': '{"b": "os", "c": "os"}',
		[`${v}/.requirements`]: '{"c": "variant"}',
		...version(`${v}/20240101_0000`, ['incus.tar.xz', 'root.squashfs']),
		...version('images/debian/12/amd64/cloud/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version('images/ubuntu/24.04/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		'images/ubuntu/24.04/amd64/.lxd_requirements': '{"secureboot": "false"}',
	});
	const {tree, of} = await scanned(root);
	t.deepEqual(of('warning'), []);
	t.deepEqual(Object.fromEntries(tree.products.map(p => [p.ref.id, p.requirements])), {
		'debian:12:amd64:cloud': {a: 'images', b: 'os', c: 'os'},
		'debian:12:amd64:default': {a: 'images', b: 'os', c: 'variant'},
		'ubuntu:24.04:amd64:default': {a: 'images', b: 'images', c: 'images', secureboot: 'false'},
	});
});

test('a requirements file with a non-string value skips the products below it, naming the file', async t => {
	const root = await tempDir(t);
	await writeFiles(root, {
		'images/debian/.requirements': '{"secureboot": false}',
		...version(`${v}/20240101_0000`, ['incus.tar.xz', 'root.squashfs']),
		...version('images/debian/11/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version('images/ubuntu/24.04/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		'images/ubuntu/24.04/amd64/default/.requirements': '[1',
	});
	const {tree, of, skipped} = await scanned(root);
	t.deepEqual(tree.products.map(p => p.ref.id), []);
	for (const p of [v, 'images/debian/11/amd64/default']) {
		const event = skipped(p);
		t.is(event?.scope, 'product', p);
		t.true(event?.reason.includes('images/debian/.requirements'), p);
		t.regex(event?.reason ?? '', /values must be strings/, p);
	}

	t.regex(skipped('images/ubuntu/24.04/amd64/default')?.reason ?? '', /images\/ubuntu\/24\.04\/amd64\/default\/\.requirements is not valid JSON/);
	t.deepEqual(of('warning').map(w => w.path).sort(), ['images/debian/.requirements', 'images/ubuntu/24.04/amd64/default/.requirements']);
});

test('a requirements file inside a version directory is a warning and is not applied', async t => {
	const root = await tempDir(t);
	const dir = `${v}/20240101_0000`;
	await writeFiles(root, {...version(dir, ['incus.tar.xz', 'root.squashfs']), [`${dir}/.requirements`]: '{"secureboot": "false"}'});
	const {tree, of} = await scanned(root);
	t.deepEqual(of('warning').map(w => w.path), [`${dir}/.requirements`]);
	t.regex(of('warning')[0]!.message, /variant directory/);
	t.deepEqual(tree.products[0]!.requirements, {});
	t.is(tree.products[0]!.versions[0]!.files.length, 2, 'the version is still scanned');
});

test('a FIFO or a directory where an image file should be is skipped, not opened', async t => {
	const root = await tempDir(t);
	const dir = `${v}/20240101_0000`;
	await writeFiles(root, version(dir, ['root.tar.xz']));
	await execa('mkfifo', [path.join(root, dir, 'root.squashfs')]);
	await mkdir(path.join(root, dir, 'incus.tar.xz'));
	const {tree, skipped} = await scanned(root);
	t.deepEqual(tree.products[0]!.versions[0]!.files.map(f => f.path), [`${dir}/root.tar.xz`]);
	t.regex(skipped(`${dir}/root.squashfs`)?.reason ?? '', /not a regular file/);
	t.regex(skipped(`${dir}/incus.tar.xz`)?.reason ?? '', /not a regular file/);
});

test('an unreadable directory is skipped with the reason, the rest is scanned', async t => {
	const root = await tempDir(t);
	await writeFiles(root, {
		...version(`${v}/20240101_0000`, ['incus.tar.xz', 'root.squashfs']),
		...version(`${v}/20240102_0000`, ['incus.tar.xz', 'root.squashfs']),
		...version('images/ubuntu/24.04/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
	});
	await chmod(path.join(root, v, '20240102_0000'), 0o000);
	await chmod(path.join(root, 'images/ubuntu/24.04'), 0o000);
	// Root ignores permissions: run the scan as nobody in a child process so chmod 000 is enforced.
	if (permissionsIgnored()) {
		t.log('running as root: scanning as user nobody in a child process');
	}

	const {tree, events} = await asNobody<{tree: Tree; events: PipelineEvent[]}>(root, `
		import {scan} from ${JSON.stringify(distModule('source/pipeline/scan.js'))};
		const events = [];
		const tree = await scan(${JSON.stringify(root)}, event => events.push(event));
		console.log(JSON.stringify({tree, events}));
	`);
	const skipped = events.filter(e => e.type === 'skipped');
	t.deepEqual(tree.products.map(p => [p.ref.id, p.versions.map(x => x.name)]), [['debian:12:amd64:default', ['20240101_0000']]]);
	t.true(skipped.some(e => e.path === `${v}/20240102_0000` && /cannot read directory \(EACCES\)/.test(e.reason)), JSON.stringify(skipped));
	t.true(skipped.some(e => e.path === 'images/ubuntu/24.04' && /cannot read directory \(EACCES\)/.test(e.reason)), JSON.stringify(skipped));
});

test('an images/ directory that exists but cannot be reached is reported as such, not as missing', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await writeFiles(root, version(`${v}/20240101_0000`, ['incus.tar.xz', 'root.squashfs']));
	await chmod(root, 0o700); // Nobody may not search it: stat(www/images) fails with EACCES.
	const {events} = await asNobody<{events: PipelineEvent[]}>(dir, `
		import {scan} from ${JSON.stringify(distModule('source/pipeline/scan.js'))};
		const events = [];
		await scan(${JSON.stringify(root)}, event => events.push(event));
		console.log(JSON.stringify({events}));
	`);
	const problems = events.filter(e => e.type === 'warning' || e.type === 'skipped');
	t.is(problems.length, 1, JSON.stringify(problems));
	const text = JSON.stringify(problems[0]);
	t.true(text.includes('EACCES'), text);
	t.false(text.includes('there is no images/ directory'), text);
});

test('two directories never make the same product id', async t => {
	// `:` is allowed in names and also joins the id: a:b/c and a/b:c would both be a:b:c:amd64:default.
	const root = await tempDir(t);
	await writeFiles(root, {
		...version('images/a:b/c/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
		...version('images/a/b:c/amd64/default/20240101_0000', ['incus.tar.xz', 'root.squashfs']),
	});
	const {tree, of} = await scanned(root);
	const ids = tree.products.map(p => p.ref.id);
	t.is(new Set(ids).size, ids.length, `duplicate product ids: ${ids.join(', ')}`);
	t.is(ids.length + of('skipped').filter(e => e.scope === 'product' || e.scope === 'tree').length, 2, 'a product left out says so');
});

test('versions of one product whose string order is not their time order are pointed out', async t => {
	// Clients take the newest version by plain string comparison (format notes §5, §18.11):
	// "20240101_12:30" sorts after "20240101_1245" (':' > '4'), so the older build would own the aliases.
	const root = await tempDir(t);
	await writeFiles(root, {
		...version(`${v}/20240101_12:30`, ['incus.tar.xz', 'root.squashfs']),
		...version(`${v}/20240101_1245`, ['incus.tar.xz', 'root.squashfs']),
	});
	const {of} = await scanned(root);
	t.true([...of('warning'), ...of('skipped')].some(e => e.path.startsWith(v)), 'a warning or a skip about the mixed version forms');
});

test('results are deterministic and sorted whatever the creation order', async t => {
	const root = await tempDir(t);
	const ids = ['ubuntu/24.04/arm64/default', 'alpine/3.20/amd64/cloud', 'debian/12/amd64/default', 'alpine/3.20/amd64/default', 'debian/12/arm64/default'];
	for (const id of ids) {
		for (const name of ['20240301', '20240101_0000', '20240201_12:00']) {
			await writeFiles(root, version(`images/${id}/${name}`, ['root.squashfs', 'lxd.tar.xz', 'incus.tar.xz', 'root.tar.xz']));
		}
	}

	const a = await scanned(root);
	await rm(path.join(root, 'images/debian/12/amd64/default/20240301/root.tar.xz'));
	await writeFiles(root, version('images/debian/12/amd64/default/20240301', ['root.tar.xz']));
	const b = await scanned(root);
	const shape = (tree: Tree) => tree.products.map(p => ({id: p.ref.id, versions: p.versions.map(x => ({name: x.name, files: x.files.map(f => f.path)}))}));
	t.deepEqual(shape(a.tree), shape(b.tree));
	const productIds = a.tree.products.map(p => p.ref.id);
	t.deepEqual(productIds, [...productIds].sort());
	t.deepEqual(productIds, ['alpine:3.20:amd64:cloud', 'alpine:3.20:amd64:default', 'debian:12:amd64:default', 'debian:12:arm64:default', 'ubuntu:24.04:arm64:default']);
	for (const product of a.tree.products) {
		t.deepEqual(product.versions.map(x => x.name), ['20240101_0000', '20240201_12:00', '20240301']);
		for (const x of product.versions) {
			const paths = x.files.map(f => f.path);
			t.deepEqual(paths, [...paths].sort());
		}
	}
});

// The race a kept listing guards against needs a filesystem whose stamps are coarser than two
// changes: ext2 with 128-byte inodes stamps whole seconds (ext4, xfs and tmpfs on Linux 6.13 and
// later stamp a change finely once a stat has seen the last stamp, so there the stamps move anyway).
// Only root mounts one: for anyone else the test is registered as skipped, never passed unchecked.
const secondsMountable = process.getuid?.() === 0;
(secondsMountable ? test.serial : test.serial.skip)(`a version directory changed again within its timestamp tick after it was listed is listed again${secondsMountable ? '' : ' (skipped, not root: no filesystem with one-second stamps can be mounted)'}`, async t => {
	const dir = await tempDir(t);
	const image = path.join(dir, 'seconds.img');
	const root = path.join(dir, 'mnt');
	await execa('truncate', ['-s', '8M', image]);
	await execa('mkfs.ext2', ['-q', '-I', '128', image]);
	await mkdir(root);
	await execa('mount', ['-o', 'loop', image, root]);
	try {
		for (let attempt = 0; attempt < 5; attempt++) {
			// At the start of a second, so that all of what follows falls within it.
			await sleep(1000 - (Date.now() % 1000) + 20);
			const at = `${v}/2024010${attempt + 1}_0000`;
			await writeFiles(root, version(at, ['lxd.tar.xz', 'root.squashfs']));
			const listed = new Listings();
			await scan(root, collector().emit, undefined, listed);
			const before = await stat(path.join(root, at));
			await writeFiles(root, version(at, ['disk.qcow2']));
			const after = await stat(path.join(root, at));
			if (after.mtimeMs !== before.mtimeMs || after.ctimeMs !== before.ctimeMs) {
				t.log(`attempt ${attempt + 1}: the second ended between the two changes`);
				continue;
			}

			// The directory's stat is as it was when it was listed: only the guard tells the listing is stale.
			const kept = listed.stored();
			t.false(kept.products.some(([product, names]) => names.split('/').some(name => `${product}/${name}` === at)));
			const tree = await scan(root, collector().emit, undefined, new Listings(kept));
			const scanned = tree.products[0]!.versions.find(found => found.path === at)!;
			t.deepEqual(scanned.files.map(file => file.path.slice(at.length + 1)), ['disk.qcow2', 'lxd.tar.xz', 'root.squashfs']);
			return;
		}

		t.fail('no attempt made both changes within one second');
	} finally {
		await execa('umount', [root]);
	}
});
