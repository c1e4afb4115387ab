// Publishing to object storage, against a real Ceph RADOS Gateway (helpers/ceph.ts): a tree of real
// images goes to a bucket with `-N --to s3://…`, and the real lxc and incus clients use the bucket's
// HTTPS endpoint as their remote. What the store received is counted from the gateway's own log.
import {randomBytes} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import https from 'node:https';
import {hostname} from 'node:os';
import path from 'node:path';
import {gunzipSync} from 'node:zlib';
import {GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand} from '@aws-sdk/client-s3';
import test, {type ExecutionContext} from 'ava';
import {execa} from 'execa';
import {ownStart} from '../source/util/owner.js';
import {keys, logLength, runRequests, text} from './helpers/bucket.js';
import {storeForFile} from './helpers/ceph.js';
import {fingerprintOfExport, remote, type ClientKind} from './helpers/clients.js';
import {imageVersion, squashfsImage} from './helpers/images.js';
import {stallingEndpoint} from './helpers/stall.js';

const cli = path.resolve('dist/cli.js');
const kinds: ClientKind[] = ['lxc', 'incus'];

const ceph = storeForFile('ss-publish');

/** A run of the command with the store's endpoint and credentials, as an operator's shell has them. */
function publish(root: string, args: string[], env: Record<string, string> = {}) {
	return execa('node', [cli, ...args, root, '--cache', path.join(root, '..', 'cache.json')], {reject: false, env: {CI: 'true', ...ceph.store.env, ...env}});
}

const version = async (root: string, name: string, rootfs: Array<'root.squashfs' | 'disk.qcow2'> = ['root.squashfs', 'disk.qcow2']) =>
	imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: name, meta: ['incus.tar.xz'], rootfs});

async function bytes(bucket: string, key: string): Promise<Uint8Array> {
	return (await ceph.store.client.send(new GetObjectCommand({Bucket: bucket, Key: key}))).Body!.transformToByteArray();
}

/**
 * A bucket published from a root of one version, then a second version with a large incompressible
 * rootfs, which goes up in parts: its -N --to run goes through a link that stalls (helpers/stall.ts)
 * and is returned with a part half sent, with the bucket's streams
 * from before it.
 */
async function stalledPublish(t: ExecutionContext, bucket: string) {
	await ceph.store.bucket(bucket);
	const root = path.join(ceph.tmp.path, bucket, 'webroot');
	await version(root, '20240101_0000', ['root.squashfs']);
	t.is((await publish(root, ['-N', '--to', `s3://${bucket}`])).exitCode, 0);
	const previous = {products: await text(ceph.store, bucket, 'streams/v1/images.json'), index: await text(ceph.store, bucket, 'streams/v1/index.json')};
	const big = await version(root, '20240102_0000', ['root.squashfs']);
	await squashfsImage(big.files['root.squashfs']!, {'usr/lib/blob': randomBytes(60 << 20).toString('base64')});

	const relay = await stallingEndpoint(t, ceph.store.url);
	const run = publish(root, ['-N', '--to', `s3://${bucket}`], {AWS_ENDPOINT_URL: relay.url});
	const ended = await Promise.race([relay.stalled.then(() => undefined), run]);
	if (ended) {
		throw new Error(`the run ended before its upload stalled:\n${ended.stderr}`);
	}

	return {root, previous, run};
}

async function anonymousHead(url: string): Promise<{status: number; headers: Record<string, string | string[] | undefined>}> {
	const ca = await readFile(ceph.store.caFile, 'utf8');
	return new Promise((resolve, reject) => {
		const request = https.request(url, {method: 'HEAD', ca, minVersion: 'TLSv1.3'}, response => {
			response.resume();
			resolve({status: response.statusCode!, headers: response.headers});
		});
		request.on('error', reject);
		request.end();
	});
}

