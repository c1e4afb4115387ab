// The final truth for a published tree: a real Incus daemon downloads every file over TLS 1.3 from
// the nginx the README documents, checks both digests, unpacks the image and launches it. One
// daemon serves every test here (helpers/daemon.ts); each test has its own web root and remote.
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {execa} from 'execa';
import {busyboxImage} from './helpers/busybox.js';
import {sha256File, sha256Files} from './helpers/clients.js';
import {baseImage, exec, launch, startDaemon, unique, type Daemon} from './helpers/daemon.js';
import {copiesVm, launchesContainer, publish, served, version} from './helpers/daemon-tree.js';
import {tempDir} from './helpers/images.js';
import {selfSigned, serve} from './helpers/server.js';

let daemon: Daemon;

test.before(async () => {
	daemon = await startDaemon();
});

test.after.always(async () => {
	await daemon?.stop();
});

test.serial(launchesContainer, () => daemon, 'squashfs');
test.serial(launchesContainer, () => daemon, 'root.tar.xz');
test.serial(copiesVm, () => daemon);

test.serial('aliases resolve to the newest version, containers and VMs apart', async t => {
	const tmp = await tempDir('ss-daemon');
	t.teardown(async () => tmp.cleanup());
	const webroot = path.join(tmp.path, 'webroot');
	const oldContainer = await version(webroot, '2.0', '20240601_00:00', 'squashfs');
	const vm = await version(webroot, '2.0', '20240601_00:00', 'qcow2', {marker: 'vm of 0601'});
	// The VM disk shares its version's metadata tarball.
	await writeFile(vm.meta, await readFile(oldContainer.meta));
	const newContainer = await version(webroot, '2.0', '20240701_00:00', 'squashfs');
	await publish(t, daemon, webroot);
	const {name} = await served(t, daemon, webroot);

	const container = await launch(t, daemon, `${name}:busybox/2.0`);
	t.is(await baseImage(daemon, container), await sha256Files([newContainer.meta, newContainer.root]));
	t.is(await exec(daemon, container, 'cat', '/etc/marker'), '2.0 default 20240701_00:00 squashfs');
	const alias = unique('vm');
	await daemon.client(['image', 'copy', `${name}:busybox/2.0`, 'local:', '--vm', '--alias', alias]);
	const copied = (await daemon.client(['image', 'info', alias])).stdout;
	t.regex(copied, new RegExp(`Fingerprint: ${await sha256Files([oldContainer.meta, vm.root])}`), 'the newest VM is the older version\'s');
	t.regex(copied, /Type: virtual-machine/);
});

test.serial('image refresh fetches the squashfs.vcdiff delta, not the whole rootfs, and the result is byte-identical', async t => {
	const tmp = await tempDir('ss-daemon');
	t.teardown(async () => tmp.cleanup());
	const webroot = path.join(tmp.path, 'webroot');
	await version(webroot, '3.0', '20240601_00:00', 'squashfs');
	await publish(t, daemon, webroot, '--deltas');
	const {name, server} = await served(t, daemon, webroot);
	const alias = unique('refresh');
	await daemon.client(['image', 'copy', `${name}:busybox/3.0`, 'local:', '--alias', alias, '--auto-update']);

	const next = await version(webroot, '3.0', '20240701_00:00', 'squashfs');
	await publish(t, daemon, webroot, '--deltas');
	const delta = (await readdir(next.dir)).find(f => f.endsWith('.vcdiff'));
	t.truthy(delta, 'the generator made a delta');
	const logged = (await readFile(server.accessLog, 'utf8')).length;
	await daemon.client(['image', 'refresh', alias]);

	const fingerprint = await sha256Files([next.meta, next.root]);
	t.regex((await daemon.client(['image', 'info', alias])).stdout, new RegExp(`Fingerprint: ${fingerprint}`));
	const fetched = (await readFile(server.accessLog, 'utf8')).slice(logged).split('\n').filter(line => / 200 /.test(line));
	t.true(fetched.some(line => line.includes(`20240701_00:00/${delta!}`)), fetched.join('\n'));
	t.false(fetched.some(line => line.includes('20240701_00:00/root.squashfs')), fetched.join('\n'));
	t.is(await sha256File(path.join(daemon.dir, 'images', `${fingerprint}.rootfs`)), await sha256File(next.root));
});

test.serial('a tree served with a self-signed certificate is launched once the certificate is pinned', async t => {
	const tmp = await tempDir('ss-daemon');
	t.teardown(async () => tmp.cleanup());
	const webroot = path.join(tmp.path, 'webroot');
	await version(webroot, '4.0', '20240601_00:00', 'squashfs');
	await publish(t, daemon, webroot);
	const ca = await selfSigned(tmp.path);
	const server = await serve(webroot, {ca});
	t.teardown(async () => server.stop());

	const unpinned = unique('unpinned');
	await daemon.addRemote(unpinned, server.url);
	const refused = await daemon.client(['launch', `${unpinned}:busybox/4.0`, unique('c')], {reject: false});
	t.not(refused.exitCode, 0, 'neither the client nor the daemon trusts the certificate unpinned');

	const pinned = unique('pinned');
	await daemon.addRemote(pinned, server.url, ca.certFile);
	const instance = await launch(t, daemon, `${pinned}:busybox/4.0`);
	t.is(await exec(daemon, instance, 'head', '-n1', '/etc/hostname'), instance);
});

