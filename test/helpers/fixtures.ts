// Small fixture builders for the unit tests: temp dirs, plain files, and tiny real images made
// with the real tools (tar, xz, mksquashfs, qemu-img). Independent of images.ts on purpose.
import {createHash} from 'node:crypto';
import {chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import test, {type ExecutionContext} from 'ava';
import {execa} from 'execa';
import {roleOf, type Role} from '../../source/domain/ftypes.js';
import type {PipelineEvent} from '../../source/pipeline/events.js';
import type {ImageFile, ProductRef, ScannedProduct, ScannedVersion} from '../../source/domain/tree.js';

/** A fresh directory under os.tmpdir(), removed when the test ends. World-traversable (see asNobody). */
export async function tempDir(t: ExecutionContext, prefix = 'ss-test'): Promise<string> {
	const dir = await mkdtemp(path.join(tmpdir(), `${prefix}-`));
	await chmod(dir, 0o755);
	t.teardown(async () => {
		// Undo any chmod 000 a test left behind, then remove.
		await execa('chmod', ['-R', 'u+rwx', dir], {reject: false});
		await rm(dir, {recursive: true, force: true});
	});
	return dir;
}

/** Write `files` (relative path → content) below `dir`, creating parent directories. */
export async function writeFiles(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
	for (const [rel, content] of Object.entries(files)) {
		const target = path.join(dir, rel);
		await mkdir(path.dirname(target), {recursive: true});
		await writeFile(target, content);
	}
}

/** Collects every pipeline event, with typed filters. */
export function collector() {
	const events: PipelineEvent[] = [];
	const of = <T extends PipelineEvent['type']>(type: T) => events.filter((e): e is Extract<PipelineEvent, {type: T}> => e.type === type);
	return {events, emit: (event: PipelineEvent) => events.push(event), of};
}

export const sha256 = (...parts: Uint8Array[]) => {
	const hash = createHash('sha256');
	for (const part of parts) {
		hash.update(part);
	}

	return hash.digest('hex');
};

export const sha256File = async (...files: string[]) => sha256(...await Promise.all(files.map(async f => readFile(f))));

const tarFlags = ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner'];

/** A tar archive of `files` at `dest` (format gnu, ustar, posix or v7). */
export async function tarball(dest: string, files: Record<string, string>, format = 'gnu'): Promise<string> {
	const scratch = await mkdtemp(path.join(tmpdir(), 'ss-tar-'));
	try {
		await writeFiles(scratch, files);
		await mkdir(path.dirname(dest), {recursive: true});
		await execa('tar', [`--format=${format}`, ...tarFlags, '-cf', dest, '-C', scratch, ...Object.keys(files).sort()]);
		return dest;
	} finally {
		await rm(scratch, {recursive: true, force: true});
	}
}

export type Compressor = 'xz' | 'gzip' | 'bzip2' | 'zstd';

const compressors: Record<Compressor, string[]> = {
	xz: ['xz', '-c', '-T1'],
	gzip: ['gzip', '-c', '-n'],
	bzip2: ['bzip2', '-c'],
	zstd: ['zstd', '-q', '-c'],
};

/** A compressed tarball of `files` at `dest` (the name is free; content is what counts). */
export async function compressedTarball(dest: string, files: Record<string, string>, compressor: Compressor = 'xz'): Promise<string> {
	const plain = `${dest}.plain.tar`;
	await tarball(plain, files);
	const [cmd, ...args] = compressors[compressor];
	await execa(cmd!, [...args, plain], {stdout: {file: dest}});
	await rm(plain);
	return dest;
}

export const metadataYaml = (serial: string) => [
	'architecture: x86_64',
	'creation_date: 1704067200',
	'properties:',
	'  os: Acme',
	'  release: "1.0"',
	`  serial: "${serial}"`,
	'',
].join('\n');

/** A real xz-compressed metadata tarball; `tag` makes its bytes unique. */
export async function metaTarball(dest: string, tag = 'meta'): Promise<string> {
	return compressedTarball(dest, {'metadata.yaml': metadataYaml(tag)});
}

/** A real squashfs image holding a tiny root filesystem. */
export async function squashfs(dest: string, tag = 'root'): Promise<string> {
	const scratch = await mkdtemp(path.join(tmpdir(), 'ss-sqfs-'));
	try {
		await writeFiles(scratch, {'etc/hostname': `${tag}\n`, 'etc/os-release': `NAME=Acme\nTAG=${tag}\n`});
		await mkdir(path.dirname(dest), {recursive: true});
		await execa('mksquashfs', [scratch, dest, '-noappend', '-quiet', '-no-progress', '-all-root', '-mkfs-time', '0', '-all-time', '0']);
		return dest;
	} finally {
		await rm(scratch, {recursive: true, force: true});
	}
}

/** A real qcow2 disk (tiny virtual size). */
export async function qcow2(dest: string, size = '1M'): Promise<string> {
	await mkdir(path.dirname(dest), {recursive: true});
	await execa('qemu-img', ['create', '-q', '-f', 'qcow2', dest, size]);
	return dest;
}

/** A real xz-compressed rootfs tarball with entries relative to / (no rootfs/ prefix). */
export async function rootTarXz(dest: string, tag = 'root'): Promise<string> {
	return compressedTarball(dest, {'etc/hostname': `${tag}\n`});
}

/** Whether this process bypasses file permissions (root with CAP_DAC_OVERRIDE). */
export const permissionsIgnored = () => process.getuid?.() === 0;

export const nobody = {uid: 65534, gid: 65534};

/** Absolute file URL of a compiled module under dist/, for scripts run in a child process. */
export const distModule = (rel: string) => new URL(`../../${rel}`, import.meta.url).href;

export const distPath = (rel: string) => fileURLToPath(distModule(rel));

/**
 * Run an ESM snippet in a child node as user nobody, so that chmod is enforced even when the tests
 * run as root. The snippet's stdout (one JSON document) is parsed and returned.
 */
export async function asNobody<T>(dir: string, source: string): Promise<T> {
	const script = path.join(dir, `child-${Math.random().toString(16).slice(2)}.mjs`);
	await writeFile(script, source, {mode: 0o644});
	const result = await execa(process.execPath, [script], {...(process.getuid?.() === 0 ? nobody : {}), cwd: dir, env: {HOME: dir}});
	return JSON.parse(result.stdout) as T;
}

export async function mtimeNs(file: string): Promise<bigint> {
	return (await stat(file, {bigint: true})).mtimeNs;
}

export const sleep = async (ms: number) => new Promise(resolve => {
	setTimeout(resolve, ms);
});

/** `touch -d` argument for an exact nanosecond timestamp. */
export const touchStamp = (ns: bigint) => `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;

/**
 * Rewrite a file in place with different bytes of the same size and put its mtime back exactly
 * (to the nanosecond), so only the ctime tells the change. The pause crosses the kernel's coarse
 * timestamp tick, so the ctime really moves.
 */
export async function rewriteSameSize(file: string, mutate: (bytes: Buffer) => void): Promise<void> {
	const before = await stat(file, {bigint: true});
	const bytes = await readFile(file);
	mutate(bytes);
	await sleep(25);
	await writeFile(file, bytes);
	await execa('touch', ['-m', '-d', touchStamp(before.mtimeNs), file]);
}

/** A mutation for rewriteSameSize: invert the last byte (squashfs padding, qcow2 tail: the magic stays). */
export const flipLastByte = (bytes: Buffer) => {
	const last = bytes.length - 1;
	bytes.writeUInt8(bytes.readUInt8(last) ^ 0xff, last);
};

export type BuiltTree = {root: string; versions: Record<string, string[]>};

/**
 * A small web root of real images: a container product (squashfs + root.tar.xz sharing one
 * incus.tar.xz), a VM product (qcow2), and an arm64 product whose only metadata is lxd.tar.xz.
 */
export async function imageTree(root: string): Promise<BuiltTree> {
	const container = 'images/acme/1.0/amd64/default/20240101_0000';
	const vm = 'images/acme/1.0/amd64/default-vm/20240101_0000';
	const arm = 'images/acme/1.0/arm64/default/20240101_0000';
	await Promise.all([
		metaTarball(path.join(root, container, 'incus.tar.xz'), 'container'),
		squashfs(path.join(root, container, 'root.squashfs'), 'container'),
		rootTarXz(path.join(root, container, 'root.tar.xz'), 'container'),
		metaTarball(path.join(root, vm, 'incus.tar.xz'), 'vm'),
		qcow2(path.join(root, vm, 'disk.qcow2')),
		metaTarball(path.join(root, arm, 'lxd.tar.xz'), 'arm'),
		squashfs(path.join(root, arm, 'root.squashfs'), 'arm'),
	]);
	return {
		root,
		versions: {
			[container]: ['incus.tar.xz', 'root.squashfs', 'root.tar.xz'],
			[vm]: ['incus.tar.xz', 'disk.qcow2'],
			[arm]: ['lxd.tar.xz', 'root.squashfs'],
		},
	};
}

/**
 * A web root with one good version (images/acme/1.0/amd64/default/20240101_0000), and a runner of
 * `-N --plain` on it whose digest cache is private (XDG_CACHE_HOME `xdg`, in the test's directory).
 */
export async function oneVersionRoot(t: ExecutionContext) {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	const xdg = path.join(dir, 'xdg');
	const good = path.join(root, 'images/acme/1.0/amd64/default/20240101_0000');
	await Promise.all([metaTarball(path.join(good, 'incus.tar.xz')), squashfs(path.join(good, 'root.squashfs'))]);
	const run = async (args: string[] = []) => execa(process.execPath, [distPath('cli.js'), '-N', '--plain', ...args, root], {
		reject: false,
		stdin: 'ignore',
		timeout: 100_000,
		env: {XDG_CACHE_HOME: xdg},
	});
	const published = async () => JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as {products: Record<string, {versions: Record<string, unknown>; aliases: string; requirements?: Record<string, string>}>};
	return {dir, root, xdg, run, published};
}

/** The imageTree a test file copies from: built before its first test, removed after its last. */
export function templateTree(prefix: string): () => BuiltTree {
	let template: BuiltTree | undefined;
	test.before(async () => {
		template = await imageTree(await mkdtemp(path.join(tmpdir(), `${prefix}-template-`)));
	});
	test.after.always(async () => {
		if (template) {
			await rm(template.root, {recursive: true, force: true});
		}
	});
	return () => template!;
}

/** Copy a built tree (cp -a keeps the bytes and the times); the copy's top stays world-traversable. */
export async function copyTree(from: string, to: string): Promise<void> {
	await execa('cp', ['-a', `${from}/.`, to]);
	await chmod(to, 0o755);
}

/**
 * The bundled example tree into `root` (made if missing) as the repository holds it: its images only,
 * never the streams and page that `npm start` publishes beside them in the checkout.
 */
export async function copyExample(root: string): Promise<void> {
	const images = path.join(root, 'images');
	await mkdir(images, {recursive: true});
	await copyTree(distPath('../examples/webroot/images'), images);
	await chmod(root, 0o755);
}

// Constructed pipeline values for the pure stages (plan, catalog): no files behind them.

let inode = 1000;

/** An ImageFile named by its path's last component (which gives its role), of `size` bytes. */
export function imageFile(path: string, size: number, role?: Role): ImageFile {
	const name = path.slice(path.lastIndexOf('/') + 1);
	const resolved = role ?? roleOf(name);
	if (!resolved) {
		throw new Error(`no role for ${name}`);
	}

	return {path, absolute: `/nonexistent/${path}`, role: resolved, identity: {dev: 1, ino: inode++, size, mtimeMs: 0, ctimeMs: 0}};
}

export function productRef(os: string, release: string, arch: string, variant: string): ProductRef {
	return {id: `${os}:${release}:${arch}:${variant}`, os, release, arch, variant, path: `images/${os}/${release}/${arch}/${variant}`};
}

/** A scanned product whose versions hold files `name → size`. */
export function product(ref: ProductRef, versions: Record<string, Record<string, number>>, extra: Partial<ScannedProduct> = {}): ScannedProduct {
	const scanned: ScannedVersion[] = Object.entries(versions).map(([name, files]) => ({
		product: ref,
		name,
		path: `${ref.path}/${name}`,
		files: Object.entries(files).map(([file, size]) => imageFile(`${ref.path}/${name}/${file}`, size)),
	}));
	return {ref, requirements: {}, aliases: [], versions: scanned, ...extra};
}

/** A stand-in digest, distinct per label. */
export const digest = (label: string) => sha256(Buffer.from(label));
