// A published tree sent to a bucket, which becomes its web root: the image files the bucket lacks
// (or holds with another size or sha256) first, then images.json, then index.json, then the page (each with its .gz), so a client never
// reads an index naming an object that is not there yet. Streams go up only while the bucket's lock
// is held; a failure before them leaves the bucket's streams as they were. Then what retired here and
// is past its grace is deleted (publish/retirement.ts): never while a published index names it.
import {createHash} from 'node:crypto';
import {join} from 'node:path';
import type {KnownRetirement} from '../retention/bucket.js';
import type {ProductsFile} from '../streams/model.js';
import {gzipPath, indexPath, pagePath, productsPath} from '../streams/paths.js';
import {gzipped, publishedPage} from '../streams/write.js';
import {mapLimit} from '../util/map-limit.js';
import type {Bucket} from './bucket.js';
import type {PublishEmit} from './events.js';
import {locationText} from './location.js';
import {publishedFiles, uploadReason, type PublishedFile} from './plan.js';
import {deleteDue, planInBucket, readBucketRecord} from './retirement.js';

export type BucketPublish = {
	/** The local web root the files are read from. */
	root: string;
	bucket: Bucket;
	products: ProductsFile;
	productsText: string;
	indexText: string;
	/** What the root retired (its record; a dry run's plan): only their objects are ever deleted. */
	known?: readonly KnownRetirement[];
	/** Say what would be sent and cleaned up; send and delete nothing. */
	dryRun: boolean;
	signal?: AbortSignal;
};

/** Files at once; their bytes in memory are bounded by the bucket's part slots. */
const fileConcurrency = 4;
const headConcurrency = 8;
const imagesTop = 'images/';

const sha256 = (text: string | Uint8Array) => createHash('sha256').update(text).digest('hex');

export async function publishToBucket(options: BucketPublish, emit: PublishEmit): Promise<void> {
	const {bucket, dryRun, signal} = options;
	const started = performance.now();
	const target = locationText(bucket.location);

	// Only a run holding the lock gets here with dryRun false: what is unfinished is a dead run's.
	for (const upload of await bucket.unfinished()) {
		if (!dryRun) {
			await bucket.abort(upload.key, upload.uploadId);
		}

		emit({type: 'upload-aborted', key: locationText(bucket.location, upload.key), initiated: upload.initiated});
	}

	const record = await readBucketRecord(bucket);
	const listed = await bucket.list(imagesTop);
	emit({type: 'bucket-read', target, objects: listed.size, bytes: [...listed.values()].reduce((sum, size) => sum + size, 0)});
	const files = publishedFiles(options.products);
	// Only an object of the right size can be the right one: its recorded sha256 is asked for then.
	const plan = await mapLimit(files, headConcurrency, async file => {
		const size = listed.get(file.path);
		const remote = size === file.size ? await bucket.head(file.path) : size === undefined ? undefined : {size};
		return {file, reason: uploadReason(file, remote)};
	});
	const uploads: PublishedFile[] = [];
	for (const {file, reason} of plan) {
		if (reason) {
			uploads.push(file);
			emit({type: 'upload-planned', key: locationText(bucket.location, file.path), size: file.size, reason});
		}
	}

	const retention = await planInBucket(bucket, {record, known: options.known ?? [], listed, named: new Set(files.map(file => file.path))}, emit);
	const bytes = uploads.reduce((sum, file) => sum + file.size, 0);
	/** Last, after the streams (a dry run: at once): what is past its grace goes. */
	const finish = async () => {
		const deleted = await deleteDue(bucket, retention, listed, dryRun, emit);
		emit({type: 'published', target, uploaded: uploads.length, bytes, deleted: deleted.objects, deletedBytes: deleted.bytes, milliseconds: performance.now() - started, dryRun});
	};

	if (dryRun) {
		await finish();
		return;
	}

	await mapLimit(uploads, fileConcurrency, async file => {
		signal?.throwIfAborted();
		const began = performance.now();
		const key = locationText(bucket.location, file.path);
		emit({type: 'upload-progress', key, done: 0, size: file.size}); // On its way: a screen gives it a row.
		await bucket.putFile(join(options.root, file.path), file, done => {
			emit({type: 'upload-progress', key, done, size: file.size});
		}, signal);
		emit({type: 'uploaded', key, size: file.size, milliseconds: performance.now() - began});
	});

	signal?.throwIfAborted();
	const page = await publishedPage(options.root);
	const served = [[productsPath, options.productsText, 'application/json'], [indexPath, options.indexText, 'application/json'], ...(page === undefined ? [] : [[pagePath, page, 'text/html; charset=utf-8'] as const])] as const;
	for (const [path, text, type] of served) {
		let changed = false;
		// Each file, then its gzip (as in a web root: writeStreams) with the headers a server sends the
		// file with when it sends the gzip instead: an edge rule that answers a client accepting gzip
		// with X.gz passes them on unchanged. A store sends the files themselves as they are.
		for (const [key, body, encoding] of [[path, text, undefined], [gzipPath(path), await gzipped(text), 'gzip']] as const) {
			const digest = sha256(body);
			if ((await bucket.head(key))?.sha256 !== digest) {
				await bucket.putStream(key, body, digest, type, encoding);
				changed ||= key === path;
			}
		}

		emit({type: 'stream-published', key: locationText(bucket.location, path), changed});
	}

	signal?.throwIfAborted();
	await finish();
}
