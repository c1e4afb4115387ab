// `mirror -N --to s3://…`: a bucket filled from an upstream. The upstream is a tree this project
// publishes, served by nginx over HTTPS (helpers/upstream.ts); the bucket is a real Ceph RADOS
// Gateway's (helpers/ceph.ts); the real lxc and incus clients list the bucket's HTTPS endpoint.
import {mkdir, readFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {text} from './helpers/bucket.js';
import {storeForFile} from './helpers/ceph.js';
import {remote, type ClientKind} from './helpers/clients.js';
import {serve} from './helpers/server.js';
import {fingerprintsOf, productsOf, publishedUpstream, simplestreams} from './helpers/upstream.js';

const ceph = storeForFile('ss-mirror-bucket');

test.serial('mirror -N --to fills a bucket from an upstream: both clients list every upstream image from it; a second pass sends nothing', async t => {
	const upstreamRoot = path.join(ceph.tmp.path, 'upstream');
	await publishedUpstream(upstreamRoot, [
		{release: '1.0', version: '20240101_0000', kind: 'squashfs'},
		{release: '1.0', version: '20240102_0000', kind: 'root.tar.xz'},
		{release: '2.0', version: '20240101_0000', kind: 'qcow2'},
	]);
	const server = await serve(upstreamRoot);
	t.teardown(async () => server.stop());
	const bucket = 'mirrored';
	await ceph.store.bucket(bucket);
	const mirrorRoot = path.join(ceph.tmp.path, 'mirror');
	await mkdir(mirrorRoot);
	const mirror = async (...args: string[]) => simplestreams(['mirror', '-N', '--ca', server.caFile, '--to', `s3://${bucket}/m`, ...args, server.url, mirrorRoot], ceph.store.env);

	const dry = await simplestreams(['mirror', '--ca', server.caFile, '--to', `s3://${bucket}/m`, server.url, mirrorRoot], ceph.store.env);
	t.is(dry.exitCode, 2, dry.stderr);
	t.regex(dry.stderr, /mirror --to goes with -N/);

	const run = await mirror();
	t.is(run.exitCode, 0, run.stderr);
	t.regex(run.stderr, /placed images\/busybox\/2\.0\/amd64\/default\/20240101_0000/);
	t.regex(run.stderr, /uploaded s3:\/\/mirrored\/m\/images\/busybox\/2\.0\/amd64\/default\/20240101_0000\/disk\.qcow2/);
	t.regex(run.stderr, /published to s3:\/\/mirrored\/m\/: \d+ files uploaded/);
	t.is(await text(ceph.store, bucket, 'm/streams/v1/images.json'), await readFile(path.join(mirrorRoot, 'streams/v1/images.json'), 'utf8'));
	t.is(await text(ceph.store, bucket, 'm/.simplestreams.lock'), undefined, 'the bucket\'s lock is released');

	const upstream = fingerprintsOf(await productsOf(upstreamRoot));
	for (const kind of ['lxc', 'incus'] satisfies ClientKind[]) {
		const client = await remote(kind, `${ceph.store.url}/${bucket}/m`, ceph.store.caFile);
		t.teardown(async () => client.close());
		const listed = (await client.list()).map(image => image.fingerprint);
		t.is(listed.length, 3, `${kind}: ${listed.join(' ')}`);
		for (const fingerprint of listed) {
			t.true(upstream.includes(fingerprint), `${kind} lists ${fingerprint}, an upstream image`);
		}
	}

	const again = await mirror();
	t.is(again.exitCode, 0, again.stderr);
	t.regex(again.stderr, /published to s3:\/\/mirrored\/m\/: 0 files uploaded/);
	t.regex(again.stderr, /unchanged s3:\/\/mirrored\/m\/streams\/v1\/index\.json/);
});
