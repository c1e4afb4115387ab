// Upstream image servers for the mirror's tests, made by real tools: a tree this project publishes,
// a tree `incus-simplestreams add` makes, and hand-made streams; each served by nginx over HTTPS.
import {createHash, randomBytes} from 'node:crypto';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {execa} from 'execa';
import {busyboxImage, busyboxRoot, type RootKind} from './busybox.js';
import {metadataTarball, metadataYaml, qcow2Disk, requireTool, tempDir, type MetadataOptions} from './images.js';

export const cli = path.resolve('dist/cli.js');

/** The environment the command runs in: no terminal, no proxy (loopback must not be proxied). */
export function quietEnv(extra: Record<string, string> = {}): Record<string, string> {
	const env: Record<string, string> = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (value !== undefined && !/^(https?|no|all)_proxy$/i.test(key)) {
			env[key] = value;
		}
	}

	return {...env, CI: 'true', ...extra};
}

export type Run = {exitCode: number; stdout: string; stderr: string};

/** `simplestreams ARGS`, never rejecting: the test looks at the exit code. */
export async function simplestreams(args: string[], env: Record<string, string> = {}): Promise<Run> {
	const run = await execa('node', [cli, ...args], {reject: false, env: quietEnv(env), extendEnv: false, stdin: 'ignore', timeout: 240_000});
	return {exitCode: run.exitCode ?? -1, stdout: run.stdout, stderr: run.stderr};
}

export type UpstreamVersion = {os?: string; release: string; variant?: string; arch?: string; version: string; kind: RootKind | 'qcow2'};

/** images/OS/RELEASE/ARCH/VARIANT/VERSION/ with incus.tar.xz and a busybox rootfs (or a qcow2 disk) a daemon boots. */
export async function busyboxVersion(root: string, spec: UpstreamVersion): Promise<string> {
	const {os = 'busybox', variant = 'default', arch = 'amd64'} = spec;
	const dir = path.join(root, 'images', os, spec.release, arch, variant, spec.version);
	const marker = `${os} ${spec.release} ${variant} ${spec.version} ${spec.kind}`;
	await metadataTarball(path.join(dir, 'incus.tar.xz'), {os, release: spec.release, variant, arch, serial: spec.version, seed: marker});
	await (spec.kind === 'qcow2'
		? qcow2Disk(path.join(dir, 'disk.qcow2'), {content: marker})
		: busyboxImage(path.join(dir, spec.kind === 'squashfs' ? 'root.squashfs' : 'root.tar.xz'), spec.kind, {'etc/marker': `${marker}\n`}));
	return dir;
}

/** A web root this project publishes (-N) from busybox versions. */
export async function publishedUpstream(root: string, versions: readonly UpstreamVersion[]): Promise<void> {
	await mkdir(root, {recursive: true});
	for (const spec of versions) {
		await busyboxVersion(root, spec);
	}

	const run = await simplestreams(['-N', root, '--cache', path.join(root, '..', `${path.basename(root)}-cache.json`)]);
	if (run.exitCode !== 0) {
		throw new Error(`publishing the upstream failed: ${run.stderr}`);
	}
}

type Products = {products: Record<string, {versions: Record<string, {items: Record<string, Record<string, unknown>>}>}>};

/** The products file of a web root. */
export async function productsOf(root: string): Promise<Products> {
	return JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as Products;
}

/** Every fingerprint a client would see in a products file (combined fields and unified sha256s). */
export function fingerprintsOf(products: Products): string[] {
	const found = new Set<string>();
	for (const product of Object.values(products.products)) {
		for (const version of Object.values(product.versions)) {
			for (const item of Object.values(version.items)) {
				for (const [field, value] of Object.entries(item)) {
					if ((/^combined_.*sha256$/.test(field) || (/_combined\.tar\.gz$/.test(String(item.ftype)) && field === 'sha256')) && typeof value === 'string') {
						found.add(value);
					}
				}
			}
		}
	}

	return [...found].sort();
}

