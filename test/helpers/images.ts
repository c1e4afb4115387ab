// Builds real image files (metadata tarballs, squashfs, rootfs tarballs, qcow2 disks) with the
// real system tools, so tests exercise exactly the bytes the lxc/incus clients will download.
import {createHash} from 'node:crypto';
import {mkdir, mkdtemp, open, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {execa} from 'execa';

export type TempDir = {path: string; cleanup(): Promise<void>};

/** A fresh directory under the OS temp dir; `cleanup()` removes it (safe to call twice). */
export async function tempDir(prefix: string): Promise<TempDir> {
	const dir = await mkdtemp(path.join(tmpdir(), `${prefix.replace(/[^\w.-]/g, '_')}-`));
	return {path: dir, cleanup: async () => rm(dir, {recursive: true, force: true})};
}

/** Fails loudly (instead of skipping) when a system tool the harness needs is missing. */
export async function requireTool(cmd: string): Promise<void> {
	const r = await execa('sh', ['-c', `command -v ${cmd}`], {reject: false});
	if (r.exitCode !== 0) {
		throw new Error(`required tool "${cmd}" is not installed (run: bash scripts/system-deps.sh as root)`);
	}
}

/** Writes `files` (relative path -> content) below `dir`, creating parent directories. */
async function writeTree(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
	for (const [rel, content] of Object.entries(files)) {
		const target = path.join(dir, rel);
		await mkdir(path.dirname(target), {recursive: true});
		await writeFile(target, content);
	}
}

/** Runs a tool in a scratch dir that is always removed, so callers only ever see the output file. */
async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
	const t = await tempDir('ss-build');
	try {
		return await fn(t.path);
	} finally {
		await t.cleanup();
	}
}

// Deterministic tar: fixed order, owner and mtime, GNU headers (so "ustar" sits at offset 257).
const tarFlags = ['--format=gnu', '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner'];

export type Compression = 'xz' | 'gzip' | 'bzip2' | 'zstd' | 'none';

/** Compresses `src` into `dest` (the name does not matter: clients detect magic bytes). */
async function compress(src: string, dest: string, compression: Compression): Promise<void> {
	if (compression === 'none') {
		await execa('cp', [src, dest]);
		return;
	}

	const argv: Record<Exclude<Compression, 'none'>, string[]> = {
		xz: ['xz', '-c', '-T1'], // -T1: single-threaded output is byte-stable
		gzip: ['gzip', '-c', '-n'], // -n: no name/timestamp in the header
		bzip2: ['bzip2', '-c'],
		zstd: ['zstd', '-q', '-c'],
	};
	const [cmd, ...args] = argv[compression];
	await requireTool(cmd!);
	await execa(cmd!, args, {inputFile: src, stdout: {file: dest}});
}

/** tar of every top-level entry in `dir` (entries relative to `dir`, no "./" or "rootfs/" prefix). */
async function tarDir(dir: string, entries: string[], dest: string): Promise<void> {
	await execa('tar', [...tarFlags, '-C', dir, '-cf', dest, '--', ...entries.sort()]);
}

/** Debian arch name -> the kernel name LXD/Incus use in metadata.yaml (other names pass through). */
const kernelArch: Record<string, string> = {
	amd64: 'x86_64', arm64: 'aarch64', i386: 'i686', armhf: 'armv7l', armel: 'armv6l', ppc64el: 'ppc64le', riscv64: 'riscv64', s390x: 's390x',
};

export type MetadataOptions = {
	os?: string;
	release?: string;
	variant?: string;
	/** Product arch (Debian spelling, e.g. amd64); metadata.yaml gets the kernel name. */
	arch?: string;
	serial?: string;
	description?: string;
	/** Unix seconds. */
	creationDate?: number;
	expiryDate?: number;
	compression?: Compression;
	/** Extra text in the template so otherwise identical tarballs differ. */
	seed?: string;
};

