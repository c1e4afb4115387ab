// The import core and `simplestreams -i` without a terminal: finding the image by its bytes, the
// proposed fields and their rules, moves and copies, the files the generator reads afterwards, and
// every bad input (a clear message naming the file, nothing moved, nothing lost).
import {randomBytes} from 'node:crypto';
import {mkdir, readFile, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa, execaSync} from 'execa';
import {executeImport} from '../source/import/execute.js';
import {runContext} from '../source/pipeline/context.js';
import {importImage, planImport, type ImportEvent} from '../source/index.js';
import {isReasonCode} from '../source/domain/reasons.js';
import {findImage} from '../source/import/find.js';
import {elfArchitectures} from '../source/import/rootfs-arch.js';
import {fieldProblem, propose, versionOf} from '../source/import/propose.js';
import {scan} from '../source/pipeline/scan.js';
import {preparePlan} from '../source/import/prepare.js';
import {sha256Files} from './helpers/clients.js';
import {customTarball, elfHeader, importSource, listTree, machines, rootTree, scratch, snapshot} from './helpers/import.js';
import {imageVersion, metadataTarball, qcow2Disk, rootTarXz, squashfsImage, type Compression} from './helpers/images.js';

const cli = path.resolve('dist/cli.js');
const product = 'images/acme/3.0/amd64/default';
const version = '20240601_00:00';

type Run = {exitCode: number; stdout: string; stderr: string};

/** The CLI with no terminal anywhere (stdin ignored, output piped), and a private digest cache. */
async function run(dir: string, ...args: string[]): Promise<Run> {
	const result = await execa('node', [cli, ...args, '--cache', path.join(dir, 'cache.json')], {reject: false, stdin: 'ignore', env: {CI: 'true'}});
	return {exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr};
}

type Products = {products: Record<string, {aliases: string; requirements: Record<string, string>; versions: Record<string, {items: Record<string, {sha256: string; path: string; [k: string]: string | number}>}>}>};

const streams = async (root: string) => JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as Products;

test('the image is found by its bytes, whatever the files are called', async t => {
	const src = await scratch(t);
	await metadataTarball(path.join(src, 'meta.bin'), {compression: 'gzip'});
	await squashfsImage(path.join(src, 'a.img'), rootTree(machines.x86_64));
	await qcow2Disk(path.join(src, 'vm.disk'));
	await writeFile(path.join(src, 'notes.txt'), 'built by hand\n');
	const found = await findImage(src);
	t.is(found.meta.name, 'meta.bin');
	t.is(found.meta.content, 'gzip');
	t.deepEqual(found.roots.map(r => [r.name, r.ftype]), [['a.img', 'squashfs'], ['vm.disk', 'disk-kvm.img']]);
	t.deepEqual(found.roots[0]!.arch, {binary: 'usr/bin/hello', arches: ['x86_64']});
	t.deepEqual(found.ignored, [{name: 'notes.txt', reason: 'content not recognised (not a tarball, squashfs or qcow2)'}]);
});

for (const compression of ['xz', 'gzip', 'bzip2', 'zstd', 'none'] as Compression[]) {
	test(`metadata.yaml is read from a ${compression} metadata tarball`, async t => {
		const src = await importSource(await scratch(t), {metadata: {compression, release: '22.10', description: 'Acme 22.10'}});
		const {meta} = await findImage(src);
		t.is(meta.content, compression === 'none' ? 'tar' : compression);
		t.is(meta.metadata.creationDate, 1_717_200_000);
		t.is(meta.metadata.architecture, 'x86_64');
		t.is(meta.metadata.properties.release, '22.10', 'a YAML number keeps its text');
		t.is(meta.metadata.properties.description, 'Acme 22.10');
	});
}

test('./metadata.yaml counts as metadata.yaml, and a rootfs tarball is told from its entries', async t => {
	const src = await scratch(t);
	await customTarball(path.join(src, 'meta'), [['./metadata.yaml', 'architecture: armv7l\ncreation_date: 1717243260\n'], ['./templates', {dir: true}]], 'gzip');
	await rootTarXz(path.join(src, 'fs'), rootTree(machines.arm));
	const found = await findImage(src);
	t.is(found.meta.metadata.architecture, 'armv7l');
	t.is(propose(found).arch, 'armhf');
	t.deepEqual(found.roots.map(r => [r.name, r.ftype]), [['fs', 'root.tar.xz']]);
	t.deepEqual(found.roots[0]!.arch?.arches, ['armv6l', 'armv7l', 'armv8l']);
});

