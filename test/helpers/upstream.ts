// Upstream image servers for the mirror's tests, made by real tools: a tree this project publishes,
// a tree `incus-simplestreams add` makes, and hand-made streams; each served by nginx over HTTPS.
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
