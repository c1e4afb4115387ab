// The benchmark's web roots, built once from real content and kept between runs: a corpus is rebuilt
// only when its `.ready` marker is missing or names another corpusVersion.
import {spawn} from 'node:child_process';
import {randomFillSync} from 'node:crypto';
import {mkdir, open, readFile, rm, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {mapLimit} from '../source/util/map-limit.js';

/** Bump when what a corpus contains changes: every cached corpus of another version is rebuilt. */
export const corpusVersion = 'corpus-2';

const MiB = 1024 * 1024;

/** One version of a corpus: absolute paths of its metadata tarball and rootfs files. */
export type CorpusVersion = {meta: string; roots: string[]};

export type Corpus = {name: string; root: string; versions: CorpusVersion[]; files: number; bytes: number};

export type CorpusName = 'multi' | 'single' | 'many' | 'few' | 'long';

export const corpusTitles: Record<CorpusName, string> = {
	multi: '3 versions × (lxd.tar.xz + 256 MiB squashfs + 256 MiB qcow2)',
	single: '1 version × (lxd.tar.xz + 1 GiB squashfs)',
	many: '10,000 versions × (lxd.tar.xz + root.squashfs + disk.qcow2), small files',
	few: '7 versions × (lxd.tar.xz + root.squashfs + disk.qcow2): 21 small files',
	long: '4 versions × (lxd.tar.xz + 3 GiB squashfs): a job of ~10 s, for what the live tree costs',
};

/** Run a tool; reject with its stderr when it fails. */
export async function run(command: string, args: readonly string[], options: {cwd?: string} = {}): Promise<string> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, {cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe']});
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (text: string) => {
			stdout += text;
		});
		child.stderr.setEncoding('utf8').on('data', (text: string) => {
			stderr += text;
		});
		child.on('error', reject);
		child.on('close', code => {
			if (code === 0) {
				resolve(stdout);
			} else {
				reject(new Error(`${command} ${args.join(' ')} exited with ${String(code)}: ${stderr.trim()}`));
			}
		});
	});
}

/** `bytes` of incompressible random data. */
async function randomFile(file: string, bytes: number): Promise<void> {
	const chunk = Buffer.allocUnsafe(4 * MiB);
	const handle = await open(file, 'w');
	try {
		for (let left = bytes; left > 0; left -= chunk.length) {
			const part = chunk.subarray(0, Math.min(left, chunk.length));
			randomFillSync(part);
			await handle.write(part);
		}
	} finally {
		await handle.close();
	}
}

// Reproducible metadata: fixed order, owner and mtime, GNU headers (so "ustar" sits at offset 257).
const tarFlags = ['--format=gnu', '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner'];

function metadataYaml(os: string, release: string, serial: string): string {
	return [
		'architecture: "x86_64"',
		'creation_date: 1704067200',
		'properties:',
		`  os: ${JSON.stringify(os)}`,
		`  release: ${JSON.stringify(release)}`,
		'  variant: "default"',
		'  architecture: "amd64"',
		`  description: ${JSON.stringify(`${os} ${release} amd64 (default) (${serial})`)}`,
		`  serial: ${JSON.stringify(serial)}`,
		'templates:',
		'  /etc/hostname:',
		'    when: [create, copy]',
		'    create_only: false',
		'    template: hostname.tpl',
		'    properties: {}',
		'',
	].join('\n');
}

/** A real lxd.tar.xz (metadata.yaml + templates/hostname.tpl) made by tar and xz. */
async function metadataTarball(file: string, scratch: string, os: string, release: string, serial: string): Promise<void> {
	const tree = path.join(scratch, 'meta');
	await mkdir(path.join(tree, 'templates'), {recursive: true});
	await writeFile(path.join(tree, 'metadata.yaml'), metadataYaml(os, release, serial));
	await writeFile(path.join(tree, 'templates', 'hostname.tpl'), `{{ container.name }}\n# ${serial}\n`);
	const tar = path.join(scratch, 'meta.tar');
	await run('tar', [...tarFlags, '-C', tree, '-cf', tar, '--', 'metadata.yaml', 'templates']);
	await run('xz', ['-T1', '-6', '-f', tar]);
	await run('mv', ['-f', `${tar}.xz`, file]);
	await rm(tree, {recursive: true, force: true});
}