test('fields are proposed from metadata.yaml: the simplestreams arch, the UTC creation date', async t => {
	const found = await findImage(await importSource(await scratch(t), {metadata: {os: 'Acme', variant: 'cloud', creationDate: 1_717_243_260}, squashfs: false, qcow2: 'disk.qcow2'}));
	t.deepEqual(propose(found), {os: 'acme', release: '3.0', arch: 'amd64', variant: 'cloud', version: '20240601_12:01'});
	t.deepEqual(propose(found, {release: '3.1', arch: undefined}), {os: 'acme', release: '3.1', arch: 'amd64', variant: 'cloud', version: '20240601_12:01'}, 'flags win');
	const table: Array<[string, string]> = [
		['x86_64', 'amd64'], ['aarch64', 'arm64'], ['i686', 'i386'], ['armv7l', 'armhf'], ['armv6l', 'armel'], ['ppc64le', 'ppc64el'],
		['ppc64', 'powerpc64'], ['ppc', 'powerpc'], ['s390x', 's390x'], ['mips64', 'mips64el'], ['mips', 'mipsel'], ['riscv64', 'riscv64'],
		['loongarch64', 'loong64'], ['armv8l', 'armv8l'], ['amd64', 'amd64'], ['arm64', 'arm64'],
	];
	for (const [kernel, stream] of table) {
		const withArch = {...found, meta: {...found.meta, metadata: {...found.meta.metadata, architecture: kernel}}};
		t.is(propose(withArch).arch, stream, kernel);
	}

	t.is(versionOf(0), '19700101_00:00');
	t.is(versionOf(1_735_689_599), '20241231_23:59');
});

test('every field is checked as it would be published', async t => {
	const found = await findImage(await importSource(await scratch(t)));
	const problem = (field: Parameters<typeof fieldProblem>[0], value: string) => fieldProblem(field, value, found);
	t.is(problem('os', 'debian'), undefined);
	t.is(problem('os', ''), 'os is required');
	t.regex(problem('os', 'deb/ian')!, /^os "deb\/ian" has characters/);
	t.regex(problem('release', '3:0')!, /^release "3:0" has a ":"/);
	t.regex(problem('release', '3..0')!, /^release "3..0" has "\.\."/);
	t.regex(problem('variant', '.hidden')!, /^variant "\.hidden" starts with a dot/);
	t.is(problem('arch', 'x86_64'), undefined, 'any spelling of the same architecture');
	t.regex(problem('arch', 'x64')!, /unknown architecture "x64"/);
	t.regex(problem('arch', 'AMD64')!, /case-sensitive/);
	t.regex(problem('arch', 'arm64')!, /not the x86_64 that metadata\.yaml says/);
	t.is(problem('version', '20240601_00:00'), undefined);
	t.regex(problem('version', '2024-06-01')!, /not a version name/);
	t.regex(problem('version', '20240231_00:00')!, /real date/);
	t.regex(problem('version', '20240601_25:00')!, /impossible time/);
});

test('the arch must match the rootfs binaries when metadata.yaml has none', async t => {
	const src = await scratch(t);
	await customTarball(path.join(src, 'incus.tar.xz'), [['metadata.yaml', 'creation_date: 1717200000\nproperties:\n  os: acme\n']]);
	await squashfsImage(path.join(src, 'root.squashfs'), rootTree(machines.i386));
	const found = await findImage(src);
	t.is(propose(found).arch, undefined);
	t.regex(fieldProblem('arch', 'amd64', found)!, /does not match root\.squashfs, built for i686 \(usr\/bin\/hello\)/);
	t.is(fieldProblem('arch', 'i386', found), undefined);
});

test('ELF e_machine values map to the clients\' architectures', t => {
	const elf = (machine: number) => Buffer.from(elfHeader(machine), 'latin1');
	t.deepEqual(elfArchitectures(elf(62)), ['x86_64']);
	t.deepEqual(elfArchitectures(elf(3)), ['i686']);
	t.deepEqual(elfArchitectures(elf(40)), ['armv6l', 'armv7l', 'armv8l']);
	const aarch64 = elf(0);
	aarch64.writeUInt16LE(183, 18);
	t.deepEqual(elfArchitectures(aarch64), ['aarch64']);
	const bigEndianPpc64 = elf(0);
	bigEndianPpc64[5] = 2;
	bigEndianPpc64.writeUInt16BE(21, 18);
	t.deepEqual(elfArchitectures(bigEndianPpc64), ['ppc64']);
	t.is(elfArchitectures(Buffer.from('#!/bin/sh\necho hello world\n')), undefined);
	t.is(elfArchitectures(elf(9999)), undefined, 'an unknown machine is not checked');
});

test('a dry run prints the plan and the command that does it, and changes nothing', async t => {
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'), {qcow2: 'disk.qcow2'});
	const root = path.join(dir, 'root');
	await mkdir(root);
	const before = await snapshot(src);
	const result = await run(dir, '-i', src, root, '--alias', 'acme/lts', '--requirement', 'secureboot=false');
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stdout, new RegExp(`create ${product}/${version}/  in ${root}`));
	t.regex(result.stdout, /lxd\.tar\.xz .* move, from lxd\.tar\.xz\n/);
	t.regex(result.stdout, /root\.squashfs .* move, from rootfs\.squashfs, built for x86_64 \(usr\/bin\/hello\)/);
	t.regex(result.stdout, /disk\.qcow2 .* move, from disk\.qcow2\n/);
	t.regex(result.stdout, /product acme:3\.0:amd64:default \(new\)/);
	t.regex(result.stdout, /version 20240601_00:00: a virtual machine \(disk-kvm\.img\), a container \(squashfs\), for LXD and Incus/);
	t.regex(result.stdout, /aliases: acme\/3\.0\/default, acme\/3\.0, acme\/lts \(new, in \.aliases\)/);
	t.regex(result.stdout, /requirements: secureboot=false \(new\)/);
	t.true(result.stdout.includes(`simplestreams -i ${src} -N --os acme --release 3.0 --arch amd64 --variant default --version 20240601_00:00 --alias acme/lts --requirement secureboot=false --yes ${root}`));
	t.deepEqual(await snapshot(src), before);
	t.deepEqual(await listTree(root), []);
});