/** The metadata.yaml text (JSON scalars are valid YAML and quote "24.04"-like values). */
export function metadataYaml(o: MetadataOptions): string {
	const arch = o.arch ?? 'amd64';
	const serial = o.serial ?? '20240101_0000';
	const props = {
		os: o.os ?? 'Acme',
		release: o.release ?? '1.0',
		variant: o.variant ?? 'default',
		architecture: arch,
		description: o.description ?? `${o.os ?? 'Acme'} ${o.release ?? '1.0'} ${arch} (${o.variant ?? 'default'}) (${serial})`,
		serial,
	};
	const q = JSON.stringify;
	return [
		`architecture: ${q(kernelArch[arch] ?? arch)}`,
		`creation_date: ${Math.trunc(o.creationDate ?? 1_704_067_200)}`,
		...(o.expiryDate === undefined ? [] : [`expiry_date: ${Math.trunc(o.expiryDate)}`]),
		'properties:',
		...Object.entries(props).map(([k, v]) => `  ${k}: ${q(v)}`),
		'templates:',
		'  /etc/hostname:',
		'    when: [create, copy]',
		'    create_only: false',
		'    template: hostname.tpl',
		'    properties: {}',
		'',
	].join('\n');
}

/** Writes a metadata tarball: regular-file metadata.yaml + templates/hostname.tpl. */
export async function metadataTarball(file: string, opts: MetadataOptions = {}): Promise<string> {
	await withScratch(async dir => {
		const tree = path.join(dir, 'tree');
		await writeTree(tree, {
			'metadata.yaml': metadataYaml(opts),
			'templates/hostname.tpl': `{{ container.name }}\n${opts.seed ? `# ${opts.seed}\n` : ''}`,
		});
		const plain = path.join(dir, 'meta.tar');
		await tarDir(tree, ['metadata.yaml', 'templates'], plain);
		await mkdir(path.dirname(file), {recursive: true});
		await compress(plain, file, opts.compression ?? 'xz');
	});
	return file;
}

/** A squashfs whose root is the filesystem root (bin/, etc/ ...), byte-reproducible. */
export async function squashfsImage(file: string, files: Record<string, string>): Promise<string> {
	await requireTool('mksquashfs');
	await withScratch(async dir => {
		await writeTree(dir, files);
		await mkdir(path.dirname(file), {recursive: true});
		// -mkfs-time/-all-time (squashfs-tools >= 4.4) pin every timestamp; -all-root drops our uid;
		// -root-mode: the scratch dir is 0700 (mkdtemp), a rootfs root must be 0755.
		await execa('mksquashfs', [dir, file, '-noappend', '-all-root', '-root-mode', '755', '-mkfs-time', '0', '-all-time', '0', '-no-progress', '-quiet']);
	});
	return file;
}

/** A container rootfs tarball with entries relative to / (no rootfs/ prefix), xz-compressed. */
export async function rootTarXz(file: string, files: Record<string, string>): Promise<string> {
	await withScratch(async dir => {
		const tree = path.join(dir, 'tree');
		await writeTree(tree, files);
		const tops = [...new Set(Object.keys(files).map(f => f.split('/')[0]!))];
		const plain = path.join(dir, 'root.tar');
		await tarDir(tree, tops, plain);
		await mkdir(path.dirname(file), {recursive: true});
		await compress(plain, file, 'xz');
	});
	return file;
}

export type Qcow2Options = {
	/** Virtual size in MiB (default 16). */
	sizeMiB?: number;
	/** When set, these bytes are written at the start of the disk so two disks differ. */
	content?: string;
};

