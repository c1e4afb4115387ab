// `--watch --to` against a real Ceph RADOS Gateway (helpers/ceph.ts): the json log carries the
// uploads as events, and SIGINT while a large file goes up stops the watcher without waiting for
// it: the upload is aborted (the store lists no unfinished upload), the bucket's lock released, the
// bucket's streams the previous ones, exit 0 as a watcher stops. The upload goes through a link that
// stalls part-way (helpers/stall.ts), so it is under way when the signal comes, whatever the
// machine's speed, and would hold the watcher for the client's two quiet minutes if it were waited for.
import {randomBytes} from 'node:crypto';
import {readFile, rename} from 'node:fs/promises';
import path from 'node:path';
import {HeadObjectCommand, ListMultipartUploadsCommand} from '@aws-sdk/client-s3';
import test from 'ava';
import {execa} from 'execa';
import {text} from './helpers/bucket.js';
import {storeForFile} from './helpers/ceph.js';
import {imageVersion, squashfsImage} from './helpers/images.js';
import {stallingEndpoint} from './helpers/stall.js';
import {until} from './helpers/watch.js';

const cli = path.resolve('dist/cli.js');

const ceph = storeForFile('ss-publish-watch');

const version = async (root: string, name: string) =>
	imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: name, meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});

type Logged = {type: string; key?: string; size?: number; target?: string; uploaded?: number};

test.serial('--watch --to --log json: uploads are events; SIGINT mid-upload aborts it, releases the bucket\'s lock and exits 0', async t => {
	const bucket = 'watch-stop';
	await ceph.store.bucket(bucket);
	const root = path.join(ceph.tmp.path, 'stop', 'webroot');
	await version(root, '20240101_0000');
	// The first regeneration's few KiB pass; the large file's parts stall once 4 MiB went up one connection.
	const relay = await stallingEndpoint(t, ceph.store.url);
	const watch = execa('node', [cli, '--watch', '--settle', '0', '--log', 'json', '--to', `s3://${bucket}/w`, root, '--cache', path.join(root, '..', 'cache.json')], {
		reject: false, env: {CI: 'true', ...ceph.store.env, AWS_ENDPOINT_URL: relay.url},
	});
	t.teardown(() => watch.kill('SIGKILL'));
	let stdout = '';
	watch.stdout!.on('data', (chunk: Buffer) => {
		stdout += chunk.toString();
	});
	const logged = () => stdout.split('\n').filter(Boolean).map(line => JSON.parse(line) as Logged);

	await until('the first regeneration in the bucket', async () => logged().some(event => event.type === 'published'), 120_000);
	const first = logged();
	const small = `s3://${bucket}/w/images/acme/1.0/amd64/default/20240101_0000/root.squashfs`;
	t.true(first.some(event => event.type === 'upload-planned' && event.key === small), JSON.stringify(first));
	t.true(first.some(event => event.type === 'uploaded' && event.key === small && typeof event.size === 'number'));
	t.true(first.some(event => event.type === 'stream-published' && event.key === `s3://${bucket}/w/streams/v1/index.json`));
	t.true(first.some(event => event.type === 'published' && event.target === `s3://${bucket}/w/` && event.uploaded === 2), 'incus.tar.xz and root.squashfs');
	t.false(first.some(event => event.type === 'upload-progress'), 'per-part progress is for screens');
	const previous = await text(ceph.store, bucket, 'w/streams/v1/images.json');
	t.is(previous, await readFile(path.join(root, 'streams/v1/images.json'), 'utf8'));

	// A large incompressible rootfs goes up in parts: SIGINT once its upload has stalled part-way.
	// The version is made aside and moved in whole, so no regeneration sees it half made.
	const aside = path.join(ceph.tmp.path, 'stop', 'aside');
	const big = await version(aside, '20240102_0000');
	await squashfsImage(big.files['root.squashfs']!, {'usr/lib/blob': randomBytes(100 << 20).toString('base64')});
	await rename(path.dirname(big.files['root.squashfs']!), path.join(root, 'images/acme/1.0/amd64/default/20240102_0000'));
	const bigKey = `w/images/acme/1.0/amd64/default/20240102_0000/root.squashfs`;
	const ended = await Promise.race([relay.stalled.then(() => undefined), watch]);
	t.is(ended, undefined, 'the watcher runs until its upload stalls');
	t.true(((await ceph.store.client.send(new ListMultipartUploadsCommand({Bucket: bucket}))).Uploads ?? []).some(upload => upload.Key === bigKey), 'the large file is under way');
	const signalled = performance.now();
	watch.kill('SIGINT');
	const result = await watch;
	const stopping = performance.now() - signalled;
	t.log(`exit ${Math.round(stopping)} ms after SIGINT`);
	t.is(result.exitCode, 0, result.stderr);
	// Waited for, the stalled upload would hold the watcher until the client gave up on the quiet link (two minutes, then retries).
	t.true(stopping < 100_000, `the watcher stopped ${Math.round(stopping)} ms after SIGINT`);
	t.is(logged().at(-1)?.type, 'stopped');
	t.false(logged().some(event => event.type === 'uploaded' && event.key === `s3://${bucket}/${bigKey}`), 'the upload was not waited for');
	await t.throwsAsync(ceph.store.client.send(new HeadObjectCommand({Bucket: bucket, Key: bigKey})), undefined, 'no object of the aborted upload');
	t.deepEqual((await ceph.store.client.send(new ListMultipartUploadsCommand({Bucket: bucket}))).Uploads ?? [], [], 'the upload is aborted');
	t.is(await text(ceph.store, bucket, 'w/.simplestreams.lock'), undefined, 'the lock is released');
	t.is(await text(ceph.store, bucket, 'w/streams/v1/images.json'), previous, 'the bucket\'s streams are the previous ones');
});