test('-N moves the files into place, keeps the product files\' old entries, and the regeneration reads nothing again', async t => {
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'), {qcow2: 'disk.qcow2'});
	await writeFile(path.join(src, 'build.log'), 'distrobuilder output\n');
	const root = path.join(dir, 'root');
	await mkdir(path.join(root, product), {recursive: true});
	await writeFile(path.join(root, product, '.lxd_requirements'), '{"cgroup": "v2"}\n');
	await writeFile(path.join(root, product, '.aliases'), '# kept\nacme/stable');
	const meta = path.join(src, 'lxd.tar.xz');
	const squashfs = path.join(src, 'rootfs.squashfs');
	const disk = path.join(src, 'disk.qcow2');
	const fingerprints = {container: await sha256Files([meta, squashfs]), vm: await sha256Files([meta, disk])};
	const result = await run(dir, '-i', src, '-N', '--yes', '--alias', 'acme/lts', '--alias', 'acme/stable', '--requirement', 'secureboot=false', root);
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /^moved lxd\.tar\.xz /m);
	t.regex(result.stderr, new RegExp(`^imported ${product}/${version}$`, 'm'));
	t.notRegex(result.stderr, /^hashed /m, 'the import\'s digests were in the cache');
	t.regex(result.stderr, /3 digests reused from cache/);
	t.deepEqual(await listTree(src), ['build.log']);
	t.deepEqual(await listTree(path.join(root, product)), ['.aliases', '.lxd_requirements', version, `${version}/disk.qcow2`, `${version}/lxd.tar.xz`, `${version}/root.squashfs`]);
	t.is(await readFile(path.join(root, product, '.aliases'), 'utf8'), '# kept\nacme/stable\nacme/lts\n');
	t.deepEqual(JSON.parse(await readFile(path.join(root, product, '.lxd_requirements'), 'utf8')), {cgroup: 'v2', secureboot: 'false'});
	const held = await run(dir, '-i', await importSource(path.join(dir, 'next'), {metadata: {creationDate: 1_717_286_400}}), '--requirement', 'secureboot=false', root);
	t.regex(held.stdout, /requirements: cgroup=v2, secureboot=false\n/, 'a requirement the file holds already is not new');
	const published = (await streams(root)).products['acme:3.0:amd64:default']!;
	t.is(published.aliases, 'acme/3.0/default,acme/3.0,acme/stable,acme/lts');
	t.deepEqual(published.requirements, {cgroup: 'v2', secureboot: 'false'});
	const items = published.versions[version]!.items;
	t.is(items['lxd.tar.xz']!.combined_squashfs_sha256, fingerprints.container);
	t.is(items['incus.tar.xz']!['combined_disk-kvm-img_sha256'], fingerprints.vm);
	t.is(items['root.squashfs']!.path, `${product}/${version}/root.squashfs`);
	const again = await run(dir, '-N', root);
	t.notRegex(again.stderr, /^hashed /m);
	t.is((await stat(path.join(root, product, version))).mode & 0o777, 0o755, 'readable by the web server');
});

test('-N is one run: the digest cache is read once and written once, however many files are imported', async t => {
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'), {qcow2: 'disk.qcow2'});
	const root = path.join(dir, 'root');
	await mkdir(root);
	const cache = path.join(dir, 'cache.json');
	await writeFile(cache, JSON.stringify({format: 'simplestreams-digests:2', root, files: {}, combined: {}}));
	// What the process does to the cache file, seen from outside it.
	const trace = path.join(dir, 'trace');
	const result = await execa('strace', ['-f', '-qq', '-e', 'trace=openat,rename,renameat,renameat2', '-o', trace, process.execPath, cli, '-i', src, '-N', '--yes', '--cache', cache, root], {reject: false, stdin: 'ignore', env: {CI: 'true'}});
	t.is(result.exitCode, 0, result.stderr);
	t.truthy((await streams(root)).products['acme:3.0:amd64:default']?.versions[version]);
	const calls = (await readFile(trace, 'utf8')).split('\n');
	// Loaded: the snapshot opened for reading. Saved: the snapshot renamed into place, or the journal beside it appended to.
	const loads = calls.filter(line => line.includes(`openat(AT_FDCWD, "${cache}", O_RDONLY`));
	const saves = calls.filter(line => line.includes(`"${cache}") = 0`) || (line.includes(`"${cache.replace(/\.json$/, '.journal')}", O_WRONLY`) && !line.includes('ENOENT')));
	t.is(loads.length, 1, loads.join('\n'));
	t.is(saves.length, 1, saves.join('\n'));
});