/** A unified image as `incus publish` writes one: metadata.yaml, templates/ and a busybox rootfs/, gzipped. */
export async function unifiedTarball(file: string, options: MetadataOptions): Promise<string> {
	const scratch = await tempDir('ss-unified');
	try {
		await writeFile(path.join(scratch.path, 'metadata.yaml'), metadataYaml(options));
		await mkdir(path.join(scratch.path, 'templates'));
		await writeFile(path.join(scratch.path, 'templates/hostname.tpl'), '{{ container.name }}\n');
		await busyboxRoot(path.join(scratch.path, 'rootfs'), {'etc/marker': `${options.seed ?? 'unified'}\n`});
		await mkdir(path.dirname(file), {recursive: true});
		await execa('tar', ['-C', scratch.path, '--numeric-owner', '--owner=0', '--group=0', '-czf', file, 'metadata.yaml', 'templates', 'rootfs']);
	} finally {
		await scratch.cleanup();
	}

	return file;
}

/**
 * A web root made by Incus's own `incus-simplestreams add` (Debian incus-extra): flat
 * images/<fingerprint>.<ftype> paths, Incus-only items (incus.tar.xz, incus_combined.tar.gz). One
 * split busybox image and one unified one; versions are named by metadata.yaml's creation_date.
 */
export async function incusSimplestreamsUpstream(root: string): Promise<void> {
	await requireTool('incus-simplestreams');
	const sources = await tempDir('ss-iss-src');
	try {
		await mkdir(root, {recursive: true});
		const meta = await metadataTarball(path.join(sources.path, 'meta.tar.xz'), {os: 'busybox', release: 'split', variant: 'default', arch: 'amd64', serial: '202401010000', seed: 'split'});
		const rootfs = await busyboxImage(path.join(sources.path, 'root.squashfs'), 'squashfs', {'etc/marker': 'split\n'});
		const unified = await unifiedTarball(path.join(sources.path, 'unified.tar.gz'), {os: 'busybox', release: 'whole', variant: 'default', arch: 'amd64', serial: '202401020000', creationDate: 1_704_153_600, seed: 'whole'});
		for (const args of [[meta, rootfs], [unified]]) {
			await execa('incus-simplestreams', ['add', ...args], {cwd: root});
		}
	} finally {
		await sources.cleanup();
	}
}

type File = {path: string; sha256: string; size: number};

async function described(root: string, relative: string): Promise<File> {
	const bytes = await readFile(path.join(root, relative));
	return {path: relative, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length};
}

async function combined(root: string, meta: File, rootfs: File): Promise<string> {
	return createHash('sha256').update(await readFile(path.join(root, meta.path))).update(await readFile(path.join(root, rootfs.path))).digest('hex');
}

export type HandMade = {
	/** The products file as written; change it and call write() to publish a change upstream. */
	products: {products: Record<string, {versions: Record<string, unknown>} & Record<string, unknown>>};
	write(): Promise<void>;
	/** Upstream paths of the files, by role. */
	files: Record<'unified' | 'lxdMeta' | 'lxdRoot' | 'meta3' | 'root3' | 'disk3' | 'otherMeta' | 'otherRoot', File>;
	/** Fingerprints as the clients see them. */
	fingerprints: {unified: string; lxdOnly: string; squashfs3: string; vm3: string; other: string};
};

/**
 * Streams written by hand with paths of any shape, in what the clients read and this project does
 * not write itself: acme 1.0 has a unified version (lxd_combined and incus_combined items on one
 * file), an LXD-only version (lxd.tar.xz alone) and a version with a squashfs, a qcow2 disk, a
 * delta and a manifest; other 2.0 (arm64) has a root.tar.xz of `otherBytes` random bytes.
 */