test.serial('a tree published to a bucket is a remote both clients list and export every image from', async t => {
	const bucket = 'published';
	await ceph.store.bucket(bucket);
	const root = path.join(ceph.tmp.path, 'tree', 'webroot');
	await version(root, '20240101_0000');
	await version(root, '20240102_0000', ['root.squashfs']);

	const dry = await publish(root, ['--to', `s3://${bucket}/images-server`]);
	t.is(dry.exitCode, 0, dry.stderr);
	t.regex(dry.stdout, /would upload s3:\/\/published\/images-server\/images\/acme\/1\.0\/amd64\/default\/20240101_0000\/disk\.qcow2 \([\d.]+ KiB, not in the bucket\)/);
	t.regex(dry.stdout, /dry run: would upload 5 files/);
	t.deepEqual(await keys(ceph.store, bucket), [], 'a dry run sends nothing');

	const from = await logLength(ceph.store);
	const result = await publish(root, ['-N', '--to', `s3://${bucket}/images-server`]);
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /published to s3:\/\/published\/images-server\/: 5 files uploaded/);
	const requests = await runRequests(ceph.store, from, bucket);
	const puts = requests.filter(request => request.startsWith('PUT ') && !request.includes('.simplestreams.lock')).map(request => request.split('?')[0]);
	t.deepEqual(puts.slice(-6), [...['images.json', 'images.json.gz', 'index.json', 'index.json.gz'].map(name => `PUT /${bucket}/images-server/streams/v1/${name}`), `PUT /${bucket}/images-server/index.html`, `PUT /${bucket}/images-server/index.html.gz`], 'the streams go last, the index after the products, each with its gzip, then the page');
	t.is(await text(ceph.store, bucket, 'images-server/index.html'), await readFile(path.join(root, 'index.html'), 'utf8'));
	t.is(await text(ceph.store, bucket, 'images-server/streams/v1/images.json'), await readFile(path.join(root, 'streams/v1/images.json'), 'utf8'));
	t.is(gunzipSync(await bytes(bucket, 'images-server/streams/v1/images.json.gz')).toString('utf8'), await readFile(path.join(root, 'streams/v1/images.json'), 'utf8'));
	t.is(await text(ceph.store, bucket, 'images-server/.simplestreams.lock'), undefined, 'the lock is released');

	const base = `${ceph.store.url}/${bucket}/images-server`;
	const image = await anonymousHead(`${base}/images/acme/1.0/amd64/default/20240101_0000/incus.tar.xz`);
	t.is(image.status, 200);
	t.is(image.headers['content-type'], 'application/octet-stream');
	t.is(image.headers['content-encoding'], undefined);
	const index = await anonymousHead(`${base}/streams/v1/index.json`);
	t.is(index.headers['content-type'], 'application/json');
	t.is(index.headers['cache-control'], 'no-cache');
	t.is(index.headers['content-encoding'], undefined);
	// The headers nginx sends the .gz with in the JSON's place: an edge rule serving it so passes them on.
	const packed = await anonymousHead(`${base}/streams/v1/index.json.gz`);
	t.is(packed.headers['content-type'], 'application/json');
	t.is(packed.headers['content-encoding'], 'gzip');
	t.is(packed.headers['cache-control'], 'no-cache');
	const page = await anonymousHead(`${base}/index.html`);
	t.is(page.headers['content-type'], 'text/html; charset=utf-8');
	t.is(page.headers['content-encoding'], undefined);

	for (const kind of kinds) {
		const client = await remote(kind, base, ceph.store.caFile);
		t.teardown(async () => client.close());
		const listed = await client.list();
		t.is(listed.length, 3, `${kind}: two containers and a VM`);
		for (const [n, listedImage] of listed.entries()) {
			const files = await client.export(listedImage.fingerprint, path.join(ceph.tmp.path, `export-${kind}-${n}`), {vm: listedImage.type === 'virtual-machine'});
			t.is(await fingerprintOfExport(files), listedImage.fingerprint, `${kind} ${listedImage.type} ${listedImage.properties.serial ?? ''}`);
		}
	}
});

test.serial('publishing again uploads nothing; a new version uploads only its files', async t => {
	const bucket = 'again';
	await ceph.store.bucket(bucket);
	const root = path.join(ceph.tmp.path, 'again', 'webroot');
	await version(root, '20240101_0000');
	t.is((await publish(root, ['-N', '--to', `s3://${bucket}`])).exitCode, 0);
	const before = await keys(ceph.store, bucket);

	let from = await logLength(ceph.store);
	const unchanged = await publish(root, ['-N', '--to', `s3://${bucket}`]);
	t.is(unchanged.exitCode, 0, unchanged.stderr);
	const uploads = (await runRequests(ceph.store, from, bucket)).filter(request => /^(PUT|POST) /.test(request) && !request.includes('.simplestreams.lock'));
	t.deepEqual(uploads, [], 'no object is sent again');
	t.regex(unchanged.stderr, /unchanged s3:\/\/again\/streams\/v1\/index\.json/);
	t.deepEqual(await keys(ceph.store, bucket), before);

	const added = await version(root, '20240102_0000', ['root.squashfs']);
	from = await logLength(ceph.store);
	const next = await publish(root, ['-N', '--to', `s3://${bucket}`]);
	t.is(next.exitCode, 0, next.stderr);
	const sent = (await runRequests(ceph.store, from, bucket)).filter(request => request.startsWith('PUT ') && !request.includes('.simplestreams.lock')).map(request => request.split('?')[0]!).sort();
	// The index names the same product as before: it is not sent again either.
	t.deepEqual(sent, [...Object.values(added.rel).map(file => `PUT /${bucket}/${file}`), `PUT /${bucket}/streams/v1/images.json`, `PUT /${bucket}/streams/v1/images.json.gz`, `PUT /${bucket}/index.html`, `PUT /${bucket}/index.html.gz`].sort());
});

