// `-N --to` in a real terminal (tmux, helpers/terminal.ts) against a real Ceph RADOS Gateway: under
// the tree, the live screen shows the upload as it shows hashing (a row for the file on its way with
// its bytes, the files sent, the total); q stops it: the upload is aborted, the bucket's lock released,
// exit 130. The upload goes through a link that stalls part-way (helpers/stall.ts), so the screen
// is read while it is under way, whatever the machine's speed.
import {randomBytes} from 'node:crypto';
import path from 'node:path';
import {GetObjectCommand, ListMultipartUploadsCommand} from '@aws-sdk/client-s3';
import test from 'ava';
import {storeForFile} from './helpers/ceph.js';
import {imageVersion, squashfsImage} from './helpers/images.js';
import {stallingEndpoint} from './helpers/stall.js';
import {quote, terminal} from './helpers/terminal.js';

const ceph = storeForFile('ss-publish-terminal');

test.serial('the live screen shows the upload under the tree; q aborts it and releases the bucket\'s lock', async t => {
	const bucket = 'live';
	await ceph.store.bucket(bucket);
	const root = path.join(ceph.tmp.path, 'webroot');
	const big = await imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: '20240101_0000', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
	await squashfsImage(big.files['root.squashfs']!, {'usr/lib/blob': randomBytes(60 << 20).toString('base64')});
	// The rootfs's parts stall half sent: its row stays on the screen.
	const relay = await stallingEndpoint(t, ceph.store.url);
	const env = Object.entries({...ceph.store.env, AWS_ENDPOINT_URL: relay.url, XDG_CACHE_HOME: path.join(ceph.tmp.path, 'xdg')}).map(([name, value]) => `${name}=${quote(value)}`).join(' ');
	const term = terminal(t, ceph.tmp.path, ['-N', '--to', `s3://${bucket}/live`, root], `> ${quote(path.join(ceph.tmp.path, 'out'))}`, {width: 120, height: 32}, {env});
	const ended = await Promise.race([relay.stalled.then(() => undefined), term.exitCode(240_000)]);
	t.is(ended, undefined, `the run ends before its upload stalls:\n${term.capture()}`);
	const screen = await term.until('the upload\'s row', text => /root\.squashfs .* 0% +0 B of [\d.]+ MiB/.test(text));
	t.regex(screen, /uploading to s3:\/\/live\/live\//);
	t.regex(screen, /✓ \d of 2 files uploaded/);
	t.regex(screen, /total [\d.]+ \S?B of [\d.]+ MiB · /);
	t.regex(screen, /acme/, 'the tree that published the root stays above');

	term.keys('q');
	t.is(await term.exitCode(120_000), 130);
	t.regex(term.capture(), /✗ cancelled: the upload is aborted, the bucket's streams are as they were/);
	t.deepEqual((await ceph.store.client.send(new ListMultipartUploadsCommand({Bucket: bucket}))).Uploads ?? [], [], 'the upload is aborted');
	await t.throwsAsync(ceph.store.client.send(new GetObjectCommand({Bucket: bucket, Key: 'live/.simplestreams.lock'})), undefined, 'the lock is released');
	await t.throwsAsync(ceph.store.client.send(new GetObjectCommand({Bucket: bucket, Key: 'live/streams/v1/index.json'})), undefined, 'no streams were sent');
});
