// The final truth for a bucket as an image server: a real Incus daemon (helpers/daemon.ts) takes the
// bucket's HTTPS endpoint on a real Ceph RADOS Gateway (helpers/ceph.ts) as its remote, downloads
// the files there, checks both digests and launches the container.
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {busyboxImage} from './helpers/busybox.js';
import {startCeph, type ObjectStore} from './helpers/ceph.js';
import {sha256Files} from './helpers/clients.js';
import {startDaemon, project, type Daemon} from './helpers/daemon.js';
import {metadataTarball, tempDir, type TempDir} from './helpers/images.js';

let daemon: Daemon | undefined;
let store: ObjectStore | undefined;
let tmp: TempDir | undefined;

test.before(async () => {
	tmp = await tempDir('ss-publish-daemon');
	daemon = await startDaemon();
	store = await startCeph({ca: daemon.ca});
});

test.after.always(async () => {
	await store?.stop();
	await daemon?.stop();
	await tmp?.cleanup();
});

test('a container is launched from a tree published to a bucket', async t => {
	const webroot = path.join(tmp!.path, 'webroot');
	const dir = path.join(webroot, 'images/busybox/1.36/amd64/default/20240601_00:00');
	const meta = await metadataTarball(path.join(dir, 'incus.tar.xz'), {os: 'busybox', release: '1.36', variant: 'default', arch: 'amd64', serial: '20240601_00:00', seed: 'bucket'});
	const root = await busyboxImage(path.join(dir, 'root.squashfs'), 'squashfs', {'etc/marker': 'from the bucket\n'});
	await store!.bucket('launch');
	const published = await execa('node', [path.resolve('dist/cli.js'), '-N', '--to', 's3://launch/images-server', webroot, '--cache', path.join(tmp!.path, 'cache.json')], {reject: false, env: {CI: 'true', ...store!.env}});
	t.is(published.exitCode, 0, published.stderr);

	const remote = `bucket-${process.pid}`;
	await daemon!.addRemote(remote, `${store!.url}/launch/images-server`);
	const instance = `c-bucket-${process.pid}`;
	t.teardown(async () => {
		await daemon!.client(['delete', '--force', instance], {reject: false});
	});
	await daemon!.client(['launch', `${remote}:busybox/1.36`, instance]);
	t.is((await daemon!.client(['exec', instance, '--', 'cat', '/etc/marker'])).stdout.trim(), 'from the bucket');
	const config = JSON.parse((await daemon!.client(['query', `/1.0/instances/${instance}?project=${project}`])).stdout) as {config: Record<string, string>};
	t.is(config.config['volatile.base_image'], await sha256Files([meta, root]));
});