const squashfsFlags = ['-noappend', '-all-root', '-mkfs-time', '0', '-all-time', '0', '-no-progress', '-quiet'];

/** A valid squashfs of about `bytes`: one random file stored uncompressed (-noI -noD -noF -noX). */
async function randomSquashfs(file: string, scratch: string, bytes: number): Promise<void> {
	const tree = path.join(scratch, 'squash');
	await mkdir(tree, {recursive: true});
	await randomFile(path.join(tree, 'payload.bin'), bytes - 8192);
	await run('mksquashfs', [tree, file, '-noI', '-noD', '-noF', '-noX', ...squashfsFlags]);
	await rm(tree, {recursive: true, force: true});
}

/** A real qcow2 disk converted from a random raw image. */
async function randomQcow2(file: string, scratch: string, bytes: number): Promise<void> {
	const raw = path.join(scratch, 'disk.raw');
	await randomFile(raw, bytes);
	await run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, file]);
	await rm(raw, {force: true});
}

const versionName = (index: number) => {
	// One version an hour from 2020-01-01: always a real date and time, YYYYMMDD_HHMM.
	const date = new Date(Date.UTC(2020, 0, 1) + (index * 3_600_000));
	const pad = (n: number) => String(n).padStart(2, '0');
	return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}`;
};

async function sizes(versions: readonly CorpusVersion[]): Promise<{files: number; bytes: number}> {
	let files = 0;
	let bytes = 0;
	for (const {meta, roots} of versions) {
		for (const file of [meta, ...roots]) {
			files++;
			bytes += (await stat(file)).size;
		}
	}

	return {files, bytes};
}

/** Big images: `count` versions, each with the rootfs files listed (squashfs / qcow2 of `bytes`). */
async function buildLarge(root: string, scratch: string, count: number, rootfs: ReadonlyArray<{name: string; bytes: number}>, log: (text: string) => void): Promise<CorpusVersion[]> {
	const versions: CorpusVersion[] = [];
	for (let index = 0; index < count; index++) {
		const name = versionName(index);
		const dir = path.join(root, 'images', 'benchos', '1.0', 'amd64', 'default', name);
		await mkdir(dir, {recursive: true});
		const meta = path.join(dir, 'lxd.tar.xz');
		await metadataTarball(meta, scratch, 'benchos', '1.0', name);
		const roots: string[] = [];
		for (const {name: file, bytes} of rootfs) {
			const target = path.join(dir, file);
			log(`  ${path.relative(root, target)} (${bytes / MiB} MiB)`);
			await (file.endsWith('.qcow2') ? randomQcow2(target, scratch, bytes) : randomSquashfs(target, scratch, bytes));
			roots.push(target);
		}

		versions.push({meta, roots});
	}

	return versions;
}

/** A minimal ustar archive holding one metadata.yaml (what `tar` would write, without spawning it 10,000 times). */
function tarOf(name: string, content: string): Buffer {
	const body = Buffer.from(content);
	const header = Buffer.alloc(512);
	const field = (offset: number, length: number, value: string) => {
		header.write(value, offset, length, 'latin1');
	};

	const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0');
	field(0, 100, name);
	field(100, 8, octal(0o644, 8));
	field(108, 8, octal(0, 8));
	field(116, 8, octal(0, 8));
	field(124, 12, octal(body.length, 12));
	field(136, 12, octal(0, 12));
	field(148, 8, '        ');
	field(156, 1, '0');
	field(257, 6, 'ustar\0');
	field(263, 2, '00');
	let sum = 0;
	for (const byte of header) {
		sum += byte;
	}

	field(148, 8, `${octal(sum, 7)}\0`);
	const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
	body.copy(padded);
	return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

/**
 * `count` small versions in up to 10 products. Each lxd.tar.xz is a real xz tarball with its own
 * metadata.yaml (tar written here, compressed by xz in batches); each root.squashfs is one real
 * squashfs made by mksquashfs and each disk.qcow2 one real qcow2 made by qemu-img, with the version's
 * path appended after the image (both formats ignore bytes past their end), so every file and every
 * fingerprint is distinct.
 */
export async function buildMany(root: string, scratch: string, count: number, log: (text: string) => void): Promise<CorpusVersion[]> {
	const tree = path.join(scratch, 'rootfs');
	await mkdir(path.join(tree, 'etc'), {recursive: true});
	await writeFile(path.join(tree, 'etc', 'hostname'), 'benchos\n');
	await writeFile(path.join(tree, 'etc', 'os-release'), 'NAME="benchos"\nVERSION_ID="1.0"\n');
	const base = path.join(scratch, 'base.squashfs');
	await run('mksquashfs', [tree, base, ...squashfsFlags]);
	const squashfs = await readFile(base);
	const disk = path.join(scratch, 'base.qcow2');
	await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512', disk, '1M']);
	const qcow2 = await readFile(disk);

	const products = Math.min(10, count);
	const perProduct = Math.ceil(count / products);
	const versions: Array<CorpusVersion & {tar: string}> = [];
	for (let index = 0; index < count; index++) {
		const release = `r${String(Math.floor(index / perProduct)).padStart(2, '0')}`;
		const name = versionName(index % perProduct);
		const dir = path.join(root, 'images', 'benchos', release, 'amd64', 'default', name);
		versions.push({meta: path.join(dir, 'lxd.tar.xz'), roots: [path.join(dir, 'root.squashfs'), path.join(dir, 'disk.qcow2')], tar: path.join(dir, 'lxd.tar')});
	}

	log(`  writing ${count} versions`);
	await mapLimit(versions, 32, async version => {
		const dir = path.dirname(version.meta);
		const rel = path.relative(root, dir);
		await mkdir(dir, {recursive: true});
		await writeFile(version.tar, tarOf('metadata.yaml', metadataYaml('benchos', rel.split(path.sep)[2]!, path.basename(dir))));
		await writeFile(version.roots[0]!, Buffer.concat([squashfs, Buffer.from(`${rel}\n`)]));
		await writeFile(version.roots[1]!, Buffer.concat([qcow2, Buffer.from(`${rel}\n`)]));
	});

	log('  compressing the metadata tarballs with xz');
	const batches: string[][] = [];
	for (let index = 0; index < versions.length; index += 500) {
		batches.push(versions.slice(index, index + 500).map(v => v.tar));
	}

	// `xz -f lxd.tar` writes lxd.tar.xz and removes lxd.tar.
	await mapLimit(batches, 2, async batch => run('xz', ['-T1', '-0', '-f', '--', ...batch]));
	return versions.map(({meta, roots}) => ({meta, roots}));
}

/** The corpus `name` under `base`, built now unless a ready copy of this corpusVersion is there. */
export async function corpus(base: string, name: CorpusName, log: (text: string) => void): Promise<Corpus> {
	const dir = path.join(base, corpusVersion);
	const root = path.join(dir, name);
	const marker = path.join(dir, `${name}.ready`);
	try {
		const ready = JSON.parse(await readFile(marker, 'utf8')) as Corpus & {version: string};
		if (ready.version === corpusVersion && ready.root === root) {
			return {name: ready.name, root: ready.root, versions: ready.versions, files: ready.files, bytes: ready.bytes};
		}
	} catch {}

	// Whatever is there is a partial build or another version: start over.
	await rm(root, {recursive: true, force: true});
	const scratch = path.join(dir, `.scratch-${name}`);
	await rm(scratch, {recursive: true, force: true});
	await mkdir(scratch, {recursive: true});
	log(`building corpus "${name}" in ${root} (once; kept for later runs)`);
	const started = performance.now();
	let versions: CorpusVersion[];
	try {
		switch (name) {
			case 'multi': {
				versions = await buildLarge(root, scratch, 3, [{name: 'root.squashfs', bytes: 256 * MiB}, {name: 'disk.qcow2', bytes: 256 * MiB}], log);
				break;
			}

			case 'single': {
				versions = await buildLarge(root, scratch, 1, [{name: 'root.squashfs', bytes: 1024 * MiB}], log);
				break;
			}

			case 'many': {
				versions = await buildMany(root, scratch, 10_000, log);
				break;
			}

			case 'few': {
				versions = await buildMany(root, scratch, 7, log);
				break;
			}

			case 'long': {
				versions = await buildLarge(root, scratch, 4, [{name: 'root.squashfs', bytes: 3072 * MiB}], log);
				break;
			}
		}
	} finally {
		await rm(scratch, {recursive: true, force: true});
	}

	const built: Corpus = {name, root, versions, ...await sizes(versions)};
	await writeFile(marker, JSON.stringify({version: corpusVersion, ...built}));
	log(`  built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
	return built;
}