/** `simplestreams -i SRC -N --yes FLAGS ROOT`, which must succeed. */
async function importInto(t: ExecutionContext, source: string, webroot: string, ...flags: string[]): Promise<string> {
	const run = await execa('node', [path.resolve('dist/cli.js'), '-i', source, '-N', '--yes', ...flags, webroot, '--cache', path.join(webroot, '..', 'cache.json')], {reject: false, env: {CI: 'true'}});
	t.is(run.exitCode, 0, run.stderr);
	await daemon.forgetIndexes();
	return run.stderr;
}

test.serial('the round trip: launch, change, publish, export the unified image, import it, launch the new image from the server', async t => {
	const tmp = await tempDir('ss-daemon');
	t.teardown(async () => tmp.cleanup());
	const webroot = path.join(tmp.path, 'webroot');
	await version(webroot, '5.0', '20240601_00:00', 'squashfs');
	await publish(t, daemon, webroot);
	const {name} = await served(t, daemon, webroot);
	const first = await launch(t, daemon, `${name}:busybox/5.0`);
	await exec(daemon, first, 'sh', '-c', 'echo changed in the container > /etc/marker');
	await daemon.client(['stop', '--force', first]);
	const alias = unique('published');
	await daemon.client(['publish', first, '--alias', alias]);
	const exported = path.join(tmp.path, 'export');
	await mkdir(exported);
	await daemon.client(['image', 'export', alias, `${exported}/`]);
	const [unified, ...more] = await readdir(exported);
	t.deepEqual(more, [], `incus publish made one unified tarball: ${unified!}`);

	const said = await importInto(t, exported, webroot, '--release', '5.0', '--variant', 'changed', '--version', '20240801_00:00');
	t.regex(said, /imported images\/busybox\/5\.0\/amd64\/changed\/20240801_00:00/);
	t.deepEqual((await readdir(path.join(webroot, 'images/busybox/5.0/amd64/changed/20240801_00:00'))).sort(), ['incus.tar.xz', 'root.squashfs']);
	t.deepEqual(await readdir(exported), [unified], 'the unified tarball stays where it was');
	const second = await launch(t, daemon, `${name}:busybox/5.0/changed`);
	t.is(await exec(daemon, second, 'cat', '/etc/marker'), 'changed in the container');
	t.is(await exec(daemon, second, 'head', '-n1', '/etc/hostname'), second);
});

test.serial('a split export (its files named after the fingerprint) and a bare rootfs are imported and launched', async t => {
	const tmp = await tempDir('ss-daemon');
	t.teardown(async () => tmp.cleanup());
	// The split image comes from another server, as when an image moves between two.
	const elsewhere = path.join(tmp.path, 'elsewhere');
	const built = await version(elsewhere, '6.0', '20240601_00:00', 'squashfs');
	await publish(t, daemon, elsewhere);
	const other = await served(t, daemon, elsewhere);
	const alias = unique('split');
	await daemon.client(['image', 'copy', `${other.name}:busybox/6.0`, 'local:', '--alias', alias]);
	const exported = path.join(tmp.path, 'export');
	await mkdir(exported);
	await daemon.client(['image', 'export', alias, `${exported}/`]);
	const fingerprint = await sha256Files([built.meta, built.root]);
	t.deepEqual((await readdir(exported)).sort(), [`${fingerprint}.squashfs`, `meta-${fingerprint}.tar.xz`]);
	await daemon.client(['image', 'delete', alias]); // so the launch below downloads it again

	const webroot = path.join(tmp.path, 'webroot');
	await mkdir(webroot);
	await importInto(t, exported, webroot, '--version', '20240801_00:00');
	const bare = path.join(tmp.path, 'bare');
	await busyboxImage(path.join(bare, 'rootfs.squashfs'), 'squashfs', {'etc/marker': 'bare\n'});
	await importInto(t, bare, webroot, '--os', 'busybox', '--release', '6.0', '--variant', 'bare', '--version', '20240801_00:00');
	const {name} = await served(t, daemon, webroot);
	const fromExport = await launch(t, daemon, `${name}:busybox/6.0`);
	t.is(await baseImage(daemon, fromExport), fingerprint, 'the same image, published from the export');
	t.is(await exec(daemon, fromExport, 'cat', '/etc/marker'), '6.0 default 20240601_00:00 squashfs');

	const fromBare = await launch(t, daemon, `${name}:busybox/6.0/bare`);
	t.is(await exec(daemon, fromBare, 'cat', '/etc/marker'), 'bare');
	t.is(await exec(daemon, fromBare, 'head', '-n1', '/etc/hostname'), fromBare, 'the written metadata carries the hostname template');
	t.regex(await exec(daemon, fromBare, 'cat', '/etc/hosts'), new RegExp(`127\\.0\\.1\\.1\\s+${fromBare}`));
});