test.serial('a publish killed mid-upload leaves the previous streams; the next run cleans up and completes', async t => {
	const bucket = 'killed';
	// Killed with a part half sent.
	const {root, previous, run} = await stalledPublish(t, bucket);
	run.kill('SIGKILL');
	await run;
	t.is(await text(ceph.store, bucket, 'streams/v1/images.json'), previous.products);
	t.is(await text(ceph.store, bucket, 'streams/v1/index.json'), previous.index);
	const unfinished = await ceph.store.client.send(new ListMultipartUploadsCommand({Bucket: bucket}));
	t.true((unfinished.Uploads ?? []).length > 0, 'the killed run left its upload unfinished');

	const next = await publish(root, ['-N', '--to', `s3://${bucket}`]);
	t.is(next.exitCode, 0, next.stderr);
	t.regex(next.stderr, /took over s3:\/\/killed\/\.simplestreams\.lock: its owner, pid \d+, is gone/);
	t.regex(next.stderr, /aborted an unfinished upload of s3:\/\/killed\/images\/acme\/1\.0\/amd64\/default\/20240102_0000\/root\.squashfs/);
	t.is(await text(ceph.store, bucket, 'streams/v1/images.json'), await readFile(path.join(root, 'streams/v1/images.json'), 'utf8'));
	t.deepEqual((await ceph.store.client.send(new ListMultipartUploadsCommand({Bucket: bucket}))).Uploads ?? [], []);
	const exported = await remote('incus', `${ceph.store.url}/${bucket}`, ceph.store.caFile);
	t.teardown(async () => exported.close());
	const newest = (await exported.list()).find(image => image.properties.serial === '20240102_0000')!;
	t.is(await fingerprintOfExport(await exported.export(newest.fingerprint, path.join(ceph.tmp.path, 'export-big'))), newest.fingerprint);
});

