// --deltas end to end: real squashfs pairs from mksquashfs, real xdelta3, the streams served by the
// README's nginx block and read by the real lxc and incus clients.
import {randomBytes} from 'node:crypto';
import {readFile, rm, stat} from 'node:fs/promises';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {execa} from 'execa';
import {fingerprintOfExport, remote, sha256File, type ClientKind} from './helpers/clients.js';
import {deltaPair, imageVersion, qcow2Disk, rootfsBuild, squashfsImage, tempDir, type BuiltVersion} from './helpers/images.js';
import {serve} from './helpers/server.js';

const cli = path.resolve('dist/cli.js');
const product = 'acme:1.0:amd64:default';
const [older, newer] = ['20240101_0000', '20240102_0000'];

type Item = {ftype: string; path: string; sha256: string; size: number; delta_base?: string; [field: string]: unknown};
type Products = {products: Record<string, {versions: Record<string, {items: Record<string, Item>}>}>};

async function streams(root: string): Promise<Products> {
	return JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as Products;
}

const items = async (root: string, version: string, id = product) => (await streams(root)).products[id]!.versions[version]!.items;

/** A web root with the delta pair, and a runner of the CLI whose cache lives in the test's temp dir. */
async function fixture(t: ExecutionContext) {
	const tmp = await tempDir('ss-deltas');
	t.teardown(async () => tmp.cleanup());
	const root = path.join(tmp.path, 'webroot');
	const pair = await deltaPair(root, [older, newer]);
	const run = async (args: string[], env: Record<string, string> = {}) =>
		execa(process.execPath, [cli, ...args, '--cache', path.join(tmp.path, 'cache.json'), root], {reject: false, env: {CI: 'true', ...env}});
	return {tmp, root, pair, run};
}

const deltaFile = (pair: BuiltVersion[]) => path.join(pair[1]!.dir, `delta-${older}.vcdiff`);

test('the delta is published, xdelta3 -d on the base gives the new squashfs, and both clients still list and export both versions', async t => {
	const {tmp, root, pair, run} = await fixture(t);
	const result = await run(['--deltas', '-N']);
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /^delta images\/acme\/1\.0\/amd64\/default\/20240102_0000\/delta-20240101_0000\.vcdiff \([^)]*\d+% of the full file, made and checked/m);

	const delta = (await items(root, newer))[`root.${older}.vcdiff`]!;
	const file = deltaFile(pair);
	t.deepEqual(delta, {
		ftype: 'squashfs.vcdiff', delta_base: older, path: `images/acme/1.0/amd64/default/${newer}/delta-${older}.vcdiff`,
		size: (await stat(file)).size, sha256: await sha256File(file),
	});
	t.true(delta.size < 0.8 * (await stat(pair[1]!.files['root.squashfs']!)).size);
	t.falsy(Object.values(await items(root, older)).find(item => item.ftype.endsWith('.vcdiff')), 'the oldest version has nothing to patch');

	// Applied to the base, as a daemon does, the delta gives back exactly the new rootfs.
	const out = path.join(tmp.path, 'patched.squashfs');
	await execa('xdelta3', ['-d', '-s', pair[0]!.files['root.squashfs']!, file, out]);
	t.is(await sha256File(out), await sha256File(pair[1]!.files['root.squashfs']!));

	const server = await serve(root);
	t.teardown(async () => server.stop());
	for (const kind of ['lxc', 'incus'] satisfies ClientKind[]) {
		const client = await remote(kind, server.url, server.caFile);
		t.teardown(async () => client.close());
		const listed = await client.list();
		t.deepEqual(listed.map(i => i.properties.serial).sort(), [older, newer], kind);
		for (const image of listed) {
			const files = await client.export(image.fingerprint, path.join(tmp.path, `export-${kind}-${image.properties.serial}`));
			t.is(await fingerprintOfExport(files), image.fingerprint, `${kind} ${image.properties.serial}`);
		}

		t.is((await client.info('acme/1.0')).properties.serial, newer, `${kind}: the alias still names the newest version`);
	}
});

