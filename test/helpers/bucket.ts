// What a test reads back from a bucket of the real object store (helpers/ceph.ts): objects, their
// text, and the requests the gateway logged, counted from its own log.
import {readFile} from 'node:fs/promises';
import {GetObjectCommand, ListObjectsV2Command} from '@aws-sdk/client-s3';
import type {ObjectStore} from './ceph.js';

/** Every object of `bucket` as `KEY SIZE ETAG`, sorted. */
export async function keys(store: ObjectStore, bucket: string): Promise<string[]> {
	const listed = await store.client.send(new ListObjectsV2Command({Bucket: bucket}));
	return (listed.Contents ?? []).map(object => `${object.Key!} ${object.Size!} ${object.ETag!}`).sort();
}

/** The object's text, or undefined when there is none. */
export async function text(store: ObjectStore, bucket: string, key: string): Promise<string | undefined> {
	try {
		return await (await store.client.send(new GetObjectCommand({Bucket: bucket, Key: key}))).Body!.transformToString();
	} catch {
		return undefined;
	}
}

export const logLength = async (store: ObjectStore) => (await readFile(store.log, 'utf8')).length;

/** The requests the gateway logged since `from` (a length of its log), e.g. `PUT /bucket/key`. */
export async function requestsSince(store: ObjectStore, from: number): Promise<string[]> {
	const log = (await readFile(store.log, 'utf8')).slice(from);
	return [...log.matchAll(/beast: \S+ \S+ - \S+ \[[^\]]+\] "(\S+) (\S+) HTTP/g)].map(match => `${match[1]!} ${decodeURIComponent(match[2]!)}`);
}

/** The log is written after the answer: wait until the request that ends a run (the lock's release) is in it. */
export async function runRequests(store: ObjectStore, from: number, bucket: string): Promise<string[]> {
	const deadline = Date.now() + 30_000;
	for (;;) {
		const requests = await requestsSince(store, from);
		if (requests.some(request => request.startsWith(`DELETE /${bucket}/`) && request.endsWith('.simplestreams.lock')) || Date.now() > deadline) {
			return requests;
		}

		await new Promise(resolve => setTimeout(resolve, 100));
	}
}

/** The writes and deletions among `requests`, the lock's left out, without their query strings, sorted. */
export const changes = (requests: readonly string[]) => requests.filter(request => /^(PUT|POST|DELETE) /.test(request) && !request.includes('.simplestreams.lock')).map(request => request.split('?')[0]!).sort();