/** A real qcow2 VM disk (`qemu-img info -f qcow2` accepts it). */
export async function qcow2Disk(file: string, opts: Qcow2Options = {}): Promise<string> {
	await requireTool('qemu-img');
	const size = `${opts.sizeMiB ?? 16}M`;
	await mkdir(path.dirname(file), {recursive: true});
	if (opts.content === undefined) {
		await execa('qemu-img', ['create', '-q', '-f', 'qcow2', file, size]);
		return file;
	}

	await withScratch(async dir => {
		const raw = path.join(dir, 'disk.raw');
		await writeFile(raw, opts.content!);
		await execa('truncate', ['-s', size, raw]);
		await execa('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, file]);
	});
	return file;
}

/** A large file: a distinct header, then a sparse tail (fast to create, still hashed in full). */
export async function bigFile(file: string, bytes: number, header = path.basename(file)): Promise<string> {
	await mkdir(path.dirname(file), {recursive: true});
	const fh = await open(file, 'w');
	try {
		await fh.write(header);
		await fh.truncate(Math.max(bytes, Buffer.byteLength(header)));
	} finally {
		await fh.close();
	}
	return file;
}

export type MetaName = 'lxd.tar.xz' | 'incus.tar.xz';
export type RootfsName = 'root.squashfs' | 'rootfs.squashfs' | 'root.tar.xz' | 'rootfs.tar.xz' | 'disk.qcow2' | 'disk-kvm.img';

export type VersionSpec = {
	os: string;
	release: string;
	arch: string;
	variant: string;
	/** The version directory name, e.g. 20240101_0000. */
	version: string;
	meta: MetaName[];
	rootfs: RootfsName[];
	/** Mixed into every file so fingerprints differ; defaults to the version's path. */
	seed?: string;
	compression?: Compression;
};

export type BuiltVersion = {
	/** Absolute path of images/os/release/arch/variant/version. */
	dir: string;
	/** Path relative to the web root (what an item's `path` should be), per file name. */
	rel: Record<string, string>;
	/** Absolute path per file name. */
	files: Partial<Record<MetaName | RootfsName, string>>;
};

/**
 * Creates root/images/os/release/arch/variant/version/ with the requested files. Content depends on
 * the seed (default: the version path) and on the file name, so lxd.tar.xz and incus.tar.xz of one
 * version differ too and a test can tell which one a client paired with the rootfs.
 */
export async function imageVersion(root: string, spec: VersionSpec): Promise<BuiltVersion> {
	const relDir = path.posix.join('images', spec.os, spec.release, spec.arch, spec.variant, spec.version);
	const dir = path.resolve(root, relDir);
	await mkdir(dir, {recursive: true});
	const seed = spec.seed ?? relDir;
	const tree = {
		'etc/os-release': `NAME="${spec.os}"\nVERSION_ID="${spec.release}"\nBUILD_ID="${spec.version}"\n`,
		'etc/hostname': `${spec.os.toLowerCase()}\n`,
		'bin/hello': `#!/bin/sh\necho ${JSON.stringify(seed)}\n`,
	};
	const built: BuiltVersion = {dir, rel: {}, files: {}};
	const add = (name: MetaName | RootfsName, abs: string) => {
		built.files[name] = abs;
		built.rel[name] = path.posix.join(relDir, name);
	};

	for (const name of spec.meta) {
		const compression = spec.compression ?? 'xz';
		add(name, await metadataTarball(path.join(dir, name), {
			os: spec.os, release: spec.release, arch: spec.arch, variant: spec.variant, serial: spec.version, compression, seed: `${seed} ${name}`,
		}));
	}

	for (const name of spec.rootfs) {
		const file = path.join(dir, name);
		const withName = {...tree, 'etc/image-file': `${seed} ${name}\n`};
		if (name.endsWith('.squashfs')) {
			await squashfsImage(file, withName);
		} else if (name.endsWith('.tar.xz')) {
			await rootTarXz(file, withName);
		} else {
			await qcow2Disk(file, {content: `${seed} ${name}\n`});
		}

		add(name, file);
	}

	return built;
}

/**
 * A container rootfs as an update changes it: `files` files of hard-to-compress text, the same in
 * every build except for a few (one edited, one added, a build stamp). Deterministic per build.
 */
export function rootfsBuild(build: number, files = 400): Record<string, string> {
	const tree: Record<string, string> = {'etc/build': `${build}\n`, [`usr/share/added-in-${build}`]: `build ${build}\n`};
	let state = createHash('sha256').update('rootfs').digest();
	for (let index = 0; index < files; index++) {
		const chunks: string[] = [];
		for (let part = 0; part < 64; part++) {
			state = createHash('sha256').update(state).digest();
			chunks.push(state.toString('base64'));
		}

		tree[`usr/lib/file-${index}`] = index === (build * 37) % files ? `${chunks.join('\n')}\nedited in ${build}\n` : chunks.join('\n');
	}

	return tree;
}

/**
 * Two versions of one product whose squashfs differ a little (built with mksquashfs from two builds
 * of one tree): the pair the delta tests and the benchmark use.
 */
export async function deltaPair(root: string, versions = ['20240101_0000', '20240102_0000']): Promise<BuiltVersion[]> {
	const built: BuiltVersion[] = [];
	for (const [build, version] of versions.entries()) {
		const spec = {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version, meta: ['incus.tar.xz'] as MetaName[], rootfs: [] as RootfsName[]};
		const done = await imageVersion(root, spec);
		const file = path.join(done.dir, 'root.squashfs');
		await squashfsImage(file, rootfsBuild(build + 1));
		done.files['root.squashfs'] = file;
		done.rel['root.squashfs'] = path.posix.join('images/acme/1.0/amd64/default', version, 'root.squashfs');
		built.push(done);
	}

	return built;
}