test('-N scans the tree once: the plan is made from it, and after the import only its product is scanned again', async t => {
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'));
	const root = path.join(dir, 'root');
	const other = await imageVersion(root, {os: 'other', release: '1', arch: 'amd64', variant: 'default', version: '20240101_0000', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
	await mkdir(path.join(root, 'images/other/1/amd64/default/bad name 2'));
	// Every directory the process lists, seen from outside it.
	const trace = path.join(dir, 'trace');
	const result = await execa('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', trace, process.execPath, cli, '-i', src, '-N', '--yes', '--cache', path.join(dir, 'cache.json'), root], {reject: false, stdin: 'ignore', env: {CI: 'true'}});
	t.is(result.exitCode, 0, result.stderr);
	const listed = (await readFile(trace, 'utf8')).split('\n').filter(line => line.includes(`"${other.dir}", `) && line.includes('O_DIRECTORY'));
	t.is(listed.length, 1, listed.join('\n'));
	// The publish tells what one scan of the tree as it is now tells, and publishes both products.
	t.regex(result.stderr, /^scanned 2 products, 2 versions, 4 files /m);
	t.is(result.stderr.match(/^skipped version images\/other\/1\/amd64\/default\/bad name 2: /gm)?.length, 1, result.stderr);
	t.deepEqual(Object.keys((await streams(root)).products).sort(), ['acme:3.0:amd64:default', 'other:1:amd64:default']);
	const again = await run(dir, '-N', root);
	t.is(again.exitCode, 0, again.stderr);
	t.regex(again.stderr, /^scanned 2 products, 2 versions, 4 files /m);
});

test('-N while a watcher runs on the root: the files go in place and the watcher publishes them', async t => {
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'));
	const root = path.join(dir, 'root');
	await mkdir(path.join(root, 'images'), {recursive: true});
	const watcher = execa('node', [cli, '--watch', root, '--settle', '0.4', '--cache', path.join(dir, 'watch-cache.json')], {reject: false, env: {CI: 'true'}, all: true});
	t.teardown(() => {
		watcher.kill('SIGKILL');
	});
	let log = '';
	watcher.all.on('data', (chunk: Buffer) => {
		log += chunk.toString();
	});
	const until = async (what: string, check: () => Promise<boolean>) => {
		for (const end = Date.now() + 120_000; !(await check());) {
			if (Date.now() > end) {
				throw new Error(`timed out waiting for ${what}; the watcher said:\n${log}`);
			}

			await new Promise(resolve => {
				setTimeout(resolve, 50);
			});
		}
	};

	// An empty images/ is nothing to publish: the watcher holds the root and waits for an image.
	await until('the watcher to find nothing to publish yet', async () => log.includes('nothing to publish'));
	const result = await run(dir, '-i', src, '-N', '--yes', root);
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, new RegExp(`${product}/${version} is imported; the watcher on .* \\(pid ${watcher.pid}\\) publishes it once it has settled`));
	await until('the watcher to publish the import', async () => Boolean(await streams(root).then(s => s.products['acme:3.0:amd64:default']?.versions[version], () => undefined)));
	watcher.kill('SIGTERM');
	t.is((await watcher).exitCode, 0);
});

test('across filesystems the files are copied, verified and removed; --copy keeps them', async t => {
	const dir = await scratch(t);
	const shm = await scratch(t, '/dev/shm');
	t.not((await stat(shm)).dev, (await stat(dir)).dev, '/dev/shm must be another filesystem for this test');
	const root = path.join(dir, 'root');
	await mkdir(root);
	const src = await importSource(path.join(shm, 'a'), {squashfs: false, rootTar: 'root.tar.xz', metadata: {compression: 'zstd'}});
	const moved = await run(dir, '-i', src, '-N', root);
	t.is(moved.exitCode, 0, moved.stderr);
	t.regex(moved.stderr, /^copied lxd\.tar\.xz \(.*\), verified$/m);
	t.regex(moved.stderr, /^copied root\.tar\.xz \(.*\), verified$/m);
	t.notRegex(moved.stderr, /^hashed /m);
	t.deepEqual(await listTree(src), []);
	t.truthy((await streams(root)).products['acme:3.0:amd64:default']!.versions[version]!.items['root.tar.xz']);

	const kept = await importSource(path.join(shm, 'b'), {metadata: {creationDate: 1_717_203_600}});
	const before = await snapshot(kept);
	const copied = await run(dir, '-i', kept, '-N', '--copy', root);
	t.is(copied.exitCode, 0, copied.stderr);
	t.deepEqual(await snapshot(kept), before);
	t.deepEqual(Object.keys((await streams(root)).products['acme:3.0:amd64:default']!.versions).sort(), ['20240601_00:00', '20240601_01:00']);
});

