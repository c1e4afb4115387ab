// The image forms import takes besides a metadata tarball and a rootfs: a unified image (published
// split in two) and a bare rootfs or disk (a metadata tarball is written for it). The daemon
// launches each form in daemon.test.ts; here are the files they become.
import {mkdir, readdir, readFile, symlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {parse} from 'yaml';
import {sha256File} from './helpers/clients.js';
import {listTree, machines, rootTree, scratch, snapshot} from './helpers/import.js';
import {metadataYaml, qcow2Disk, squashfsImage} from './helpers/images.js';

const cli = path.resolve('dist/cli.js');

type Run = {exitCode: number; stdout: string; stderr: string};

async function run(dir: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
	const result = await execa(process.execPath, [cli, ...args, '--cache', path.join(dir, 'cache.json')], {reject: false, stdin: 'ignore', env: {CI: 'true', ...env}});
	return {exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr};
}

/** A unified image as `incus publish` writes it: metadata.yaml, templates/ and rootfs/ (or rootfs.img) in one gzip tarball. */
async function unifiedImage(file: string, vm = false): Promise<string> {
	const tree = `${file}.tree`;
	const files: Record<string, string> = {
		'metadata.yaml': metadataYaml({os: 'Acme', release: '4.0', arch: 'amd64', creationDate: 1_717_200_000}),
		'templates/hostname.tpl': '{{ container.name }}\n',
		...(vm ? {} : Object.fromEntries(Object.entries(rootTree(machines.x86_64)).map(([name, text]) => [`rootfs/${name}`, text]))),
	};
	for (const [name, text] of Object.entries(files)) {
		await mkdir(path.dirname(path.join(tree, name)), {recursive: true});
		await writeFile(path.join(tree, name), text);
	}

	if (vm) {
		await qcow2Disk(path.join(tree, 'rootfs.img'), {content: 'the disk'});
	}

	await execa('tar', ['-C', tree, '-czf', file, 'metadata.yaml', 'templates', vm ? 'rootfs.img' : 'rootfs']);
	await execa('rm', ['-rf', tree]);
	return file;
}

const entries = async (tarball: string) => (await execa('tar', ['-tf', tarball])).stdout.split('\n').map(name => name.replace(/^\.\//, '')).filter(Boolean).sort();

test('a unified image is published split: its metadata tarball and its rootfs as a squashfs, the tarball left in SRC', async t => {
	const dir = await scratch(t);
	const src = path.join(dir, 'src');
	const root = path.join(dir, 'root');
	await mkdir(root);
	await mkdir(src);
	const unified = await unifiedImage(path.join(src, `${'f'.repeat(64)}.tar.gz`));
	const planned = await run(dir, ['-i', src, root]);
	t.is(planned.exitCode, 0, planned.stderr);
	t.regex(planned.stdout, /root\.squashfs .*split from f{64}\.tar\.gz, built for x86_64 \(usr\/bin\/hello\)/);
	t.regex(planned.stdout, /left in .*f{64}\.tar\.gz, the unified image these files are split from/);
	t.deepEqual(await listTree(root), [], 'a dry run leaves nothing behind');

	const before = await snapshot(src);
	const done = await run(dir, ['-i', src, '-N', root]);
	t.is(done.exitCode, 0, done.stderr);
	const version = path.join(root, 'images/acme/4.0/amd64/default/20240601_00:00');
	t.deepEqual(await readdir(version), ['incus.tar.xz', 'root.squashfs']);
	t.deepEqual(await entries(path.join(version, 'incus.tar.xz')), ['metadata.yaml', 'templates/', 'templates/hostname.tpl']);
	const hello = await execa('unsquashfs', ['-cat', path.join(version, 'root.squashfs'), 'usr/bin/hello'], {encoding: 'buffer', stripFinalNewline: false});
	t.deepEqual(Buffer.from(hello.stdout), Buffer.from(rootTree(machines.x86_64)['usr/bin/hello'], 'latin1'));
	t.deepEqual(await snapshot(src), before, 'the unified tarball is still there, unchanged');
	t.false((await readdir(root)).some(name => name.startsWith('.import-')), 'the scratch directory is gone');
	t.deepEqual(await readdir(src), [path.basename(unified)]);
});

test('without mksquashfs a unified image\'s rootfs becomes a root.tar.xz', async t => {
	const dir = await scratch(t);
	const src = path.join(dir, 'src');
	await mkdir(src);
	await unifiedImage(path.join(src, 'image.tar.gz'));
	const root = path.join(dir, 'root');
	await mkdir(root);
	// A PATH with every tool import runs except mksquashfs.
	const bin = path.join(dir, 'bin');
	await mkdir(bin);
	for (const tool of ['sh', 'tar', 'xz', 'gzip', 'rm', 'unsquashfs']) {
		await symlink((await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim(), path.join(bin, tool));
	}

	const done = await run(dir, ['-i', src, '-N', root], {PATH: bin});
	t.is(done.exitCode, 0, done.stderr);
	const version = path.join(root, 'images/acme/4.0/amd64/default/20240601_00:00');
	t.deepEqual(await readdir(version), ['incus.tar.xz', 'root.tar.xz']);
	t.true((await entries(path.join(version, 'root.tar.xz'))).includes('usr/bin/hello'));
});

test('a unified VM image\'s rootfs.img is published as its disk.qcow2, byte for byte', async t => {
	const dir = await scratch(t);
	const src = path.join(dir, 'src');
	await mkdir(src);
	await unifiedImage(path.join(src, 'vm.tar.gz'), true);
	const disk = path.join(dir, 'disk');
	await qcow2Disk(disk, {content: 'the disk'});
	const root = path.join(dir, 'root');
	await mkdir(root);
	const done = await run(dir, ['-i', src, '-N', '--variant', 'vm', root]);
	t.is(done.exitCode, 0, done.stderr);
	const version = path.join(root, 'images/acme/4.0/amd64/vm/20240601_00:00');
	t.deepEqual(await readdir(version), ['disk.qcow2', 'incus.tar.xz']);
	t.is(await sha256File(path.join(version, 'disk.qcow2')), await sha256File(disk));
});

test('a bare rootfs gets a metadata tarball written from the flags, with a creation date and the hostname and hosts templates', async t => {
	const dir = await scratch(t);
	const src = path.join(dir, 'src');
	await squashfsImage(path.join(src, 'rootfs.squashfs'), rootTree(machines.x86_64));
	const root = path.join(dir, 'root');
	await mkdir(root);
	const before = await snapshot(src);

	const asked = await run(dir, ['-i', src, '-N', '--yes', root]);
	t.is(asked.exitCode, 2);
	t.is(asked.stderr, `simplestreams: os, release cannot be told from the bare image in ${src} and with --yes nothing is asked: pass --os OS --release RELEASE`);
	const otherArch = await run(dir, ['-i', src, '-N', '--yes', '--os', 'acme', '--release', '5.0', '--arch', 'arm64', root]);
	t.is(otherArch.exitCode, 2);
	t.regex(otherArch.stderr, /arch "arm64" is not the x86_64 that metadata\.yaml says|arch "arm64" does not match rootfs\.squashfs, built for x86_64/);
	t.deepEqual(await snapshot(src), before, 'nothing moved');
	t.deepEqual(await listTree(root), []);

	const started = Math.floor(Date.now() / 1000);
	const done = await run(dir, ['-i', src, '-N', '--yes', '--os', 'acme', '--release', '5.0', '--version', '20240601_00:00', root]);
	t.is(done.exitCode, 0, done.stderr);
	const version = path.join(root, 'images/acme/5.0/amd64/default/20240601_00:00');
	t.deepEqual(await readdir(version), ['incus.tar.xz', 'root.squashfs']);
	const meta = path.join(version, 'incus.tar.xz');
	t.deepEqual(await entries(meta), ['metadata.yaml', 'templates/', 'templates/hostname.tpl', 'templates/hosts.tpl']);
	const yaml = parse((await execa('tar', ['-xOf', meta, 'metadata.yaml'])).stdout) as {architecture: string; creation_date: number; properties: Record<string, string>; templates: Record<string, {template: string}>};
	t.is(yaml.architecture, 'x86_64');
	t.true(yaml.creation_date >= started && yaml.creation_date <= Math.floor(Date.now() / 1000) + 1);
	t.deepEqual(yaml.properties, {os: 'acme', release: '5.0', variant: 'default', architecture: 'amd64', description: 'acme 5.0 amd64 (default) (20240601_00:00)', serial: '20240601_00:00'});
	t.deepEqual(Object.keys(yaml.templates).sort(), ['/etc/hostname', '/etc/hosts']);
	t.is((await execa('tar', ['-xOf', meta, 'templates/hostname.tpl'])).stdout, '{{ container.name }}');
});

test('a bare qcow2 disk: the architecture is asked for, and its metadata has no templates', async t => {
	const dir = await scratch(t);
	const src = path.join(dir, 'src');
	await qcow2Disk(path.join(src, 'disk.img'));
	const root = path.join(dir, 'root');
	await mkdir(root);
	const asked = await run(dir, ['-i', src, '-N', '--yes', '--os', 'acme', '--release', '5.0', root]);
	t.is(asked.exitCode, 2);
	t.regex(asked.stderr, /^simplestreams: arch cannot be told from the bare image in .* pass --arch ARCH$/);

	const done = await run(dir, ['-i', src, '-N', '--yes', '--os', 'acme', '--release', '5.0', '--arch', 'arm64', '--variant', 'vm', '--version', '20240601_00:00', root]);
	t.is(done.exitCode, 0, done.stderr);
	const meta = path.join(root, 'images/acme/5.0/arm64/vm/20240601_00:00/incus.tar.xz');
	t.deepEqual(await entries(meta), ['metadata.yaml']);
	const yaml = parse((await execa('tar', ['-xOf', meta, 'metadata.yaml'])).stdout) as Record<string, unknown>;
	t.is(yaml.architecture, 'aarch64');
	t.is(yaml.templates, undefined);
	t.is(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8').then(text => text.includes('acme:5.0:arm64:vm')), true);
});