test('an unchanged pair is reused, not made again; a rebuilt rootfs gets a new delta', async t => {
	const {root, pair, run} = await fixture(t);
	t.is((await run(['--deltas', '-N'])).exitCode, 0);
	const before = await stat(deltaFile(pair));
	const again = await run(['--deltas', '-N']);
	t.is(again.exitCode, 0, again.stderr);
	t.notRegex(again.stderr, /^delta /m, 'nothing made');
	t.regex(again.stderr, /1 delta reused from cache/);
	t.regex(again.stderr, /^unchanged streams\/v1\/images\.json$/m);
	t.is((await stat(deltaFile(pair))).mtimeMs, before.mtimeMs);

	// Without the cache, the existing file is checked (applied to its base), not made again.
	const lost = await execa(process.execPath, [cli, '--deltas', '-N', '--cache', path.join(root, '..', 'other-cache.json'), root], {reject: false, env: {CI: 'true'}});
	t.is(lost.exitCode, 0, lost.stderr);
	t.notRegex(lost.stderr, /^delta /m);
	t.is((await stat(deltaFile(pair))).mtimeMs, before.mtimeMs);

	await squashfsImage(pair[1]!.files['root.squashfs']!, rootfsBuild(3));
	const rebuilt = await run(['--deltas', '-N']);
	t.regex(rebuilt.stderr, /^delta images\/acme\/1\.0\/amd64\/default\/20240102_0000\/delta-20240101_0000\.vcdiff .*made and checked/m, 'the pair changed: made anew');
	t.is((await items(root, newer))[`root.${older}.vcdiff`]!.sha256, await sha256File(deltaFile(pair)));
});

test('a version whose base was removed gets no delta, and the streams still verify; its old delta file is pointed out by a dry run and retired by -N', async t => {
	const {root, pair, run} = await fixture(t);
	t.is((await run(['--deltas', '-N'])).exitCode, 0);
	t.truthy((await items(root, newer))[`root.${older}.vcdiff`]);
	await rm(pair[0]!.dir, {recursive: true});
	const dry = await run(['--deltas']);
	t.is(dry.exitCode, 0, dry.stderr);
	t.regex(dry.stderr, new RegExp(`^warning images/acme/1\\.0/amd64/default/${newer}/delta-${older}\\.vcdiff: not published: ${older} is not the version before ${newer} any more; -N retires it \\([\\d.]+ KiB, deleted after the grace\\)$`, 'm'));
	const result = await run(['--deltas', '-N']);
	t.is(result.exitCode, 0, result.stderr);
	t.deepEqual(Object.keys((await streams(root)).products[product]!.versions), [newer]);
	t.deepEqual(Object.keys(await items(root, newer)).sort(), ['incus.tar.xz', 'lxd.tar.xz', 'root.squashfs']);
	const verified = await execa(process.execPath, [cli, 'verify', root], {reject: false, env: {CI: 'true'}});
	t.is(verified.exitCode, 0, verified.stdout);

	t.regex(result.stderr, new RegExp(`^retired images/acme/1\\.0/amd64/default/${newer}/delta-${older}\\.vcdiff \\([\\d.]+ KiB\\): ${older} is not the version before ${newer} any more; files deleted after `, 'm'));
	t.notRegex(result.stderr, /not published/);
	t.truthy(await stat(deltaFile(pair)), 'still there, for its grace');
	const again = await run(['--deltas', '-N']);
	t.regex(again.stderr, /^unchanged streams\/v1\/images\.json$/m);
	t.notRegex(again.stderr, /not published/, 'retired once, not said again');
});

