// The final truth for a mirror: a real Incus daemon downloads from the mirror (served by the nginx
// the README documents), checks every digest, and launches a container with upstream's fingerprint.
import {mkdir} from 'node:fs/promises';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {baseImage, exec, launch, startDaemon, unique, type Daemon} from './helpers/daemon.js';
import {tempDir} from './helpers/images.js';
import {serve} from './helpers/server.js';
import {fingerprintsOf, incusSimplestreamsUpstream, productsOf, publishedUpstream, simplestreams} from './helpers/upstream.js';

let daemon: Daemon;

test.before(async () => {
	daemon = await startDaemon();
});

test.after.always(async () => {
	await daemon?.stop();
});

/** Mirrors `upstreamRoot` into a new root, serves the mirror to the daemon as a remote, and returns its name. */
async function mirrored(t: ExecutionContext, dir: string, upstreamRoot: string): Promise<string> {
	const upstream = await serve(upstreamRoot);
	t.teardown(async () => upstream.stop());
	const mirrorRoot = path.join(dir, 'mirror');
	await mkdir(mirrorRoot);
	const run = await simplestreams(['mirror', '-N', '--ca', upstream.caFile, upstream.url, mirrorRoot]);
	t.is(run.exitCode, 0, run.stderr);
	await upstream.stop(); // The daemon reaches the mirror only.
	const served = await serve(mirrorRoot, {ca: daemon.ca});
	t.teardown(async () => served.stop());
	const name = unique('mirror');
	await daemon.addRemote(name, served.url);
	return name;
}

test.serial('a container is launched from the mirror of a tree this project publishes, with upstream\'s fingerprint', async t => {
	const tmp = await tempDir('ss-mirror-daemon');
	t.teardown(async () => tmp.cleanup());
	const upstreamRoot = path.join(tmp.path, 'upstream');
	await publishedUpstream(upstreamRoot, [{release: '1.36', version: '20240601_00:00', kind: 'squashfs'}]);
	const [fingerprint] = fingerprintsOf(await productsOf(upstreamRoot));
	const name = await mirrored(t, tmp.path, upstreamRoot);

	const instance = await launch(t, daemon, `${name}:busybox/1.36`);
	t.is(await exec(daemon, instance, 'cat', '/etc/marker'), 'busybox 1.36 default 20240601_00:00 squashfs');
	t.is(await baseImage(daemon, instance), fingerprint!);
});

test.serial('a unified image incus-simplestreams published upstream is launched from the mirror, its fingerprint kept', async t => {
	const tmp = await tempDir('ss-mirror-daemon');
	t.teardown(async () => tmp.cleanup());
	const upstreamRoot = path.join(tmp.path, 'upstream');
	await incusSimplestreamsUpstream(upstreamRoot);
	const products = await productsOf(upstreamRoot);
	const unified = Object.values(products.products['busybox:whole:default:amd64']!.versions)[0]!.items['incus_combined.tar.gz']!.sha256 as string;
	const name = await mirrored(t, tmp.path, upstreamRoot);

	const instance = await launch(t, daemon, `${name}:busybox/whole/default`);
	t.is(await exec(daemon, instance, 'cat', '/etc/marker'), 'whole');
	t.is(await baseImage(daemon, instance), unified);
});
