// The object store the publishing tests run against: a real Ceph RADOS Gateway, started and stopped
// by the helper, serving a bucket anonymously over TLS 1.3.
import test from 'ava';
import {GetObjectCommand, PutObjectCommand} from '@aws-sdk/client-s3';
import {readFile} from 'node:fs/promises';
import {startCeph, type ObjectStore} from './helpers/ceph.js';

let store: ObjectStore | undefined;

test.before(async () => {
	store = await startCeph();
});

test.after.always(async () => {
	await store?.stop();
});

test('a bucket is readable anonymously over HTTPS and writable only with the credentials', async t => {
	const s = store!;
	await s.bucket('ceph-smoke');
	await s.client.send(new PutObjectCommand({Bucket: 'ceph-smoke', Key: 'hello.txt', Body: 'hello\n'}));
	t.is(await (await s.client.send(new GetObjectCommand({Bucket: 'ceph-smoke', Key: 'hello.txt'}))).Body!.transformToString(), 'hello\n');
	const https = await import('node:https');
	const ca = await readFile(s.caFile, 'utf8');
	const get = async (method: string, key: string) => new Promise<number>((resolve, reject) => {
		const request = https.request(`${s.url}/ceph-smoke/${key}`, {method, ca, minVersion: 'TLSv1.3'}, response => {
			response.resume();
			resolve(response.statusCode!);
		});
		request.on('error', reject);
		request.end(method === 'PUT' ? 'x' : undefined);
	});
	t.is(await get('GET', 'hello.txt'), 200);
	t.is(await get('GET', 'missing.txt'), 404);
	t.is(await get('PUT', 'anonymous.txt'), 403);
});
