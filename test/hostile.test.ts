// What an uploader can put in the web root to stop or mislead the generator: crafted headers,
// FIFOs, devices and symbolic links out of the root. Each is skipped and named; the rest is published.
import {mkdir, open, readFile, rename, rm, symlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {distPath, metaTarball, oneVersionRoot, qcow2, squashfs, tempDir, writeFiles} from './helpers/fixtures.js';
import {importSource, snapshot} from './helpers/import.js';

const cli = distPath('cli.js');
const product = 'images/acme/1.0/amd64/default';

test('a qcow2 disk whose header claims a huge L1 table is skipped, named, and the rest published', async t => {
	const {root, run, published} = await oneVersionRoot(t);
	const version = path.join(root, product, '20240102_0000');
	await metaTarball(path.join(version, 'incus.tar.xz'), 'meta2');
	const disk = await qcow2(path.join(version, 'disk.qcow2'));
	// l1_size (u32 BE at 36) = 2^28 entries, 2 GiB of table, inside a 3 GiB sparse file.
	const handle = await open(disk, 'r+');
	try {
		const field = Buffer.alloc(4);
		field.writeUInt32BE(2 ** 28);
		await handle.write(field, 0, 4, 36);
		await handle.truncate(3 * 1024 ** 3);
	} finally {
		await handle.close();
	}

	const result = await run();
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /20240102_0000\/disk\.qcow2.*L1 table/);
	t.deepEqual(Object.keys((await published()).products['acme:1.0:amd64:default']!.versions), ['20240101_0000']);
});

test('a digest cache or its journal that is a FIFO, or larger than any cache, is named and ignored; the run goes on and writes a good one', async t => {
	const {dir, root, run, published} = await oneVersionRoot(t);
	const cache = path.join(dir, 'cache.json');
	const versions = async () => Object.keys((await published()).products['acme:1.0:amd64:default']!.versions);
	await execa('mkfifo', [cache]);
	const fifo = await run(['--cache', cache]);
	t.is(fifo.timedOut, false, 'the run ended');
	t.is(fifo.exitCode, 0, fifo.stderr);
	t.regex(fifo.stderr, new RegExp(`${cache}: digest cache ignored: it is a FIFO, not a regular file; hashing everything`));
	t.deepEqual(await versions(), ['20240101_0000']);
	t.true(JSON.parse(await readFile(cache, 'utf8')).files !== undefined, 'a cache of its own took its place');

	await execa('mkfifo', [path.join(dir, 'cache.journal')]);
	// Streams that are not as the last run left them: no receipt spares this run the cache.
	await rm(path.join(root, 'streams/v1/images.json'));
	const journal = await run(['--cache', cache]);
	t.is(journal.exitCode, 0, journal.stderr);
	t.regex(journal.stderr, new RegExp(`${path.join(dir, 'cache.journal')}: digest cache ignored: the journal is a FIFO, not a regular file`));

	// Sparse: over the bound in size, nothing of it on the disk.
	const large = await open(cache, 'w');
	await large.truncate((256 * 1024 * 1024) + 1);
	await large.close();
	const oversized = await run(['--cache', cache]);
	t.is(oversized.exitCode, 0, oversized.stderr);
	t.regex(oversized.stderr, new RegExp(`${cache}: digest cache ignored: it is 268435457 bytes, more than the 268435456 such a file may hold`));
	t.deepEqual(await versions(), ['20240101_0000']);
});

/** A second and third product beside acme, each with a version of its own. */
async function moreProducts(root: string) {
	for (const [name, tag] of [['images/beta/1.0/amd64/default', 'beta'], ['images/gamma/1.0/amd64/default', 'gamma']] as const) {
		const dir = path.join(root, name, '20240101_0000');
		await Promise.all([metaTarball(path.join(dir, 'incus.tar.xz'), `${tag}-meta`), squashfs(path.join(dir, 'root.squashfs'), tag)]);
	}
}

test('FIFOs named .aliases, .lxd_requirements and .requirements are named and skipped; the scan goes on', async t => {
	const {root, run, published} = await oneVersionRoot(t);
	await moreProducts(root);
	await execa('mkfifo', [path.join(root, product, '.aliases'), path.join(root, 'images/beta/1.0/amd64/default/.lxd_requirements'), path.join(root, 'images/gamma/.requirements')]);
	const result = await run();
	t.is(result.timedOut, false, 'the run ended');
	t.regex(result.stderr, /acme\/1\.0\/amd64\/default\/\.aliases.*FIFO/);
	t.regex(result.stderr, /beta\/1\.0\/amd64\/default\/\.lxd_requirements.*FIFO/);
	t.regex(result.stderr, /gamma\/\.requirements.*FIFO/);
	// Products whose requirements cannot be read are left out rather than published without them.
	t.deepEqual(Object.keys((await published()).products), ['acme:1.0:amd64:default']);
});

