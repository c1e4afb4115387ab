// Retention in a bucket, against a real Ceph RADOS Gateway (helpers/ceph.ts): prune, remove and
// restore with --to bring the bucket to the tree's published state; a retired version's objects stay
// in the bucket for their grace (a client may hold the index from before) and go at the first run
// after it; what nobody retired here is never deleted. Requests are counted from the gateway's log,
// and the real lxc and incus clients read the bucket as their remote.
import {readFile, stat} from 'node:fs/promises';
import path from 'node:path';
import {GetBucketPolicyCommand, PutBucketPolicyCommand, PutObjectCommand} from '@aws-sdk/client-s3';
import test from 'ava';
import {execa} from 'execa';
import {formatBytes} from '../source/util/format.js';
import {changes, keys, logLength, runRequests, text} from './helpers/bucket.js';
import {storeForFile} from './helpers/ceph.js';
import {remote, type ClientKind} from './helpers/clients.js';
import {imageVersion} from './helpers/images.js';

const cli = path.resolve('dist/cli.js');
const kinds: ClientKind[] = ['lxc', 'incus'];

const ceph = storeForFile('ss-publish-retention');

/** `simplestreams ARGS…` with the store's endpoint and credentials, as an operator's shell has them. */
const run = async (root: string, args: string[]) => execa('node', [cli, ...args, '--cache', path.join(root, '..', 'cache.json')], {reject: false, env: {CI: 'true', ...ceph.store.env}});

const version = async (root: string, name: string) =>
	imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: name, meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});

/** A new bucket `name` holding what `-N --to` published of a tree with these versions. */
async function published(name: string, versions: string[]) {
	await ceph.store.bucket(name);
	const root = path.join(ceph.tmp.path, name, 'webroot');
	const built = [];
	for (const each of versions) {
		built.push(await version(root, each));
	}

	const first = await run(root, ['-N', '--to', `s3://${name}`, root]);
	if (first.exitCode !== 0) {
		throw new Error(first.stderr);
	}

	return {root, built};
}

const paths = (listed: readonly string[]) => listed.map(line => line.split(' ')[0]!);

/** The serials each client lists from the bucket's HTTPS endpoint. */
async function serials(base: string): Promise<Record<ClientKind, string[]>> {
	const seen = {} as Record<ClientKind, string[]>;
	for (const kind of kinds) {
		const client = await remote(kind, base, ceph.store.caFile);
		try {
			seen[kind] = [...new Set((await client.list()).map(image => image.properties.serial ?? ''))].sort();
		} finally {
			await client.close();
		}
	}

	return seen;
}

test.serial('adds a version, retires one: only the new files go up; the retired ones stay until their grace ends', async t => {
	const bucket = 'retiring';
	const {root, built: [oldest]} = await published(bucket, ['20240101_0000', '20240102_0000']);

	const added = await version(root, '20240103_0000');
	let from = await logLength(ceph.store);
	const pruned = await run(root, ['prune', '-N', '--keep', '2', '--grace', '60s', '--to', `s3://${bucket}`, root]);
	t.is(pruned.exitCode, 0, pruned.stderr);
	const retiredLine = new RegExp(`retired in the bucket: s3://${bucket}/images/acme/1\\.0/amd64/default/20240101_0000 \\(2 objects, [\\d.]+ K?i?B\\), deleted after (\\S+)`);
	t.regex(pruned.stderr, retiredLine);
	t.deepEqual(changes(await runRequests(ceph.store, from, bucket)), [
		...Object.values(added.rel).map(file => `PUT /${bucket}/${file}`),
		...['streams/v1/images.json', 'streams/v1/images.json.gz', 'index.html', 'index.html.gz', '.simplestreams-retired.json'].map(key => `PUT /${bucket}/${key}`),
	].sort(), 'the new version\'s files, the streams and the bucket\'s record go up; nothing is deleted');
	const deleteAfter = Date.parse(retiredLine.exec(pruned.stderr)![1]!);
	const retiredKeys = Object.values(oldest!.rel);

	// A client that fetched the index before the prune may still download the retired version.
	const base = `${ceph.store.url}/${bucket}`;
	t.deepEqual(await serials(base), {lxc: ['20240102_0000', '20240103_0000'], incus: ['20240102_0000', '20240103_0000']});

	// A run during the grace keeps them, and sends nothing.
	from = await logLength(ceph.store);
	const during = await run(root, ['-N', '--to', `s3://${bucket}`, root]);
	t.is(during.exitCode, 0, during.stderr);
	t.true(Date.now() < deleteAfter, 'the run during the grace ended before it (a precondition of what follows, not a timing claim)');
	t.deepEqual(changes(await runRequests(ceph.store, from, bucket)), [], 'nothing written, nothing deleted');
	t.regex(during.stderr, new RegExp(`kept in the bucket until \\S+: s3://${bucket}/images/acme/1\\.0/amd64/default/20240101_0000 \\(2 objects`));
	const held = paths(await keys(ceph.store, bucket));
	t.true(retiredKeys.every(key => held.includes(key)), 'the retired objects are still there');

	// The next run after the grace deletes them, and only them, once the streams are up.
	while (Date.now() <= deleteAfter) {
		await new Promise(resolve => setTimeout(resolve, Math.min(1000, deleteAfter - Date.now() + 10)));
	}

	from = await logLength(ceph.store);
	const after = await run(root, ['prune', '-N', '--to', `s3://${bucket}`, root]);
	t.is(after.exitCode, 0, after.stderr);
	const requests = changes(await runRequests(ceph.store, from, bucket));
	t.deepEqual(requests.filter(request => request.startsWith('DELETE ')), retiredKeys.map(key => `DELETE /${bucket}/${key}`).sort());
	t.deepEqual(requests.filter(request => !request.startsWith('DELETE ')), [`PUT /${bucket}/.simplestreams-retired.json`], 'the record, without them; the streams are unchanged');
	for (const key of retiredKeys) {
		t.regex(after.stderr, new RegExp(`deleted s3://${bucket}/${key.replaceAll('.', '\\.')} \\([\\d.]+ K?i?B, past its grace\\)`));
	}

	t.regex(after.stderr, /published to s3:\/\/retiring\/: 0 files uploaded \(0 B\), 2 objects deleted/);
	const left = paths(await keys(ceph.store, bucket));
	t.false(left.some(key => key.includes('20240101_0000')));
	t.true(Object.values(added.rel).every(key => left.includes(key)));
	t.deepEqual(JSON.parse((await text(ceph.store, bucket, '.simplestreams-retired.json'))!).retired, []);
	await t.throwsAsync(stat(oldest!.dir), {code: 'ENOENT'}, 'deleted from the root too');
	t.deepEqual(await serials(base), {lxc: ['20240102_0000', '20240103_0000'], incus: ['20240102_0000', '20240103_0000']});
});