test('with no terminal, fields metadata.yaml lacks must come as flags: exit 2 names them', async t => {
	const dir = await scratch(t);
	const src = path.join(dir, 'src');
	await customTarball(path.join(src, 'incus.tar.xz'), [['metadata.yaml', 'architecture: x86_64\ncreation_date: 1717200000\n']]);
	await squashfsImage(path.join(src, 'root.squashfs'), rootTree(machines.x86_64));
	const root = path.join(dir, 'root');
	await mkdir(root);
	const missing = await run(dir, '-i', src, '-N', root);
	t.is(missing.exitCode, 2);
	t.is(missing.stderr, 'simplestreams: os, release cannot be told from incus.tar.xz and there is no terminal to ask: pass --os OS --release RELEASE');
	const given = await run(dir, '-i', src, '--os', 'acme', '--release', '3.0', root);
	t.is(given.exitCode, 0, given.stderr);
	t.regex(given.stdout, /create images\/acme\/3\.0\/amd64\/default\/20240601_00:00\//);
	t.deepEqual(await listTree(root), []);
});

test('flag values are checked like the wizard checks them: exit 2', async t => {
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'));
	const before = await snapshot(src);
	const cases: Array<[string[], RegExp]> = [
		[['--arch', 'arm64'], /arch "arm64" is not the x86_64 that metadata\.yaml says/],
		[['--version', '2024-06-01'], /version "2024-06-01" is not a version name/],
		[['--os', 'a:b'], /os "a:b" has a ":"/],
		[['--requirement', 'secureboot'], /requirement "secureboot" has no value/],
		[['--requirement', '=x'], /requirement "=x" must be key=value/],
		[['--requirement', 'nesting=yes'], /requirement nesting is "true" or "false" to LXD and Incus, not "yes"/],
		[['--requirement', 'cgroup=2'], /requirement cgroup is "v1" or "v2" to LXD and Incus, not "2"/],
	];
	for (const [flags, message] of cases) {
		const result = await run(dir, '-i', src, '-N', ...flags, dir);
		t.is(result.exitCode, 2, flags.join(' '));
		t.regex(result.stderr, message);
	}

	const alias = await run(dir, '-i', src, '-N', '--alias', 'bad alias', dir);
	t.is(alias.exitCode, 1);
	t.regex(alias.stderr, /alias "bad alias" may only use/);
	t.deepEqual(await snapshot(src), before);
});

/** A root where the version is published, and a second build of it (SRC) with its files' digests. */
async function versionPublished(t: Parameters<typeof scratch>[0]) {
	const dir = await scratch(t);
	const root = path.join(dir, 'root');
	await mkdir(root);
	t.is((await run(dir, '-i', await importSource(path.join(dir, 'first')), '-N', root)).exitCode, 0);
	const second = await importSource(path.join(dir, 'second'));
	const before = await snapshot(second);
	return {dir, root, second, before};
}

test('an existing version is refused; --force replaces it, and no dot-directory is left', async t => {
	const {dir, root, second, before} = await versionPublished(t);
	const refused = await run(dir, '-i', second, '-N', root);
	t.is(refused.exitCode, 1);
	t.is(refused.stderr, `simplestreams: ${product}/${version} already exists: choose another version, or pass --force to replace it`);
	t.deepEqual(await snapshot(second), before);
	const replaced = await run(dir, '-i', second, '-N', '--force', root);
	t.is(replaced.exitCode, 0, replaced.stderr);
	t.regex(replaced.stderr, new RegExp(`^replaced ${product}/${version}$`, 'm'));
	t.deepEqual(await listTree(path.join(root, product)), [version, `${version}/lxd.tar.xz`, `${version}/root.squashfs`]);
	const items = (await streams(root)).products['acme:3.0:amd64:default']!.versions[version]!.items;
	t.is(items['root.squashfs']!.sha256, before['rootfs.squashfs']!);
});

test('a -N beside an import is refused until the import has placed and published its version', async t => {
	const {dir, root, second, before} = await versionPublished(t);
	const planned = await planImport({source: second, root, fields: {}, requirements: {}, aliases: [], copy: false, force: true, write: true});
	if (planned.outcome !== 'planned' || !planned.held) {
		t.fail(JSON.stringify(planned));
		return;
	}

	// The other writer runs to its end while the import waits in the middle of staging its files.
	let beside: ReturnType<typeof execaSync> | undefined;
	const imported = await importImage({jobs: 2, cachePath: path.join(dir, 'cache.json'), plan: planned.plan, held: planned.held}, event => {
		if (event.type === 'file-done' && !beside) {
			beside = execaSync('node', [cli, '-N', root, '--cache', path.join(dir, 'other-cache.json')], {reject: false, stdin: 'ignore', env: {CI: 'true'}});
		}
	});
	try {
		await imported.publish(() => undefined);
	} finally {
		await imported.close();
	}

	t.is(beside?.exitCode, 1, String(beside?.stderr));
	t.regex(String(beside?.stderr), /is being written by another simplestreams \(simplestreams -i, pid \d+/);
	const items = (await streams(root)).products['acme:3.0:amd64:default']!.versions[version]!.items;
	t.is(items['root.squashfs']!.sha256, before['rootfs.squashfs']!);
	t.false(await stat(path.join(root, '.simplestreams.lock')).then(() => true, () => false), 'the lock is released');
});

test('the import\'s warnings carry their codes: digests that cannot be cached, with the version in place', async t => {
	const dir = await scratch(t);
	const root = path.join(dir, 'root');
	await mkdir(root);
	const src = await importSource(path.join(dir, 'src'));
	// The cache's directory is a file: it cannot be written there.
	await writeFile(path.join(dir, 'not-a-directory'), '');
	const planned = await planImport({source: src, root, fields: {}, requirements: {}, aliases: [], copy: false, force: false, write: true});
	if (planned.outcome !== 'planned' || !planned.held) {
		t.fail(JSON.stringify(planned));
		return;
	}

	const events: ImportEvent[] = [];
	const imported = await importImage({jobs: 1, cachePath: path.join(dir, 'not-a-directory', 'cache.json'), plan: planned.plan, held: planned.held}, event => events.push(event));
	await imported.close();
	const warnings = events.filter(event => event.type === 'warning');
	t.true(warnings.length > 0 && warnings.every(warning => isReasonCode(warning.code)), JSON.stringify(warnings));
	t.is(warnings.at(-1)?.code, 'import-digests-not-cached', JSON.stringify(warnings));
	t.deepEqual(await listTree(path.join(root, product, version)), ['lxd.tar.xz', 'root.squashfs']);
});

test('a requirement the variant\'s .requirements would override is refused, naming that file', async t => {
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'));
	const root = path.join(dir, 'root');
	await mkdir(path.join(root, product), {recursive: true});
	await writeFile(path.join(root, 'images/.requirements'), '{"cgroup": "v1", "nesting": "true"}');
	await writeFile(path.join(root, product, '.requirements'), '{"secureboot": "true"}');
	const refused = await run(dir, '-i', src, '-N', '--requirement', 'secureboot=false', root);
	t.is(refused.exitCode, 1);
	t.is(refused.stderr, `simplestreams: requirement secureboot=false would be overridden by secureboot=true in ${product}/.requirements: change it there`);
	const planned = await run(dir, '-i', src, '--requirement', 'cgroup=v2', root);
	t.is(planned.exitCode, 0, planned.stderr);
	t.regex(planned.stdout, /requirements: cgroup=v2 \(new\), nesting=true, secureboot=true\n/, 'the nearer level wins, as in the generator');
	await writeFile(path.join(root, 'images/acme/.lxd_requirements'), '{"secureboot": false}');
	const broken = await run(dir, '-i', src, root);
	t.is(broken.exitCode, 1);
	t.regex(broken.stderr, /images\/acme\/\.lxd_requirements has "secureboot": false; values must be strings .*: fix it first/);
	t.deepEqual(await listTree(path.join(root, product)), ['.requirements']);
});

test('a version name that would sort against the product\'s other versions is refused', async t => {
	const dir = await scratch(t);
	const root = path.join(dir, 'root');
	await mkdir(root);
	t.is((await run(dir, '-i', await importSource(path.join(dir, 'first')), '-N', '--version', '20240601_1230', root)).exitCode, 0);
	const src = await importSource(path.join(dir, 'second'), {metadata: {creationDate: 1_717_243_200}});
	const refused = await run(dir, '-i', src, '-N', root);
	t.is(refused.exitCode, 1);
	t.is(refused.stderr, 'simplestreams: versions 20240601_1230 and 20240601_12:00 sort against their dates, so clients take the wrong one as newest: use one version form per product (the product\'s versions are named like 20240601_1230)');
	t.is((await run(dir, '-i', src, '-N', '--version', '20240601_1200', root)).exitCode, 0);
});

/** Each bad source: what it holds, and the message (which names the file and the problem). */
const badSources: Array<[string, (src: string) => Promise<unknown>, (src: string) => RegExp]> = [
	['nothing but files that are no image', async src => Promise.all([
		customTarball(path.join(src, 'etc.tar.xz'), [['motd', 'x\n']]),
		writeFile(path.join(src, 'notes.txt'), 'x\n'),
	]), src => new RegExp(`^simplestreams: no image in ${src} \\(a rootfs or qcow2 disk, with or without a metadata tarball, or a unified image\\); ignored: etc\\.tar\\.xz \\(a tarball of neither image metadata nor a root filesystem \\(first entry: motd\\)\\), notes\\.txt \\(content not recognised`)],
	['two metadata tarballs', async src => importSource(src, {metadata: {name: 'incus.tar.xz'}}).then(async () => metadataTarball(path.join(src, 'lxd.tar.xz'))),
		src => new RegExp(`${src} holds 2 metadata tarballs \\(incus\\.tar\\.xz, lxd\\.tar\\.xz\\): leave only the one to import`)],
	['two squashfs images', async src => importSource(src).then(async () => squashfsImage(path.join(src, 'other.squashfs'), rootTree(machines.x86_64))),
		src => new RegExp(`${src} holds 2 squashfs images \\(other\\.squashfs, rootfs\\.squashfs\\)`)],
	['no rootfs', async src => importSource(src, {squashfs: false}), src => new RegExp(`no rootfs in ${src} \\(a squashfs, a root\\.tar\\.xz or a qcow2 disk\\) to go with lxd\\.tar\\.xz`)],
	['metadata.yaml missing', async src => Promise.all([
		customTarball(path.join(src, 'lxd.tar.xz'), [['templates/hostname.tpl', 'x\n']]),
		squashfsImage(path.join(src, 'root.squashfs'), rootTree(machines.x86_64)),
	]), src => new RegExp(`no metadata tarball in ${src}: ${src}/lxd\\.tar\\.xz is a tarball without metadata\\.yaml\\. Fix it, or remove it to import root\\.squashfs as a bare image`)],
	['metadata.yaml a symbolic link', async src => Promise.all([
		customTarball(path.join(src, 'lxd.tar.xz'), [['metadata.yaml', {symlink: '/etc/passwd'}]]),
		squashfsImage(path.join(src, 'root.squashfs'), rootTree(machines.x86_64)),
	]), src => new RegExp(`${src}/lxd\\.tar\\.xz: metadata\\.yaml is a symbolic link, not a regular file`)],
	['metadata.yaml a directory', async src => Promise.all([
		customTarball(path.join(src, 'lxd.tar.xz'), [['metadata.yaml', {dir: true}]], 'bzip2'),
		squashfsImage(path.join(src, 'root.squashfs'), rootTree(machines.x86_64)),
	]), src => new RegExp(`${src}/lxd\\.tar\\.xz: metadata\\.yaml is a directory, not a regular file`)],
	['invalid YAML', async src => Promise.all([
		customTarball(path.join(src, 'lxd.tar.xz'), [['metadata.yaml', 'architecture: x86_64\ncreation_date: 1717200000\nproperties: [unclosed\n']]),
		squashfsImage(path.join(src, 'root.squashfs'), rootTree(machines.x86_64)),
	]), src => new RegExp(`${src}/lxd\\.tar\\.xz: metadata\\.yaml is not valid YAML: `)],
	['no creation_date', async src => Promise.all([
		customTarball(path.join(src, 'lxd.tar.xz'), [['metadata.yaml', 'architecture: x86_64\nproperties:\n  os: acme\n']]),
		squashfsImage(path.join(src, 'root.squashfs'), rootTree(machines.x86_64)),
	]), src => new RegExp(`${src}/lxd\\.tar\\.xz: metadata\\.yaml has no creation_date`)],
	['a creation_date that is not a number', async src => Promise.all([
		customTarball(path.join(src, 'lxd.tar.xz'), [['metadata.yaml', 'architecture: x86_64\ncreation_date: yesterday\n']]),
		squashfsImage(path.join(src, 'root.squashfs'), rootTree(machines.x86_64)),
	]), src => new RegExp(`${src}/lxd\\.tar\\.xz: metadata\\.yaml has creation_date "yesterday"; it must be a positive whole number`)],
	['a quoted creation_date', async src => Promise.all([
		customTarball(path.join(src, 'lxd.tar.xz'), [['metadata.yaml', 'architecture: x86_64\ncreation_date: "1717200000"\n']]),
		squashfsImage(path.join(src, 'root.squashfs'), rootTree(machines.x86_64)),
	]), src => new RegExp(`${src}/lxd\\.tar\\.xz: metadata\\.yaml has creation_date "1717200000"; it must be`)],
	['an unknown architecture', async src => importSource(src, {metadata: {arch: 'x64'}}), src => new RegExp(`${src}/lxd\\.tar\\.xz: metadata\\.yaml: unknown architecture "x64"`)],
	['a squashfs built for another architecture', async src => importSource(src, {machine: machines.arm}),
		src => new RegExp(`${src}/rootfs\\.squashfs is built for armv6l or armv7l or armv8l \\(usr/bin/hello\\), but ${src}/lxd\\.tar\\.xz says architecture x86_64`)],
	['a root.tar.xz built for another architecture', async src => importSource(src, {squashfs: false, rootTar: 'root.tar.xz', machine: machines.i386}),
		src => new RegExp(`${src}/root\\.tar\\.xz is built for i686 \\(usr/bin/hello\\), but`)],
	['a unified tarball with an empty rootfs', async src => customTarball(path.join(src, 'image.tar.gz'), [['metadata.yaml', 'architecture: x86_64\ncreation_date: 1717200000\n'], ['rootfs', {dir: true}]], 'gzip'),
		src => new RegExp(`${src}/image\\.tar\\.gz is a unified image with an empty rootfs/: there is nothing to launch`)],
	['an empty squashfs and no metadata', async src => mkdir(path.join(src, '..', 'empty')).then(async () => execa('mksquashfs', [path.join(src, '..', 'empty'), path.join(src, 'root.squashfs'), '-noappend', '-quiet', '-no-progress'])),
		src => new RegExp(`${src}/root\\.squashfs is an empty squashfs: there is no root filesystem in it to launch`)],
	['a truncated squashfs', async src => importSource(src).then(async () => execa('truncate', ['-s', '200', path.join(src, 'rootfs.squashfs')])),
		src => new RegExp(`${src}/rootfs\\.squashfs: truncated: the squashfs superblock says \\d+ bytes, the file has 200 \\(is it still being written\\?\\)`)],
];

for (const [what, build, message] of badSources) {
	test(`bad input, ${what}: the message names the file, nothing is moved`, async t => {
		const dir = await scratch(t);
		const src = path.join(dir, 'src');
		await mkdir(src);
		await build(src);
		const root = path.join(dir, 'root');
		await mkdir(root);
		const before = await snapshot(src);
		const result = await run(dir, '-i', src, '-N', '--yes', root);
		t.is(result.exitCode, 1, result.stderr);
		t.regex(result.stderr, message(src));
		t.false(result.stderr.includes('\n'), 'one line');
		t.deepEqual(await snapshot(src), before);
		t.deepEqual(await listTree(root), []);
	});
}

test('no space left in the middle of a copy: the partial copy goes, the source stays', async t => {
	const dir = await scratch(t);
	const small = path.join(dir, 'small');
	await mkdir(small);
	const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small], {reject: false});
	t.is(mounted.exitCode, 0, `this test needs a 1 MiB tmpfs (mount as root): ${mounted.stderr}`);
	t.teardown(async () => {
		await execa('umount', [small], {reject: false});
	});
	const src = await importSource(path.join(dir, 'src'), {squashfs: false});
	// Random text xz cannot shrink below 1 MiB: the metadata fits, the rootfs runs out of room.
	const noise = randomBytes(1_600_000).toString('base64');
	await rootTarXz(path.join(src, 'root.tar.xz'), {...rootTree(machines.x86_64), 'var/noise': noise});
	t.true((await stat(path.join(src, 'root.tar.xz'))).size > 1024 * 1024);
	const before = await snapshot(src);
	const result = await run(dir, '-i', src, '-N', small);
	t.is(result.exitCode, 1);
	t.regex(result.stderr, /^copied lxd\.tar\.xz .*, verified$/m, 'the first file was copied');
	t.regex(result.stderr, new RegExp(`^simplestreams: ${src}/root\\.tar\\.xz: cannot copy it into ${product}/${version} \\(ENOSPC: no space left on the device\\); nothing was changed$`, 'm'));
	t.deepEqual(await snapshot(src), before);
	t.deepEqual(await listTree(small), []);
});

