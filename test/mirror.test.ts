// `simplestreams mirror` against upstreams served over HTTPS by nginx on loopback: the plan of a dry
// run, a mirror the real lxc and incus clients list with upstream's fingerprints, and what happens
// when upstream cannot be read.
import {mkdir, readdir, readFile, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {remote, type ClientKind} from './helpers/clients.js';
import {tempDir} from './helpers/fixtures.js';
import {makeCa, serve} from './helpers/server.js';
import {busyboxVersion, cli, fingerprintsOf, incusSimplestreamsUpstream, productsOf, publishedUpstream, quietEnv, simplestreams} from './helpers/upstream.js';

const both: ClientKind[] = ['lxc', 'incus'];

test('a dry run prints the plan and writes nothing; -N mirrors a tree this project publishes, and both clients list upstream\'s fingerprints', async t => {
	const dir = await tempDir(t, 'ss-mirror');
	const upstreamRoot = path.join(dir, 'upstream');
	await publishedUpstream(upstreamRoot, [
		{release: 'one', version: '20240101_0000', kind: 'squashfs'},
		{release: 'one', version: '20240102_0000', kind: 'squashfs'},
		{release: 'two', version: '20240101_0000', kind: 'root.tar.xz'},
	]);
	const upstream = await serve(upstreamRoot);
	t.teardown(async () => upstream.stop());
	const mirrorRoot = path.join(dir, 'mirror');
	await mkdir(mirrorRoot);

	const dry = await simplestreams(['mirror', '--ca', upstream.caFile, upstream.url, mirrorRoot]);
	t.is(dry.exitCode, 0, dry.stderr);
	t.regex(dry.stdout, /fetch {3}images\/busybox\/one\/amd64\/default\/20240102_0000 \(2 files/);
	t.regex(dry.stdout, /root\.tar\.xz .* <- images\/busybox\/two\/amd64\/default\/20240101_0000\/root\.tar\.xz/);
	t.regex(dry.stdout, /3 versions to fetch \(6 files/);
	t.deepEqual(await readdir(mirrorRoot), [], 'a dry run writes nothing');

	const run = await simplestreams(['mirror', '-N', '--ca', upstream.caFile, upstream.url, mirrorRoot]);
	t.is(run.exitCode, 0, run.stderr);
	t.regex(run.stderr, /placed images\/busybox\/one\/amd64\/default\/20240102_0000/);
	// Each file's sha256 and each fingerprint were checked as the files arrived: the publish reads none again.
	t.notRegex(run.stderr, /Z hashed \d+ files/);
	const expected = fingerprintsOf(await productsOf(upstreamRoot));
	t.is(expected.length, 3);
	t.deepEqual(fingerprintsOf(await productsOf(mirrorRoot)), expected);

	const served = await serve(mirrorRoot);
	t.teardown(async () => served.stop());
	for (const kind of both) {
		const client = await remote(kind, served.url, served.caFile);
		t.teardown(async () => client.close());
		const listed = await client.list();
		t.deepEqual(listed.map(image => image.fingerprint).sort(), expected, `${kind} lists upstream's fingerprints`);
	}

	// Again: nothing to fetch, the streams untouched.
	const before = (await stat(path.join(mirrorRoot, 'streams/v1/images.json'))).mtimeMs;
	const again = await simplestreams(['mirror', '-N', '--ca', upstream.caFile, upstream.url, mirrorRoot]);
	t.is(again.exitCode, 0, again.stderr);
	t.notRegex(again.stderr, /fetching/);
	t.is((await stat(path.join(mirrorRoot, 'streams/v1/images.json'))).mtimeMs, before);
});

test('upstream unreachable, or serving bad JSON: a non-zero exit, and the mirror is as it was', async t => {
	const dir = await tempDir(t, 'ss-mirror');
	const upstreamRoot = path.join(dir, 'upstream');
	await publishedUpstream(upstreamRoot, [{release: 'one', version: '20240101_0000', kind: 'squashfs'}]);
	// A CA of the test's own: it outlives the server, which is stopped halfway.
	const upstream = await serve(upstreamRoot, {ca: await makeCa(path.join(dir, 'ca'))});
	t.teardown(async () => upstream.stop());
	const mirrorRoot = path.join(dir, 'mirror');
	await mkdir(mirrorRoot);
	t.is((await simplestreams(['mirror', '-N', '--ca', upstream.caFile, upstream.url, mirrorRoot])).exitCode, 0);
	const streams = await readFile(path.join(mirrorRoot, 'streams/v1/images.json'), 'utf8');

	await writeFile(path.join(upstreamRoot, 'streams/v1/images.json'), '{"products": {"x": {"arch": 1');
	const bad = await simplestreams(['mirror', '-N', '--ca', upstream.caFile, upstream.url, mirrorRoot]);
	t.is(bad.exitCode, 1);
	t.regex(bad.stderr, /images\.json is not JSON.*the mirror is left as it was/);
	t.is(await readFile(path.join(mirrorRoot, 'streams/v1/images.json'), 'utf8'), streams);

	await upstream.stop();
	const down = await simplestreams(['mirror', '-N', '--ca', upstream.caFile, upstream.url, mirrorRoot]);
	t.is(down.exitCode, 1);
	t.regex(down.stderr, /ECONNREFUSED.*the mirror is left as it was/);
	t.is(await readFile(path.join(mirrorRoot, 'streams/v1/images.json'), 'utf8'), streams);
	t.deepEqual((await readdir(path.join(mirrorRoot, 'images/busybox/one/amd64/default'))).filter(n => !n.startsWith('.')), ['20240101_0000']);
});

test('a certificate nobody trusts is refused without --ca', async t => {
	const dir = await tempDir(t, 'ss-mirror');
	const upstreamRoot = path.join(dir, 'upstream');
	await publishedUpstream(upstreamRoot, [{release: 'one', version: '20240101_0000', kind: 'squashfs'}]);
	const upstream = await serve(upstreamRoot);
	t.teardown(async () => upstream.stop());
	const run = await simplestreams(['mirror', upstream.url, dir]);
	t.is(run.exitCode, 1);
	t.regex(run.stderr, /certificate/i);
});

test('a tree incus-simplestreams made (flat paths, Incus-only items, a unified image) is mirrored for LXD clients too, keeping every fingerprint', async t => {
	const dir = await tempDir(t, 'ss-mirror');
	const upstreamRoot = path.join(dir, 'upstream');
	await incusSimplestreamsUpstream(upstreamRoot);
	const upstream = await serve(upstreamRoot);
	t.teardown(async () => upstream.stop());
	const mirrorRoot = path.join(dir, 'mirror');
	await mkdir(mirrorRoot);
	const run = await simplestreams(['mirror', '-N', '--ca', upstream.caFile, upstream.url, mirrorRoot]);
	t.is(run.exitCode, 0, run.stderr);
	t.deepEqual((await readdir(path.join(mirrorRoot, 'images/busybox/split/amd64/default/202401010000'))).sort(), ['incus.tar.xz', 'root.squashfs']);
	t.deepEqual(await readdir(path.join(mirrorRoot, 'images/busybox/whole/amd64/default/202401020000')), ['incus_combined.tar.gz']);

	const expected = fingerprintsOf(await productsOf(upstreamRoot));
	t.is(expected.length, 2);
	const served = await serve(mirrorRoot);
	t.teardown(async () => served.stop());
	for (const kind of both) {
		const client = await remote(kind, served.url, served.caFile);
		t.teardown(async () => client.close());
		const listed = await client.list();
		t.deepEqual(listed.map(image => image.fingerprint).sort(), expected, `${kind} lists both images with upstream's fingerprints`);
		const exported = await client.export(expected[0]!, path.join(dir, `export-${kind}`));
		t.true(exported.length >= 1, `${kind} exports`);
	}
});

test('--every mirrors pass after pass, headless with JSON logs, holding the root\'s lock; a pass with upstream down changes nothing; SIGTERM stops it', async t => {
	const dir = await tempDir(t, 'ss-mirror');
	const upstreamRoot = path.join(dir, 'upstream');
	await publishedUpstream(upstreamRoot, [{release: 'one', version: '20240101_0000', kind: 'squashfs'}]);
	const ca = await makeCa(path.join(dir, 'ca'));
	const upstream = await serve(upstreamRoot, {ca});
	t.teardown(async () => upstream.stop());
	const mirrorRoot = path.join(dir, 'mirror');
	await mkdir(mirrorRoot);

	const child = execa('node', [cli, 'mirror', '-N', '--every', '2s', '--log', 'json', '--ca', ca.caFile, upstream.url, mirrorRoot], {reject: false, env: quietEnv(), extendEnv: false});
	t.teardown(() => {
		child.kill('SIGKILL');
	});
	const events: Array<Record<string, unknown>> = [];
	let text = '';
	child.stdout!.on('data', (chunk: Buffer) => {
		text += chunk.toString();
		const lines = text.split('\n');
		text = lines.pop()!;
		events.push(...lines.filter(Boolean).map(line => JSON.parse(line) as Record<string, unknown>));
	});
	const seen = async (what: (event: Record<string, unknown>) => boolean, after = 0) => {
		const deadline = Date.now() + 120_000;
		while (!events.slice(after).some(what) && Date.now() < deadline) {
			await new Promise(resolve => {
				setTimeout(resolve, 100);
			});
		}

		t.true(events.slice(after).some(what), `seen in ${JSON.stringify(events.slice(after))}`);
		return events.length;
	};

	let mark = await seen(event => event.type === 'pass-finished' && event.placed === 1);
	t.true(events.some(event => event.type === 'version-placed' && event.path === 'images/busybox/one/amd64/default/20240101_0000'));
	const other = await simplestreams(['-N', mirrorRoot]);
	t.is(other.exitCode, 1, 'another writer is refused while the mirror runs');
	t.regex(other.stderr, /mirror --every/);

	await busyboxVersion(upstreamRoot, {release: 'one', version: '20240102_0000', kind: 'squashfs'});
	t.is((await simplestreams(['-N', upstreamRoot, '--cache', path.join(dir, 'upstream-cache.json')])).exitCode, 0);
	mark = await seen(event => event.type === 'version-placed' && event.path === 'images/busybox/one/amd64/default/20240102_0000', mark);
	await seen(event => event.type === 'pass-finished', mark);
	const streams = await readFile(path.join(mirrorRoot, 'streams/v1/images.json'), 'utf8');
	t.true(streams.includes('20240102_0000'));

	await upstream.stop();
	mark = await seen(event => event.type === 'pass-failed', events.length);
	t.is(await readFile(path.join(mirrorRoot, 'streams/v1/images.json'), 'utf8'), streams);

	child.kill('SIGTERM');
	const ended = await child;
	t.is(ended.exitCode, 0, ended.stderr);
	t.is((await simplestreams(['-N', mirrorRoot])).exitCode, 0, 'the lock is released');
});