test.serial('remove --to by fingerprint: a dry run prints what it would delete, with sizes, and deletes nothing; objects nobody retired are left and said', async t => {
	const bucket = 'removing';
	const {root, built: [removed]} = await published(bucket, ['20240101_0000', '20240102_0000']);
	// Objects simplestreams never published: one beside the files of the version removed, one elsewhere.
	const foreign = [`${path.posix.dirname(removed!.rel['root.squashfs']!)}/notes.txt`, 'images/other/readme.txt'];
	for (const key of foreign) {
		await ceph.store.client.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: 'not an image'}));
	}

	const client = await remote('incus', `${ceph.store.url}/${bucket}`, ceph.store.caFile);
	t.teardown(async () => client.close());
	const fingerprint = (await client.list()).find(image => image.properties.serial === '20240101_0000')!.fingerprint;
	const sizes = Object.fromEntries(await Promise.all(Object.values(removed!.rel).map(async key => [key, (await stat(path.join(root, key))).size] as const)));

	const before = await keys(ceph.store, bucket);
	const dry = await run(root, ['remove', '--grace', '0', '--to', `s3://${bucket}`, root, fingerprint.slice(0, 12)]);
	t.is(dry.exitCode, 0, dry.stderr);
	const wouldDelete = dry.stdout.split('\n').filter(line => line.startsWith('would delete '));
	t.deepEqual(wouldDelete.sort(), Object.entries(sizes).map(([key, size]) => `would delete s3://${bucket}/${key} (${formatBytes(size)}, past its grace)`).sort());
	t.regex(dry.stdout, /dry run: would upload 0 files \(0 B\) to s3:\/\/removing\/ and delete 2 objects/);
	t.regex(dry.stdout, /2 objects under images\/ \(24 B\) are in no stream and nobody retired them here: left in place/);
	t.deepEqual(await keys(ceph.store, bucket), before, 'a dry run deletes nothing');

	const from = await logLength(ceph.store);
	const done = await run(root, ['remove', '-N', '--grace', '0', '--to', `s3://${bucket}`, root, fingerprint.slice(0, 12)]);
	t.is(done.exitCode, 0, done.stderr);
	const deletes = changes(await runRequests(ceph.store, from, bucket)).filter(request => request.startsWith('DELETE '));
	t.deepEqual(deletes, Object.keys(sizes).map(key => `DELETE /${bucket}/${key}`).sort());
	const left = paths(await keys(ceph.store, bucket));
	t.true(foreign.every(key => left.includes(key)), 'what simplestreams did not publish stays');
	t.regex(done.stderr, new RegExp(`left in place \\(.*s3://${bucket}/images/other/readme\\.txt`));
	// Fresh remotes: a client's cache would still hold the index from before (which is why grace 0 is for trees no client has seen).
	t.deepEqual(await serials(`${ceph.store.url}/${bucket}`), {lxc: ['20240102_0000'], incus: ['20240102_0000']});
	t.is(await text(ceph.store, bucket, 'streams/v1/images.json'), await readFile(path.join(root, 'streams/v1/images.json'), 'utf8'));
});