test('.aliases linked to /dev/zero or larger than an alias list is named and not read', async t => {
	const {root, run, published} = await oneVersionRoot(t);
	await moreProducts(root);
	await symlink('/dev/zero', path.join(root, product, '.aliases'));
	await writeFile(path.join(root, 'images/beta/1.0/amd64/default/.aliases'), 'beta/big\n'.repeat(200_000));
	const result = await run();
	t.is(result.timedOut, false, 'the run ended');
	t.regex(result.stderr, /acme\/1\.0\/amd64\/default\/\.aliases.*\/dev\/zero, outside the web root/);
	t.regex(result.stderr, /beta\/1\.0\/amd64\/default\/\.aliases.*bytes, more than/);
	const {products} = await published();
	t.deepEqual(Object.keys(products), ['acme:1.0:amd64:default', 'beta:1.0:amd64:default', 'gamma:1.0:amd64:default']);
	t.notRegex(products['beta:1.0:amd64:default']!.aliases, /beta\/big/);
});

test('symbolic links out of the web root: images/, .aliases and .requirements are not read, and say so', async t => {
	const {dir, root, run, published} = await oneVersionRoot(t);
	await moreProducts(root);
	const outside = path.join(dir, 'outside');
	await writeFiles(outside, {aliases: 'stolen/alias\n', requirements: '{"secret": "leaked"}\n'});
	await symlink(path.join(outside, 'aliases'), path.join(root, product, '.aliases'));
	await symlink(path.join(outside, 'requirements'), path.join(root, 'images/beta/.requirements'));
	// Links that stay inside the root are followed, as for image files.
	await writeFile(path.join(root, 'gamma-aliases'), 'gamma/inside\n');
	await symlink('../../../../../gamma-aliases', path.join(root, 'images/gamma/1.0/amd64/default/.aliases'));
	let result = await run();
	t.regex(result.stderr, /acme\/1\.0\/amd64\/default\/\.aliases.*outside the web root/);
	t.regex(result.stderr, /images\/beta\/\.requirements.*outside the web root/);
	const {products} = await published();
	t.deepEqual(Object.keys(products), ['acme:1.0:amd64:default', 'gamma:1.0:amd64:default']);
	t.notRegex(products['acme:1.0:amd64:default']!.aliases, /stolen/);
	t.regex(products['gamma:1.0:amd64:default']!.aliases, /gamma\/inside/);

	// images/ itself linked to a tree outside: that tree is not published.
	const elsewhere = path.join(dir, 'elsewhere/images');
	const outsider = path.join(elsewhere, 'outsider/1.0/amd64/default/20240101_0000');
	await Promise.all([metaTarball(path.join(outsider, 'incus.tar.xz'), 'outsider'), squashfs(path.join(outsider, 'root.squashfs'), 'outsider')]);
	await rename(path.join(root, 'images'), path.join(root, 'images.old'));
	await symlink(elsewhere, path.join(root, 'images'));
	result = await run();
	t.regex(result.stderr, /images.*symbolic link to .*elsewhere\/images, outside the web root/);
	t.false(JSON.stringify(await published()).includes('outsider'));
});

/** The CLI's import, without a terminal, with a private cache. */
async function importInto(dir: string, src: string, root: string, ...args: string[]) {
	return execa(process.execPath, [cli, '-i', src, '-N', '--yes', ...args, '--cache', path.join(dir, 'cache.json'), root], {reject: false, stdin: 'ignore', timeout: 100_000, env: {CI: 'true'}});
}

test('an import reads a metadata tarball only so far: an xz bomb is refused, naming it', async t => {
	const dir = await tempDir(t);
	const src = await importSource(path.join(dir, 'src'));
	// metadata.yaml, then templates/ holding 256 MiB of zeros: a few hundred KiB of xz.
	const bomb = path.join(dir, 'bomb');
	await mkdir(path.join(bomb, 'templates'), {recursive: true});
	await writeFile(path.join(bomb, 'metadata.yaml'), 'architecture: x86_64\ncreation_date: 1717200000\nproperties:\n  os: Acme\n  release: "3.0"\n');
	await execa('truncate', ['-s', '256M', path.join(bomb, 'templates/hostname.tpl')]);
	await rm(path.join(src, 'lxd.tar.xz'));
	await execa('sh', ['-c', `tar -C ${bomb} -cf - metadata.yaml templates | xz -0 -T1 > ${path.join(src, 'lxd.tar.xz')}`]);
	const before = await snapshot(src);
	await mkdir(path.join(dir, 'www'));
	const result = await importInto(dir, src, path.join(dir, 'www'));
	t.is(result.exitCode, 1, result.stderr);
	t.regex(result.stderr, /lxd\.tar\.xz: it unpacks to more than 64 MiB: too large to be image metadata/);
	t.deepEqual(await snapshot(src), before, 'nothing moved');
});

test('an import into a product whose .aliases is a FIFO names it and ends', async t => {
	const dir = await tempDir(t);
	const src = await importSource(path.join(dir, 'src'));
	const root = path.join(dir, 'www');
	await mkdir(path.join(root, 'images/acme/3.0/amd64/default'), {recursive: true});
	await execa('mkfifo', [path.join(root, 'images/acme/3.0/amd64/default/.aliases')]);
	const result = await importInto(dir, src, root);
	t.is(result.timedOut, false, 'the import ended');
	t.is(result.exitCode, 1, result.stderr);
	t.regex(result.stderr, /default\/\.aliases is a FIFO, not a regular file/);
});