export async function handMadeUpstream(root: string, otherBytes = 1024 * 1024): Promise<HandMade> {
	const at = (relative: string) => path.join(root, relative);
	await unifiedTarball(at('pool/u/acme-20240101.tar.gz'), {os: 'acme', release: '1.0', arch: 'amd64', serial: '20240101_0000', seed: 'unified'});
	await metadataTarball(at('pool/s/acme-20240102/lxd.tar.xz'), {os: 'acme', release: '1.0', arch: 'amd64', serial: '20240102_0000', seed: 'lxd only'});
	await busyboxImage(at('pool/s/acme-20240102/rootfs.squashfs'), 'squashfs', {'etc/marker': 'lxd only\n'});
	await metadataTarball(at('files/a3/meta.tar.xz'), {os: 'acme', release: '1.0', arch: 'amd64', serial: '20240103_0000', seed: 'three'});
	await busyboxImage(at('files/a3/root.squashfs'), 'squashfs', {'etc/marker': 'three\n'});
	await qcow2Disk(at('files/a3/disk.img'), {content: 'three'});
	await writeFile(at('files/a3/delta.vcdiff'), 'not really a delta');
	await writeFile(at('files/a3/manifest.txt'), 'busybox\n');
	await metadataTarball(at('x/other.meta'), {os: 'other', release: '2.0', arch: 'arm64', serial: '20240101_0000', seed: 'other'});
	const scratch = await tempDir('ss-random');
	try {
		await writeFile(path.join(scratch.path, 'noise'), randomBytes(otherBytes));
		await execa('sh', ['-c', 'tar -C "$1" -cf - noise | xz -0 -T1 > "$2"', 'sh', scratch.path, at('x/other.root')]);
	} finally {
		await scratch.cleanup();
	}

	const files = {
		unified: await described(root, 'pool/u/acme-20240101.tar.gz'),
		lxdMeta: await described(root, 'pool/s/acme-20240102/lxd.tar.xz'),
		lxdRoot: await described(root, 'pool/s/acme-20240102/rootfs.squashfs'),
		meta3: await described(root, 'files/a3/meta.tar.xz'),
		root3: await described(root, 'files/a3/root.squashfs'),
		disk3: await described(root, 'files/a3/disk.img'),
		otherMeta: await described(root, 'x/other.meta'),
		otherRoot: await described(root, 'x/other.root'),
	};
	const fingerprints = {
		unified: files.unified.sha256,
		lxdOnly: await combined(root, files.lxdMeta, files.lxdRoot),
		squashfs3: await combined(root, files.meta3, files.root3),
		vm3: await combined(root, files.meta3, files.disk3),
		other: await combined(root, files.otherMeta, files.otherRoot),
	};
	const item = (ftype: string, file: File, extra: Record<string, string> = {}) => ({ftype, ...file, ...extra});
	const meta3 = {combined_squashfs_sha256: fingerprints.squashfs3, 'combined_disk-kvm-img_sha256': fingerprints.vm3};
	const delta = await described(root, 'files/a3/delta.vcdiff');
	const products: HandMade['products'] = {products: {
		'acme:1.0:amd64:default': {
			aliases: 'acme/1.0,acme/1.0/default', arch: 'amd64', os: 'acme', release: '1.0', release_title: '1.0', variant: 'default', versions: {
				'20240101_0000': {items: {
					'lxd_combined.tar.gz': item('lxd_combined.tar.gz', files.unified),
					'incus_combined.tar.gz': item('incus_combined.tar.gz', files.unified),
				}},
				'20240102_0000': {items: {
					'lxd.tar.xz': item('lxd.tar.xz', files.lxdMeta, {combined_squashfs_sha256: fingerprints.lxdOnly}),
					'root.squashfs': item('squashfs', files.lxdRoot),
				}},
				'20240103_0000': {items: {
					'lxd.tar.xz': item('lxd.tar.xz', files.meta3, meta3),
					'incus.tar.xz': item('incus.tar.xz', files.meta3, meta3),
					'root.squashfs': item('squashfs', files.root3),
					'disk.qcow2': item('disk-kvm.img', files.disk3),
					'root.20240102_0000.vcdiff': item('squashfs.vcdiff', delta, {delta_base: '20240102_0000'}),
					manifest: item('manifest', await described(root, 'files/a3/manifest.txt')),
				}},
			},
		},
		'other:2.0:arm64:default': {
			arch: 'arm64', os: 'other', release: '2.0', release_title: '2.0', variant: 'default', versions: {
				'20240101_0000': {items: {
					'incus.tar.xz': item('incus.tar.xz', files.otherMeta, {combined_rootxz_sha256: fingerprints.other}),
					'root.tar.xz': item('root.tar.xz', files.otherRoot),
				}},
			},
		},
	}};
	const write = async () => {
		await mkdir(at('streams/v1'), {recursive: true});
		await writeFile(at('streams/v1/images.json'), JSON.stringify({content_id: 'images', datatype: 'image-downloads', format: 'products:1.0', ...products}));
		await writeFile(at('streams/v1/index.json'), JSON.stringify({format: 'index:1.0', index: {images: {
			datatype: 'image-downloads', path: 'streams/v1/images.json', format: 'products:1.0', products: Object.keys(products.products).sort(),
		}}}));
	};

	await write();
	return {products, write, files, fingerprints};
}
