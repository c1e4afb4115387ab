// The operations a publish makes on a bucket, each failure a BucketError naming the object and the
// S3 code. Image files go up in one PUT when small and in parts otherwise, read in order and hashed
// on the way: an upload whose bytes are not the sha256 the streams name is abandoned, never completed.
import {createHash} from 'node:crypto';
import {open, type FileHandle} from 'node:fs/promises';
import {
	AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand,
	ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import {readFully} from '../util/read-fully.js';
import {bucketError, BucketError} from './client.js';
import type {BucketLocation} from './location.js';
import type {PublishedFile, RemoteObject} from './plan.js';

/** Parts of 8 MiB (S3 allows 10,000 parts: larger files get larger parts), at most four in memory at once. */
const partSize = 8 << 20;
const maxParts = 10_000;
const slots = 4;

/** Image files: opaque bytes for every client and every cache between them. */
const imageHeaders = {ContentType: 'application/octet-stream'};
/** The streams and the page: a CDN revalidates them, so a new publish is seen at once. */
const streamHeaders = {CacheControl: 'no-cache'};

/** At most `slots` buffers in use across every upload of the run. */
class Slots {
	private free = slots;
	private readonly waiting: Array<() => void> = [];
	async take(): Promise<void> {
		if (this.free > 0) {
			this.free--;
			return;
		}

		await new Promise<void>(resolve => this.waiting.push(resolve));
	}

	give(): void {
		const next = this.waiting.shift();
		if (next) {
			next();
		} else {
			this.free++;
		}
	}
}

/** A small object: its text, its ETag (unquoted, as conditional requests compare it) and its age. */
export type Existing = {etag: string; text: string; ageMs: number};

export class Bucket {
	private readonly slots = new Slots();

	constructor(readonly client: S3Client, readonly location: BucketLocation) {}

	key(path: string): string {
		return `${this.location.prefix}${path}`;
	}

	private async call<T>(key: string, action: string, send: () => Promise<T>): Promise<T> {
		try {
			return await send();
		} catch (error) {
			throw bucketError(this.location, key.slice(this.location.prefix.length), action, error);
		}
	}

	/** One listing request: fails at once, with the store's code, on a wrong key, bucket or permission. */
	async check(): Promise<void> {
		await this.call(this.location.prefix, 'list', async () => this.client.send(new ListObjectsV2Command({Bucket: this.location.bucket, Prefix: this.location.prefix, MaxKeys: 1})));
	}

	/** Every object under `path` (relative to the prefix) with its size. */
	async list(path: string): Promise<Map<string, number>> {
		const objects = new Map<string, number>();
		let token: string | undefined;
		do {
			const page = await this.call(this.key(path), 'list', async () => this.client.send(new ListObjectsV2Command({Bucket: this.location.bucket, Prefix: this.key(path), ContinuationToken: token})));
			for (const object of page.Contents ?? []) {
				if (object.Key !== undefined) {
					objects.set(object.Key.slice(this.location.prefix.length), object.Size ?? 0);
				}
			}

			token = page.IsTruncated ? page.NextContinuationToken : undefined;
		} while (token);
		return objects;
	}

	/** Size and recorded sha256 of the object at `path`, or undefined when there is none. */
	async head(path: string): Promise<RemoteObject | undefined> {
		try {
			const head = await this.client.send(new HeadObjectCommand({Bucket: this.location.bucket, Key: this.key(path)}));
			return {size: head.ContentLength ?? 0, sha256: head.Metadata?.['sha256']};
		} catch (error) {
			const failure = bucketError(this.location, path, 'read', error);
			if (failure.code === 'NotFound' || failure.code === 'NoSuchKey') {
				return undefined;
			}

			throw failure;
		}
	}

	/** The small object at `path`, or undefined when there is none. */
	async read(path: string): Promise<Existing | undefined> {
		try {
			const object = await this.client.send(new GetObjectCommand({Bucket: this.location.bucket, Key: this.key(path)}));
			return {etag: (object.ETag ?? '').replaceAll('"', ''), text: await object.Body!.transformToString(), ageMs: Date.now() - (object.LastModified?.getTime() ?? Date.now())};
		} catch (error) {
			const failure = bucketError(this.location, path, 'read', error);
			if (failure.code === 'NotFound' || failure.code === 'NoSuchKey') {
				return undefined;
			}

			throw failure;
		}
	}

	/**
	 * Write `text` at `path` only if no object is there (`ifMatch` undefined) or only if the object
	 * there still has that ETag. False when another writer got there first.
	 */
	async putConditional(path: string, text: string, ifMatch?: string): Promise<boolean> {
		try {
			await this.client.send(new PutObjectCommand({
				Bucket: this.location.bucket, Key: this.key(path), Body: text, ContentType: 'application/json', CacheControl: 'no-store',
				...(ifMatch === undefined ? {IfNoneMatch: '*'} : {IfMatch: ifMatch}),
			}));
			return true;
		} catch (error) {
			const failure = bucketError(this.location, path, 'write', error);
			if (failure.code === 'PreconditionFailed' || failure.code === 'ConditionalRequestConflict') {
				return false;
			}

			throw failure;
		}
	}

	async delete(path: string): Promise<void> {
		await this.call(this.key(path), 'delete', async () => this.client.send(new DeleteObjectCommand({Bucket: this.location.bucket, Key: this.key(path)})));
	}

	/** A streams file or the page, or a gzip of one (`encoding`), served as `type`. */
	async putStream(path: string, body: string | Uint8Array, sha256: string, type: string, encoding?: 'gzip'): Promise<void> {
		await this.call(this.key(path), 'write', async () => this.client.send(new PutObjectCommand({
			Bucket: this.location.bucket, Key: this.key(path), Body: body, ContentType: type, ...(encoding ? {ContentEncoding: encoding} : {}), ...streamHeaders, Metadata: {sha256},
		})));
	}

	/** Multipart uploads under the prefix that were started and never completed. */
	async unfinished(): Promise<Array<{key: string; uploadId: string; initiated?: string}>> {
		const uploads: Array<{key: string; uploadId: string; initiated?: string}> = [];
		let keyMarker: string | undefined;
		let uploadIdMarker: string | undefined;
		do {
			const page = await this.call(this.location.prefix, 'list the multipart uploads of', async () => this.client.send(new ListMultipartUploadsCommand({
				Bucket: this.location.bucket, Prefix: this.location.prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker,
			})));
			for (const upload of page.Uploads ?? []) {
				if (upload.Key !== undefined && upload.UploadId !== undefined) {
					uploads.push({key: upload.Key.slice(this.location.prefix.length), uploadId: upload.UploadId, initiated: upload.Initiated?.toISOString()});
				}
			}

			[keyMarker, uploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
		} while (keyMarker !== undefined);
		return uploads;
	}

	async abort(path: string, uploadId: string): Promise<void> {
		await this.call(this.key(path), 'abort the upload of', async () => this.client.send(new AbortMultipartUploadCommand({Bucket: this.location.bucket, Key: this.key(path), UploadId: uploadId})));
	}

	/** Send the local file at `local` as `file.path`, checking its bytes against `file.sha256` on the way; `progress` follows its parts. */
	async putFile(local: string, file: PublishedFile, progress: (done: number) => void, signal?: AbortSignal): Promise<void> {
		const handle = await open(local, 'r').catch((error: unknown) => {
			throw new BucketError((error as NodeJS.ErrnoException).code ?? 'EIO', `cannot read ${local} to upload it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
		});
		try {
			const size = Math.max(partSize, Math.ceil(file.size / maxParts));
			await (file.size <= size ? this.putWhole(handle, local, file, signal) : this.putParts(handle, local, file, size, progress, signal));
		} finally {
			await handle.close();
		}
	}

	private changed(local: string, file: PublishedFile): BucketError {
		return new BucketError('Changed', `${local} changed after it was hashed (it is no longer ${file.size} bytes with sha256 ${file.sha256.slice(0, 12)}…): not uploaded; run again`);
	}

	/** `size` bytes at `position`, or fewer when the file has been cut short meanwhile. */
	private async readPart(handle: FileHandle, position: number, size: number): Promise<Buffer> {
		const buffer = Buffer.allocUnsafe(size);
		return buffer.subarray(0, await readFully(handle, buffer, size, position));
	}

	private async putWhole(handle: FileHandle, local: string, file: PublishedFile, signal?: AbortSignal): Promise<void> {
		await this.slots.take();
		try {
			// One byte more than expected shows a file that grew.
			const body = await this.readPart(handle, 0, file.size + 1);
			if (body.length !== file.size || createHash('sha256').update(body).digest('hex') !== file.sha256) {
				throw this.changed(local, file);
			}

			await this.call(this.key(file.path), 'upload', async () => this.client.send(new PutObjectCommand({
				Bucket: this.location.bucket, Key: this.key(file.path), Body: body, ContentLength: body.length, ...imageHeaders, Metadata: {sha256: file.sha256},
			}), {abortSignal: signal}));
		} finally {
			this.slots.give();
		}
	}

	private async putParts(handle: FileHandle, local: string, file: PublishedFile, size: number, progress: (done: number) => void, signal?: AbortSignal): Promise<void> {
		const key = this.key(file.path);
		const {UploadId: uploadId} = await this.call(key, 'upload', async () => this.client.send(new CreateMultipartUploadCommand({
			Bucket: this.location.bucket, Key: key, ...imageHeaders, Metadata: {sha256: file.sha256},
		})));
		const hash = createHash('sha256');
		const parts: Array<Promise<{PartNumber: number; ETag?: string}>> = [];
		let done = 0;
		let failed: unknown;
		try {
			for (let position = 0, number = 1; position < file.size && failed === undefined; position += size, number++) {
				signal?.throwIfAborted();
				await this.slots.take();
				let body: Buffer;
				try {
					body = await this.readPart(handle, position, Math.min(size, file.size - position));
				} catch (error) {
					this.slots.give();
					throw error;
				}

				hash.update(body);
				const partNumber = number;
				const part = this.call(key, 'upload', async () => this.client.send(new UploadPartCommand({
					Bucket: this.location.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length,
				}), {abortSignal: signal})).then(answer => {
					done += body.length;
					progress(done);
					return {PartNumber: partNumber, ETag: answer.ETag};
				}, (error: unknown) => {
					failed ??= error;
					throw error;
				}).finally(() => {
					this.slots.give();
				});
				part.catch(() => undefined); // Awaited below; a failure also stops the reading above.
				parts.push(part);
			}

			const uploaded = await Promise.all(parts);
			const extra = await this.readPart(handle, file.size, 1);
			if (extra.length > 0 || hash.digest('hex') !== file.sha256) {
				throw this.changed(local, file);
			}

			await this.call(key, 'upload', async () => this.client.send(new CompleteMultipartUploadCommand({
				Bucket: this.location.bucket, Key: key, UploadId: uploadId, MultipartUpload: {Parts: uploaded},
			})));
		} catch (error) {
			await Promise.allSettled(parts);
			// Nothing of it stays: a later run finds no parts to pay for and starts the file again.
			await this.client.send(new AbortMultipartUploadCommand({Bucket: this.location.bucket, Key: key, UploadId: uploadId})).catch(() => undefined);
			throw error;
		}
	}
}

