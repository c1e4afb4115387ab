// A web root of busybox versions built by real tools, published by the command line, served by the
// README's nginx to a test daemon (helpers/daemon.ts) as a remote of its own, and the checks every
// daemon passes on it: the same tree launches under Incus and under LXD.
import {readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {execa} from 'execa';
import {busyboxImage, type RootKind} from './busybox.js';
import {sha256File, sha256Files} from './clients.js';
import {baseImage, exec, launch, project, unique, type Daemon} from './daemon.js';
import {metadataTarball, qcow2Disk, tempDir} from './images.js';
import {serve, type Server} from './server.js';

export type Version = {dir: string; meta: string; root: string};

/** images/busybox/RELEASE/amd64/VARIANT/VERSION with a metadata tarball and one rootfs or disk. */
export async function version(webroot: string, release: string, name: string, kind: RootKind | 'qcow2', options: {variant?: string; marker?: string} = {}): Promise<Version> {
	const variant = options.variant ?? 'default';
	const dir = path.join(webroot, 'images/busybox', release, 'amd64', variant, name);
	const marker = options.marker ?? `${release} ${variant} ${name} ${kind}`;
	const meta = await metadataTarball(path.join(dir, 'incus.tar.xz'), {os: 'busybox', release, variant, arch: 'amd64', serial: name, seed: marker});
	const root = kind === 'qcow2'
		? await qcow2Disk(path.join(dir, 'disk.qcow2'), {content: marker})
		: await busyboxImage(path.join(dir, kind === 'squashfs' ? 'root.squashfs' : 'root.tar.xz'), kind, {'etc/marker': `${marker}\n`});
	return {dir, meta, root};
}

/** `simplestreams -N FLAGS ROOT`, which must succeed; the daemon then forgets the indexes it read before. */
export async function publish(t: ExecutionContext, daemon: Daemon, webroot: string, ...flags: string[]): Promise<void> {
	const run = await execa('node', [path.resolve('dist/cli.js'), '-N', ...flags, webroot, '--cache', path.join(webroot, '..', 'cache.json')], {reject: false, env: {CI: 'true'}});
	t.is(run.exitCode, 0, run.stderr);
	await daemon.forgetIndexes();
}

/** A tree served to the daemon as remote `name`, over the daemon's CA (or `pin`ned). */
export async function served(t: ExecutionContext, daemon: Daemon, webroot: string, server?: Server): Promise<{name: string; server: Server}> {
	const name = unique('tree');
	const used = server ?? await serve(webroot, {ca: daemon.ca});
	t.teardown(async () => used.stop());
	await daemon.addRemote(name, used.url);
	return {name, server: used};
}

type LocalImage = {fingerprint: string; size: number; type: string; properties: Record<string, string>; aliases: Array<{name: string}>};

const localImage = async (daemon: Daemon, fingerprint: string) =>
	JSON.parse((await daemon.client(['query', `/1.0/images/${fingerprint}?project=${project}`])).stdout) as LocalImage;

/** A fresh web root with one version of `kind`, published and served to the daemon. */
async function publishedVersion(t: ExecutionContext, daemon: Daemon, kind: RootKind | 'qcow2', variant?: string): Promise<Version & {remote: string}> {
	const tmp = await tempDir('ss-daemon');
	t.teardown(async () => tmp.cleanup());
	const webroot = path.join(tmp.path, 'webroot');
	const built = await version(webroot, '1.36', '20240601_00:00', kind, {variant});
	if (kind === 'qcow2') {
		await writeFile(path.join(built.dir, '..', '.lxd_requirements'), '{"secureboot": "false"}\n');
	}

	await publish(t, daemon, webroot);
	return {...built, remote: (await served(t, daemon, webroot)).name};
}

/** A container launched from a published rootfs of `kind` runs: exec works and the hostname template was applied. */
export const launchesContainer = test.macro({
	async exec(t, daemon: () => Daemon, kind: RootKind) {
		const built = await publishedVersion(t, daemon(), kind);
		const instance = await launch(t, daemon(), `${built.remote}:busybox/1.36`);
		t.is(await exec(daemon(), instance, 'head', '-n1', '/etc/hostname'), instance, 'the /etc/hostname template ran at create');
		t.is(await exec(daemon(), instance, 'cat', '/etc/marker'), `1.36 default 20240601_00:00 ${kind}`);
		t.is(await baseImage(daemon(), instance), await sha256Files([built.meta, built.root]));
	},
	title: (_provided, _daemon, kind) => `a ${kind} container is launched: exec works and the hostname template is applied`,
});

/** A published VM image is copied with --vm (no KVM here to boot it) as the files it was published from. */
export const copiesVm = test.macro({
	async exec(t, daemon: () => Daemon) {
		const built = await publishedVersion(t, daemon(), 'qcow2', 'vm');
		await daemon().client(['image', 'copy', `${built.remote}:busybox/1.36/vm`, 'local:', '--vm']);
		const fingerprint = await sha256Files([built.meta, built.root]);
		const image = await localImage(daemon(), fingerprint);
		t.is(image.type, 'virtual-machine');
		t.is(image.size, (await readFile(built.meta)).length + (await readFile(built.root)).length);
		t.is(image.properties['requirements.secureboot'], 'false');
		t.is(await sha256File(path.join(daemon().dir, 'images', fingerprint)), await sha256File(built.meta));
		t.is(await sha256File(path.join(daemon().dir, 'images', `${fingerprint}.rootfs`)), await sha256File(built.root));
	},
	title: () => 'a VM image is copied with --vm: its fingerprint, stored files, size and requirements are the published ones',
});