test('permission denied in the middle: the file already moved goes back to SRC', async t => {
	// Root reads everything: the import runs as nobody, on files nobody owns.
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'), {qcow2: 'disk.qcow2'});
	const root = path.join(dir, 'root');
	await mkdir(root);
	await execa('chown', ['-R', 'nobody:nogroup', src, root]);
	const before = await snapshot(src);
	// The plan is made, then the rootfs stops being readable (as when a build tool still holds it):
	// lxd.tar.xz and disk.qcow2 are moved and hashed, rootfs.squashfs cannot be read.
	const script = path.join(dir, 'child.mjs');
	await writeFile(script, `
		import {chmod} from 'node:fs/promises';
		import {findImage} from ${JSON.stringify(path.resolve('dist/source/import/find.js'))};
		import {scan} from ${JSON.stringify(path.resolve('dist/source/pipeline/scan.js'))};
		import {preparePlan} from ${JSON.stringify(path.resolve('dist/source/import/prepare.js'))};
		import {propose} from ${JSON.stringify(path.resolve('dist/source/import/propose.js'))};
		import {executeImport} from ${JSON.stringify(path.resolve('dist/source/import/execute.js'))};
		import {runContext} from ${JSON.stringify(path.resolve('dist/source/pipeline/context.js'))};
		const found = await findImage(${JSON.stringify(src)});
		const root = ${JSON.stringify(root)};
		const plan = await preparePlan(found, {fields: propose(found), requirements: {}, aliases: []}, {root, products: (await scan(root, () => undefined)).products, copy: false, force: false});
		await chmod(${JSON.stringify(path.join(src, 'rootfs.squashfs'))}, 0);
		const events = [];
		const context = runContext({root, jobs: 2, cachePath: ${JSON.stringify(path.join(dir, 'nobody-cache.json'))}}, () => undefined);
		try {
			await executeImport(plan, context, e => events.push(e));
			console.log(JSON.stringify({ok: true}));
		} catch (error) {
			console.log(JSON.stringify({message: error.message, done: events.filter(e => e.type === 'file-done').map(e => e.name)}));
		} finally {
			await context.close();
		}
	`);
	const child = await execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, script], {env: {HOME: dir}});
	const outcome = JSON.parse(child.stdout) as {message: string; done: string[]};
	t.deepEqual(outcome.done, ['lxd.tar.xz', 'disk.qcow2']);
	t.is(outcome.message, `${src}/rootfs.squashfs cannot be read (EACCES); nothing was changed`);
	await execa('chmod', ['644', path.join(src, 'rootfs.squashfs')]);
	t.deepEqual(await snapshot(src), before);
	t.deepEqual(await listTree(root), []);
});

