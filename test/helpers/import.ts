// Import sources as image builders leave them: a metadata tarball (any compression, or one with a
// hand-written metadata.yaml), a squashfs and a root.tar.xz holding an ELF binary of a chosen
// machine, a qcow2 disk. Everything is a real file made by the real tools.
import {chmod, mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {ExecutionContext} from 'ava';
import {execa} from 'execa';
import {metadataTarball, qcow2Disk, rootTarXz, squashfsImage, type Compression, type MetadataOptions} from './images.js';

/**
 * The first 64 bytes of a 64-bit little-endian ELF executable for `machine` (62 x86_64, 40 ARM,
 * 3 i386). Every byte is ASCII, so it survives the string-based image builders unchanged.
 */
export function elfHeader(machine: number): string {
	const bytes = Buffer.alloc(64);
	bytes.write('\u007FELF', 0, 'latin1');
	bytes[4] = 2; // ELFCLASS64
	bytes[5] = 1; // little-endian
	bytes[6] = 1; // EV_CURRENT
	bytes.writeUInt16LE(2, 16); // ET_EXEC
	bytes.writeUInt16LE(machine, 18);
	if (bytes.some(b => b > 0x7F)) {
		throw new Error(`machine ${machine} does not fit in ASCII`);
	}

	return bytes.toString('latin1');
}

export const machines = {x86_64: 62, arm: 40, i386: 3} as const;

/** A container root filesystem with one binary for `machine` in usr/bin. */
export const rootTree = (machine: number, tag = 'root') => ({
	'etc/hostname': `${tag}\n`,
	'etc/os-release': `NAME=Acme\nTAG=${tag}\n`,
	'usr/bin/hello': `${elfHeader(machine)}${tag}\n`,
});

export type SourceSpec = {
	metadata?: MetadataOptions & {name?: string};
	squashfs?: string | false;
	rootTar?: string | false;
	qcow2?: string | false;
	machine?: number;
	tag?: string;
};

/** SRC as a builder leaves it; by default lxd.tar.xz (x86_64, 2024-06-01 00:00 UTC) and rootfs.squashfs. */
export async function importSource(dir: string, spec: SourceSpec = {}): Promise<string> {
	await mkdir(dir, {recursive: true});
	const tag = spec.tag ?? path.basename(dir);
	const {name = 'lxd.tar.xz', ...metadata} = spec.metadata ?? {};
	await metadataTarball(path.join(dir, name), {os: 'Acme', release: '3.0', arch: 'amd64', creationDate: 1_717_200_000, seed: tag, ...metadata});
	const machine = spec.machine ?? machines.x86_64;
	if (spec.squashfs !== false) {
		await squashfsImage(path.join(dir, spec.squashfs ?? 'rootfs.squashfs'), rootTree(machine, tag));
	}

	if (spec.rootTar) {
		await rootTarXz(path.join(dir, spec.rootTar), rootTree(machine, tag));
	}

	if (spec.qcow2) {
		await qcow2Disk(path.join(dir, spec.qcow2), {content: `${tag}\n`});
	}

	return dir;
}

const compressors: Record<Exclude<Compression, 'none'>, string[]> = {xz: ['xz', '-c', '-T1'], gzip: ['gzip', '-c', '-n'], bzip2: ['bzip2', '-c'], zstd: ['zstd', '-q', '-c']};

/**
 * A tarball of exactly these entries, in this order: a string is a file, `{symlink}` a symbolic
 * link, `{dir: true}` a directory. For metadata.yaml that is broken in a precise way.
 */
export async function customTarball(dest: string, entries: Array<[string, string | {symlink: string} | {dir: true}]>, compression: Compression = 'xz'): Promise<string> {
	const scratch = await mkdtemp(path.join(tmpdir(), 'ss-custom-'));
	try {
		for (const [name, content] of entries) {
			const target = path.join(scratch, 'tree', name);
			await mkdir(path.dirname(target), {recursive: true});
			if (typeof content === 'string') {
				await writeFile(target, content);
			} else if ('symlink' in content) {
				await symlink(content.symlink, target);
			} else {
				await mkdir(target, {recursive: true});
			}
		}

		const plain = path.join(scratch, 'plain.tar');
		await execa('tar', ['--format=gnu', '--no-recursion', '--owner=0', '--group=0', '-C', path.join(scratch, 'tree'), '-cf', plain, '--', ...entries.map(([name]) => name)]);
		await mkdir(path.dirname(dest), {recursive: true});
		if (compression === 'none') {
			await execa('cp', [plain, dest]);
		} else {
			const [command, ...args] = compressors[compression];
			await execa(command!, args, {inputFile: plain, stdout: {file: dest}});
		}

		return dest;
	} finally {
		await rm(scratch, {recursive: true, force: true});
	}
}

/** Every path under `dir` (files, links and directories, dot-names too), relative and sorted. */
export async function listTree(dir: string): Promise<string[]> {
	const {stdout} = await execa('find', ['.', '-mindepth', '1'], {cwd: dir});
	return stdout.split('\n').filter(Boolean).map(p => p.slice(2)).sort();
}

/** A scratch directory (under `parent`) removed after the test; world-traversable, for the tests that run as nobody. */
export async function scratch(t: ExecutionContext, parent = tmpdir()): Promise<string> {
	const dir = await mkdtemp(path.join(parent, 'ss-import-'));
	await chmod(dir, 0o755);
	t.teardown(async () => {
		await execa('chmod', ['-R', 'u+rwx', dir], {reject: false});
		await rm(dir, {recursive: true, force: true});
	});
	return dir;
}

/** Every regular file under `dir` with its sha256: equal before and after means nothing was lost or changed. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
	const {stdout} = await execa('find', ['.', '-type', 'f', '-exec', 'sha256sum', '{}', '+'], {cwd: dir});
	// Lines read `<64 hex>  ./path`.
	return Object.fromEntries(stdout.split('\n').filter(Boolean).map(line => [line.slice(68), line.slice(0, 64)] as const).sort(([a], [b]) => (a < b ? -1 : 1)));
}