test.serial('restore --to within the grace publishes the version again from the objects still in the bucket', async t => {
	const bucket = 'restoring';
	const {root, built: [retired]} = await published(bucket, ['20240101_0000', '20240102_0000']);
	const pruned = await run(root, ['prune', '-N', '--keep', '1', '--to', `s3://${bucket}`, root]);
	t.is(pruned.exitCode, 0, pruned.stderr);
	t.regex(pruned.stderr, /retired in the bucket: s3:\/\/restoring\/images\/acme\/1\.0\/amd64\/default\/20240101_0000 \(2 objects/);
	const base = `${ceph.store.url}/${bucket}`;
	t.deepEqual(await serials(base), {lxc: ['20240102_0000'], incus: ['20240102_0000']});

	const from = await logLength(ceph.store);
	const restored = await run(root, ['restore', '-N', '--to', `s3://${bucket}`, root, 'acme/1.0/amd64/default/20240101_0000']);
	t.is(restored.exitCode, 0, restored.stderr);
	for (const key of Object.values(retired!.rel)) {
		t.regex(restored.stderr, new RegExp(`published again, out of the bucket's retirement record: s3://${bucket}/${key.replaceAll('.', '\\.')}`));
	}

	t.deepEqual(changes(await runRequests(ceph.store, from, bucket)), [
		...['streams/v1/images.json', 'streams/v1/images.json.gz', 'index.html', 'index.html.gz', '.simplestreams-retired.json'].map(key => `PUT /${bucket}/${key}`),
	].sort(), 'no image file is sent again, nothing is deleted');
	t.deepEqual(JSON.parse((await text(ceph.store, bucket, '.simplestreams-retired.json'))!).retired, []);
	t.deepEqual(await serials(base), {lxc: ['20240101_0000', '20240102_0000'], incus: ['20240101_0000', '20240102_0000']});
});

test.serial('a bucket retirement record this program did not write stops the run before any work, naming it; nothing changes', async t => {
	const bucket = 'unreadable';
	const {root} = await published(bucket, ['20240101_0000']);
	await ceph.store.client.send(new PutObjectCommand({Bucket: bucket, Key: '.simplestreams-retired.json', Body: '{"retired": "all of it"}'}));
	await version(root, '20240102_0000');
	const before = await keys(ceph.store, bucket);
	const streams = await readFile(path.join(root, 'streams/v1/images.json'), 'utf8');
	const refused = await run(root, ['prune', '-N', '--keep', '1', '--to', `s3://${bucket}`, root]);
	t.is(refused.exitCode, 1);
	t.regex(refused.stderr, /simplestreams: the retirement record s3:\/\/unreadable\/\.simplestreams-retired\.json is not one this program wrote: nothing sent; fix it, or delete it/);
	t.deepEqual(await keys(ceph.store, bucket), before, 'nothing uploaded or deleted, no lock left');
	t.is(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8'), streams, 'nothing retired or published in the root either');
});

test.serial('a deletion the store refuses names the object and the S3 code, stays recorded, and is done at the next run', async t => {
	const bucket = 'refusing';
	const {root, built: [removed]} = await published(bucket, ['20240101_0000', '20240102_0000']);
	const policy = await ceph.store.client.send(new GetBucketPolicyCommand({Bucket: bucket}));
	const deny = JSON.parse(policy.Policy!) as {Statement: unknown[]};
	deny.Statement.push({Effect: 'Deny', Principal: '*', Action: ['s3:DeleteObject'], Resource: [`arn:aws:s3:::${bucket}/images/*`]});
	await ceph.store.client.send(new PutBucketPolicyCommand({Bucket: bucket, Policy: JSON.stringify(deny)}));
	const refused = await run(root, ['remove', '-N', '--grace', '0', '--to', `s3://${bucket}`, root, 'acme/1.0/amd64/default/20240101_0000']);
	t.is(refused.exitCode, 0, refused.stderr);
	for (const key of Object.values(removed!.rel)) {
		t.regex(refused.stderr, new RegExp(`kept s3://${bucket}/${key.replaceAll('.', '\\.')}: cannot delete s3://${bucket}/${key.replaceAll('.', '\\.')}: AccessDenied`));
	}

	const record = JSON.parse((await text(ceph.store, bucket, '.simplestreams-retired.json'))!) as {retired: Array<{objects: Array<{path: string}>}>};
	t.deepEqual(record.retired.flatMap(entry => entry.objects.map(object => object.path)).sort(), Object.values(removed!.rel).sort(), 'still recorded, to be tried again');

	await ceph.store.client.send(new PutBucketPolicyCommand({Bucket: bucket, Policy: policy.Policy!}));
	const next = await run(root, ['-N', '--to', `s3://${bucket}`, root]);
	t.is(next.exitCode, 0, next.stderr);
	t.regex(next.stderr, /2 objects deleted/);
	t.false(paths(await keys(ceph.store, bucket)).some(key => key.includes('20240101_0000')));
});
