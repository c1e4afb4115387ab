// The mirror against a hand-made upstream (unified items, an LXD-only version, deltas, a manifest,
// paths of any shape): filters and --keep, both clients served, a corrupted file refused while the
// rest publishes, a download killed halfway resumed with a Range request, and a version upstream
// removed retiring with grace.
import {mkdir, readdir, readFile, stat} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {planMirror} from '../source/mirror/plan.js';
import type {Product} from '../source/streams/model.js';
import {remote} from './helpers/clients.js';
import {flipLastByte, rewriteSameSize, tempDir} from './helpers/fixtures.js';
import {makeCa, serve} from './helpers/server.js';
import {cli, handMadeUpstream, productsOf, quietEnv, simplestreams} from './helpers/upstream.js';

const acme = 'images/acme/1.0/amd64/default';

const versionsOf = async (root: string) => Object.fromEntries(Object.entries((await productsOf(root)).products).map(([id, p]) => [id, Object.keys(p.versions).sort()]));

test('filters and --keep choose what is fetched; a full mirror serves every image to both clients, the LXD-only and unified ones too', async t => {
	const dir = await tempDir(t, 'ss-mirror');
	const upstreamRoot = path.join(dir, 'upstream');
	const upstream = await handMadeUpstream(upstreamRoot);
	const server = await serve(upstreamRoot);
	t.teardown(async () => server.stop());
	const mirrorRoot = path.join(dir, 'mirror');

	const dry = await simplestreams(['mirror', '--filter', 'os=acme', '--filter', 'type=container', '--keep', '2', '--ca', server.caFile, server.url, dir]);
	t.is(dry.exitCode, 0, dry.stderr);
	t.regex(dry.stdout, new RegExp(`fetch {3}${acme}/20240103_0000 \\(2 files`));
	t.regex(dry.stdout, /lxd\.tar\.xz, incus\.tar\.xz {2}<- files\/a3\/meta\.tar\.xz/);
	t.regex(dry.stdout, new RegExp(`fetch {3}${acme}/20240102_0000 \\(2 files`));
	t.notRegex(dry.stdout, /20240101_0000|other|disk/);
	t.regex(dry.stdout, /skip {4}acme:1\.0:amd64:default 20240103_0000 root\.20240102_0000\.vcdiff: a delta/);
	t.regex(dry.stdout, /skip {4}acme:1\.0:amd64:default 20240103_0000 manifest: ftype "manifest" is not mirrored/);

	await mkdir(mirrorRoot);
	const run = await simplestreams(['mirror', '-N', '--ca', server.caFile, server.url, mirrorRoot]);
	t.is(run.exitCode, 0, run.stderr);
	t.deepEqual(await readdir(path.join(mirrorRoot, acme, '20240101_0000')), ['lxd_combined.tar.gz']);
	t.deepEqual((await readdir(path.join(mirrorRoot, acme, '20240103_0000'))).sort(), ['disk.qcow2', 'lxd.tar.xz', 'root.squashfs']);
	const expected = Object.values(upstream.fingerprints).sort();
	const served = await serve(mirrorRoot);
	t.teardown(async () => served.stop());
	for (const kind of ['lxc', 'incus'] as const) {
		const client = await remote(kind, served.url, served.caFile);
		t.teardown(async () => client.close());
		t.deepEqual((await client.list()).map(image => image.fingerprint).sort(), expected, `${kind} lists every upstream image with its fingerprint`);
	}
});