test.serial('Ctrl-C during an upload aborts it and releases the bucket\'s lock; the bucket\'s streams stay the previous ones', async t => {
	const bucket = 'interrupted';
	// Ctrl-C while a part is half sent over a link that has gone quiet: the run must not wait for it.
	const {root, previous, run} = await stalledPublish(t, bucket);
	run.kill('SIGINT');
	const stopped = await run;
	const seen = stopped.stderr;
	t.is(stopped.exitCode, 130, seen);
	t.regex(seen, /cancelled: the bucket's streams are as they were/);
	t.is(await text(ceph.store, bucket, '.simplestreams.lock'), undefined, 'the lock is released');
	t.deepEqual((await ceph.store.client.send(new ListMultipartUploadsCommand({Bucket: bucket}))).Uploads ?? [], [], 'the upload is aborted');
	t.is(await text(ceph.store, bucket, 'streams/v1/images.json'), previous.products);
	t.is(await text(ceph.store, bucket, 'streams/v1/index.json'), previous.index);
	const next = await publish(root, ['-N', '--to', `s3://${bucket}`]);
	t.is(next.exitCode, 0, next.stderr);
	t.notRegex(next.stderr, /took over/);
	t.is(await text(ceph.store, bucket, 'streams/v1/images.json'), await readFile(path.join(root, 'streams/v1/images.json'), 'utf8'));
});

test.serial('two publishers at once: the bucket\'s streams are one run\'s, a held lock refuses with its holder', async t => {
	const bucket = 'two';
	await ceph.store.bucket(bucket);
	const roots = [path.join(ceph.tmp.path, 'one', 'webroot'), path.join(ceph.tmp.path, 'other', 'webroot')];
	await version(roots[0]!, '20240101_0000');
	await version(roots[1]!, '20240105_0000', ['root.squashfs']);
	const results = await Promise.all(roots.map(async root => publish(root, ['-N', '--to', `s3://${bucket}`])));
	for (const result of results) {
		t.true(result.exitCode === 0 || /s3:\/\/two\/ is being written by another simplestreams \(simplestreams -N, pid \d+/.test(result.stderr), result.stderr);
	}

	const published = {products: await text(ceph.store, bucket, 'streams/v1/images.json'), index: await text(ceph.store, bucket, 'streams/v1/index.json')};
	// A run refused by the bucket's lock wrote no local streams either.
	const local = await Promise.all(roots.map(async root => ({
		products: await readFile(path.join(root, 'streams/v1/images.json'), 'utf8').catch(() => undefined),
		index: await readFile(path.join(root, 'streams/v1/index.json'), 'utf8').catch(() => undefined),
	})));
	t.true(local.some(run => run.products === published.products && run.index === published.index), 'both streams from one run');

	// A lock held by a live process (this one) refuses at once, and changes nothing.
	const holder = {pid: process.pid, host: hostname(), since: new Date().toISOString(), command: 'simplestreams -N', started: ownStart()};
	await ceph.store.client.send(new PutObjectCommand({Bucket: bucket, Key: '.simplestreams.lock', Body: JSON.stringify(holder)}));
	const before = await keys(ceph.store, bucket);
	await version(roots[1]!, '20240106_0000', ['root.squashfs']);
	const refused = await publish(roots[1]!, ['-N', '--to', `s3://${bucket}`]);
	t.is(refused.exitCode, 1);
	t.is(refused.stderr.trim(), `simplestreams: s3://two/ is being written by another simplestreams (simplestreams -N, pid ${process.pid} on ${holder.host} since ${holder.since}); lock: s3://two/.simplestreams.lock`);
	t.deepEqual(await keys(ceph.store, bucket), before);
});

/** Polls `condition` until it holds, for at most `ms`. */
async function until(condition: () => Promise<boolean>, ms: number): Promise<boolean> {
	const deadline = Date.now() + ms;
	while (Date.now() < deadline) {
		if (await condition()) {
			return true;
		}

		await new Promise(resolve => setTimeout(resolve, 250));
	}

	return condition();
}

test.serial('--watch --to sends each regeneration to the bucket, and releases its lock when it stops', async t => {
	const bucket = 'watched';
	await ceph.store.bucket(bucket);
	const root = path.join(ceph.tmp.path, 'watched', 'webroot');
	await version(root, '20240101_0000', ['root.squashfs']);
	const watch = execa('node', [cli, '--watch', '--settle', '0', '--to', `s3://${bucket}/w`, root, '--cache', path.join(root, '..', 'cache.json')], {reject: false, env: {CI: 'true', ...ceph.store.env}});
	t.teardown(() => watch.kill('SIGKILL'));
	const inBucket = async (name: string) => {
		const local = await readFile(path.join(root, 'streams/v1/images.json'), 'utf8').catch(() => '');
		return local.includes(name) && await text(ceph.store, bucket, 'w/streams/v1/images.json') === local;
	};

	t.true(await until(async () => inBucket('20240101_0000'), 90_000), 'the first regeneration is published');
	await version(root, '20240102_0000', ['root.squashfs']);
	t.true(await until(async () => inBucket('20240102_0000'), 90_000), 'a new version is published');
	watch.kill('SIGTERM');
	const result = await watch;
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /uploaded s3:\/\/watched\/w\/images\/acme\/1\.0\/amd64\/default\/20240102_0000\/root\.squashfs/);
	t.is(await text(ceph.store, bucket, 'w/.simplestreams.lock'), undefined);
});

test.serial('wrong credentials and a missing bucket: one line naming the S3 code, nothing changed', async t => {
	const bucket = 'guarded';
	await ceph.store.bucket(bucket);
	const root = path.join(ceph.tmp.path, 'guarded', 'webroot');
	await version(root, '20240101_0000', ['root.squashfs']);
	const wrongSecret = await publish(root, ['-N', '--to', `s3://${bucket}`], {AWS_SECRET_ACCESS_KEY: 'not-the-secret'});
	t.is(wrongSecret.exitCode, 1);
	t.is(wrongSecret.stderr.trim(), `simplestreams: cannot list s3://${bucket}/: SignatureDoesNotMatch (the secret key is wrong)`);
	const wrongKey = await publish(root, ['-N', '--to', `s3://${bucket}/p`], {AWS_ACCESS_KEY_ID: 'NOSUCHKEY'});
	t.is(wrongKey.exitCode, 1);
	t.is(wrongKey.stderr.trim(), `simplestreams: cannot list s3://${bucket}/p/: InvalidAccessKeyId (the store does not know this access key)`);
	const missing = await publish(root, ['-N', '--to', 's3://no-such-bucket/p', '--endpoint', ceph.store.url]);
	t.is(missing.exitCode, 1);
	t.is(missing.stderr.trim(), 'simplestreams: cannot list s3://no-such-bucket/p/: NoSuchBucket (the bucket does not exist)');
	t.deepEqual(await keys(ceph.store, bucket), []);
	const bad = await publish(root, ['-N', '--to', 'https://example.org/x']);
	t.is(bad.exitCode, 1);
	t.is(bad.stderr.trim(), 'simplestreams: --to must be s3://BUCKET or s3://BUCKET/PREFIX, got https://example.org/x');
});