test('a delta not worth it is left out, and so is every delta without --deltas', async t => {
	const {root, pair, run} = await fixture(t);
	// Unrelated content: the delta is about as large as the file.
	await squashfsImage(pair[1]!.files['root.squashfs']!, Object.fromEntries(Array.from({length: 50}, (_, i) => [`f${i}`, randomBytes(16_384).toString('base64')])));
	const result = await run(['--deltas', '-N']);
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /^no delta images\/acme\/1\.0\/amd64\/default\/20240102_0000\/delta-20240101_0000\.vcdiff: not worth it: \d+% of the full file \(the limit is 80%\)$/m);
	t.falsy((await items(root, newer))[`root.${older}.vcdiff`]);
	await t.throwsAsync(stat(deltaFile(pair)), {code: 'ENOENT'}, 'no file left behind');
	const cached = await run(['--deltas', '-N']);
	t.regex(cached.stderr, /^no delta .*not worth it/m, 'known from the cache: not made again');
	t.false((await run(['-N'])).stderr.includes('delta'));
});

test('without xdelta3 the streams are published without deltas, with how to install it', async t => {
	const {root, run} = await fixture(t);
	const result = await run(['--deltas', '-N'], {PATH: '/nonexistent'});
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /^warning xdelta3: xdelta3 is not installed, so the streams are published without deltas; install it \(Debian\/Ubuntu: apt-get install xdelta3/m);
	t.deepEqual(Object.keys(await items(root, newer)).sort(), ['incus.tar.xz', 'lxd.tar.xz', 'root.squashfs']);
});

test('a dry run makes no delta file; it says the delta would be made with -N', async t => {
	const {root, pair, run} = await fixture(t);
	const result = await run(['--deltas']);
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /^no delta .*delta-20240101_0000\.vcdiff: would be made with -N/m);
	await t.throwsAsync(stat(deltaFile(pair)), {code: 'ENOENT'});
	await t.throwsAsync(stat(path.join(root, 'streams')), {code: 'ENOENT'});
});

/** Two versions with a VM disk each that differ a little (and a container too, with `container`). */
async function vmPair(t: ExecutionContext, {container = false} = {}) {
	const tmp = await tempDir('ss-vm-deltas');
	t.teardown(async () => tmp.cleanup());
	const root = path.join(tmp.path, 'webroot');
	for (const [build, version] of [older, newer].entries()) {
		const built = await imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version, meta: ['incus.tar.xz'], rootfs: []});
		if (container) {
			await squashfsImage(path.join(built.dir, 'root.squashfs'), rootfsBuild(build + 1));
		}

		await qcow2Disk(path.join(built.dir, 'disk.qcow2'), {content: `${'disk '.repeat(100_000)}${build}\n`});
	}

	return {tmp, root};
}

test('VM disk deltas only with --vm-deltas, as disk.BASE.qcow2.vcdiff items', async t => {
	const {tmp, root} = await vmPair(t);

	const run = async (...args: string[]) => execa(process.execPath, [cli, ...args, '-N', '--cache', path.join(tmp.path, 'cache.json'), root], {reject: false, env: {CI: 'true'}});
	t.is((await run('--deltas')).exitCode, 0);
	t.falsy(Object.values(await items(root, newer)).find(item => item.ftype.endsWith('.vcdiff')));
	const result = await run('--vm-deltas');
	t.is(result.exitCode, 0, result.stderr);
	const delta = (await items(root, newer))[`disk.${older}.qcow2.vcdiff`]!;
	t.like(delta, {ftype: 'disk-kvm.img.vcdiff', delta_base: older, path: `images/acme/1.0/amd64/default/${newer}/delta-${older}.qcow2.vcdiff`});
	const out = path.join(tmp.path, 'patched.qcow2');
	await execa('xdelta3', ['-d', '-s', path.join(root, 'images/acme/1.0/amd64/default', older, 'disk.qcow2'), path.join(root, delta.path), out]);
	t.is(await sha256File(out), await sha256File(path.join(root, 'images/acme/1.0/amd64/default', newer, 'disk.qcow2')));

	// Incus looks a VM delta's base up by the squashfs fingerprint, which a VM-only base has none
	// of: it downloads the whole disk. Worth saying, not a fault of the tree.
	const verified = await execa(process.execPath, [cli, 'verify', root], {reject: false, env: {CI: 'true'}});
	t.is(verified.exitCode, 0, verified.stdout);
	t.regex(verified.stdout, new RegExp(`^warning: product ${product}, version ${newer}, item disk\\.${older}\\.qcow2\\.vcdiff, file [^:]+: Incus ignores this VM delta`, 'm'));
	t.regex(verified.stdout, /^ok, 1 warning: 1 products, 2 versions, 2 images for LXD, 2 for Incus, .*, 1 delta applied$/m);
	t.notRegex(verified.stdout, /^problem:/m);
});