test('Ctrl-C during the import (an aborted signal) puts everything back', async t => {
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'), {qcow2: 'disk.qcow2'});
	const root = path.join(dir, 'root');
	await mkdir(root);
	const before = await snapshot(src);
	const found = await findImage(src);
	const plan = await preparePlan(found, {fields: propose(found) as never, requirements: {secureboot: 'false'}, aliases: ['acme/lts']}, {root, products: (await scan(root, () => undefined)).products, copy: false, force: false});
	const controller = new AbortController();
	const context = runContext({root, jobs: 2, cachePath: path.join(dir, 'cache.json'), signal: controller.signal}, () => undefined);
	t.teardown(async () => context.close());
	const error = await t.throwsAsync(executeImport(plan, context, event => {
		if (event.type === 'file-done' && event.name === 'disk.qcow2') {
			controller.abort();
		}
	}), {any: true});
	t.is((error as Error | undefined)?.name, 'AbortError');
	t.deepEqual(await snapshot(src), before);
	t.deepEqual(await listTree(root), []);
});

test('an os with capitals is refused for flags as the wizard lowercases it: aliases read fedora/41', async t => {
	const found = {metadata: undefined, roots: []} as unknown as Parameters<typeof fieldProblem>[2];
	t.is(fieldProblem('os', 'Fedora', found), 'os "Fedora" must be lowercase: fedora');
	t.is(fieldProblem('os', 'fedora', found), undefined);
});