test('a corrupted upstream file is refused and named, the rest is published; fixed upstream, the next pass places it', async t => {
	const dir = await tempDir(t, 'ss-mirror');
	const upstreamRoot = path.join(dir, 'upstream');
	const upstream = await handMadeUpstream(upstreamRoot);
	await rewriteSameSize(path.join(upstreamRoot, upstream.files.root3.path), flipLastByte);
	const server = await serve(upstreamRoot);
	t.teardown(async () => server.stop());
	const mirrorRoot = path.join(dir, 'mirror');
	await mkdir(mirrorRoot);

	const run = await simplestreams(['mirror', '-N', '--ca', server.caFile, server.url, mirrorRoot]);
	t.is(run.exitCode, 1, 'a refused file makes the exit code say so');
	t.regex(run.stderr, new RegExp(`refused ${acme}/20240103_0000/root\\.squashfs from https://\\S+/files/a3/root\\.squashfs: sha256 [\\da-f]{64} is not the ${upstream.files.root3.sha256}`));
	t.deepEqual(await versionsOf(mirrorRoot), {'acme:1.0:amd64:default': ['20240101_0000', '20240102_0000'], 'other:2.0:arm64:default': ['20240101_0000']});
	await t.throwsAsync(stat(path.join(mirrorRoot, acme, '20240103_0000')));

	await rewriteSameSize(path.join(upstreamRoot, upstream.files.root3.path), flipLastByte);
	const again = await simplestreams(['mirror', '-N', '--ca', server.caFile, server.url, mirrorRoot]);
	t.is(again.exitCode, 0, again.stderr);
	t.deepEqual((await versionsOf(mirrorRoot))['acme:1.0:amd64:default'], ['20240101_0000', '20240102_0000', '20240103_0000']);
});