test('--vm-deltas where the base also has a container: verify warns that Incus would patch the container with the VM delta', async t => {
	const {tmp, root} = await vmPair(t, {container: true});

	const published = await execa(process.execPath, [cli, '--vm-deltas', '-N', '--cache', path.join(tmp.path, 'cache.json'), root], {reject: false, env: {CI: 'true'}});
	t.is(published.exitCode, 0, published.stderr);
	const newest = await items(root, newer);
	t.truthy(newest[`disk.${older}.qcow2.vcdiff`]);
	t.truthy(newest[`root.${older}.vcdiff`]);
	const container = (await items(root, older))['incus.tar.xz']!['combined_squashfs_sha256'] as string;
	const verified = await execa(process.execPath, [cli, 'verify', '--json', root], {reject: false, env: {CI: 'true'}});
	t.is(verified.exitCode, 0, verified.stdout);
	const report = JSON.parse(verified.stdout) as {ok: boolean; problems: unknown[]; warnings: Array<{item?: string; message: string}>};
	t.true(report.ok);
	t.deepEqual(report.problems, []);
	t.is(report.warnings.length, 1, JSON.stringify(report.warnings));
	t.is(report.warnings[0]!.item, `disk.${older}.qcow2.vcdiff`);
	t.regex(report.warnings[0]!.message, new RegExp(`^Incus applies this VM delta to the container image ${container.slice(0, 12)}`));
});

test('--watch --deltas gives a new version its delta from the one before', async t => {
	const {tmp, root} = await fixture(t);
	const watcher = execa(process.execPath, [cli, '--watch', '--deltas', '--settle', '0.4', '--cache', path.join(tmp.path, 'cache.json'), root], {reject: false, env: {CI: 'true'}, all: true});
	let log = '';
	watcher.all?.on('data', (chunk: Buffer) => {
		log += chunk.toString();
	});
	t.teardown(() => {
		watcher.kill('SIGKILL');
	});
	const until = async (what: string, probe: () => Promise<unknown>) => {
		for (const deadline = Date.now() + 180_000; !(await probe().catch(() => undefined));) {
			if (Date.now() > deadline) {
				throw new Error(`timed out waiting for ${what}:\n${log}`);
			}

			await new Promise(resolve => setTimeout(resolve, 100));
		}
	};

	await until('the first delta', async () => (await items(root, newer))[`root.${older}.vcdiff`]);
	const upload = await imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: '.20240103_0000', meta: ['incus.tar.xz'], rootfs: []});
	await squashfsImage(path.join(upload.dir, 'root.squashfs'), rootfsBuild(3));
	await execa('mv', [upload.dir, path.join(root, 'images/acme/1.0/amd64/default/20240103_0000')]);
	await until('the new version\'s delta', async () => (await items(root, '20240103_0000'))[`root.${newer}.vcdiff`]);
	t.regex(log, /delta images\/acme\/1\.0\/amd64\/default\/20240103_0000\/delta-20240102_0000\.vcdiff: [\d.]+ KiB, \d+% of the full file/);
	watcher.kill('SIGTERM');
	t.is((await watcher).exitCode, 0);
});