test('a download killed halfway resumes on the next run with a Range request', async t => {
	const dir = await tempDir(t, 'ss-mirror');
	const upstreamRoot = path.join(dir, 'upstream');
	const upstream = await handMadeUpstream(upstreamRoot, 6 * 1024 * 1024);
	const ca = await makeCa(path.join(dir, 'ca'));
	const slow = await serve(upstreamRoot, {ca, rate: '512k'});
	t.teardown(async () => slow.stop());
	const mirrorRoot = path.join(dir, 'mirror');
	await mkdir(mirrorRoot);
	const size = upstream.files.otherRoot.size;

	const killed = execa('node', [cli, 'mirror', '-N', '--filter', 'os=other', '--ca', ca.caFile, slow.url, mirrorRoot], {reject: false, env: quietEnv(), extendEnv: false});
	const partial = path.join(mirrorRoot, '.simplestreams-mirror/images/other/2.0/arm64/default/20240101_0000/root.tar.xz.part');
	const deadline = Date.now() + 120_000;
	while (((await stat(partial).catch(() => undefined))?.size ?? 0) < 1024 * 1024 && Date.now() < deadline) {
		await new Promise(resolve => {
			setTimeout(resolve, 50);
		});
	}

	killed.kill('SIGKILL');
	await killed;
	const kept = (await stat(partial)).size;
	t.true(kept >= 1024 * 1024 && kept < size, `the killed run left ${kept} of ${size} bytes`);
	await slow.stop();

	const fast = await serve(upstreamRoot, {ca});
	t.teardown(async () => fast.stop());
	const run = await simplestreams(['mirror', '-N', '--filter', 'os=other', '--ca', ca.caFile, fast.url, mirrorRoot]);
	t.is(run.exitCode, 0, run.stderr);
	t.regex(run.stderr, /fetching images\/other\/2\.0\/arm64\/default\/20240101_0000\/root\.tar\.xz \([\d.]+ MiB, resuming after/);
	const log = await readFile(fast.accessLog, 'utf8');
	const line = log.split('\n').find(l => l.includes('GET /x/other.root '));
	const [, status, sent] = / (\d{3}) (\d+) /.exec(line ?? '') ?? [];
	t.is(status, '206', line);
	t.true(Number(sent) <= size - kept, `only the rest was sent: ${sent} bytes`);
	const placed = await readFile(path.join(mirrorRoot, 'images/other/2.0/arm64/default/20240101_0000/root.tar.xz'));
	t.is(placed.length, size);
	t.deepEqual(await versionsOf(mirrorRoot), {'other:2.0:arm64:default': ['20240101_0000']});
});

test('a version upstream removes retires with grace: out of the streams at once, back if upstream offers it again meanwhile, its files deleted once the grace is over', async t => {
	const dir = await tempDir(t, 'ss-mirror');
	const upstreamRoot = path.join(dir, 'upstream');
	const upstream = await handMadeUpstream(upstreamRoot);
	const server = await serve(upstreamRoot);
	t.teardown(async () => server.stop());
	const mirrorRoot = path.join(dir, 'mirror');
	await mkdir(mirrorRoot);
	const mirror = async () => simplestreams(['mirror', '-N', '--filter', 'os=acme', '--grace', '8s', '--ca', server.caFile, server.url, mirrorRoot]);
	t.is((await mirror()).exitCode, 0);

	const versions = upstream.products.products['acme:1.0:amd64:default']!.versions;
	const removed = versions['20240102_0000'];
	delete versions['20240102_0000'];
	await upstream.write();
	const dry = await simplestreams(['mirror', '--filter', 'os=acme', '--grace', '8s', '--ca', server.caFile, server.url, mirrorRoot]);
	t.regex(dry.stdout, new RegExp(`retire {2}${acme}/20240102_0000: upstream no longer offers it`));
	const run = await mirror();
	t.is(run.exitCode, 0, run.stderr);
	t.regex(run.stderr, new RegExp(`retired ${acme}/20240102_0000`));
	t.deepEqual(await versionsOf(mirrorRoot), {'acme:1.0:amd64:default': ['20240101_0000', '20240103_0000']});
	t.true((await stat(path.join(mirrorRoot, acme, '20240102_0000'))).isDirectory(), 'its files stay for the grace');

	// Offered again within the grace: published again, from the files still there.
	versions['20240102_0000'] = removed;
	await upstream.write();
	const back = await mirror();
	t.is(back.exitCode, 0, back.stderr);
	t.notRegex(back.stderr, /fetching/);
	t.deepEqual((await versionsOf(mirrorRoot))['acme:1.0:amd64:default'], ['20240101_0000', '20240102_0000', '20240103_0000']);
	delete versions['20240102_0000'];
	await upstream.write();
	t.regex((await mirror()).stderr, new RegExp(`retired ${acme}/20240102_0000`));

	const record = JSON.parse(await readFile(path.join(mirrorRoot, '.simplestreams-retired.json'), 'utf8')) as {retired: Array<{path: string; deleteAfter: string}>};
	const due = Date.parse(record.retired.find(entry => entry.path === `${acme}/20240102_0000`)!.deleteAfter);
	while (Date.now() <= due) {
		await new Promise(resolve => {
			setTimeout(resolve, 100);
		});
	}

	const later = await mirror();
	t.is(later.exitCode, 0, later.stderr);
	await t.throwsAsync(stat(path.join(mirrorRoot, acme, '20240102_0000')));
	t.deepEqual(await versionsOf(mirrorRoot), {'acme:1.0:amd64:default': ['20240101_0000', '20240103_0000']});
});

test('what the mirror leaves out carries a code and its text (domain/reasons.ts), as the generator\'s skips do', t => {
	const item = (ftype: string, path: string) => ({ftype, path, size: 1, sha256: 'a'.repeat(64)});
	const product = (arch: string) => ({os: 'acme', release: '1.0', arch, variant: 'default', versions: {'20240101_0000': {items: {
		'lxd.tar.xz': item('lxd.tar.xz', 'a/lxd.tar.xz'), manifest: item('manifest', 'a/manifest'), 'root.squashfs.vcdiff': item('squashfs.vcdiff', 'a/d.vcdiff'),
	}}}}) as unknown as Product;
	const {skipped} = planMirror([{id: 'acme:1.0:amd64:default', product: product('amd64')}, {id: 'acme:1.0:amd64v3:default', product: product('amd64v3')}], {filters: {}});
	t.deepEqual(skipped.map(({code, reason}) => [code, reason]), [
		['ftype-not-mirrored', 'ftype "manifest" is not mirrored'],
		['delta-not-mirrored', 'a delta: not mirrored (publish your own with --deltas)'],
		['no-rootfs-item', 'no rootfs item to pair its metadata with'],
		['arch-unpublishable', 'architecture "amd64v3" is known to LXD only; the other client would hide the product'],
	]);
});
