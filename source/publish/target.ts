// A command's --to: the bucket opened and checked (one request: a wrong key, bucket or permission
// fails here, before any work), and a published local tree sent to it.
import type {KnownRetirement} from '../retention/bucket.js';
import {decode} from '../streams/decode.js';
import {readStreams} from '../streams/read.js';
import {UsageError} from '../util/errors.js';
import {Bucket} from './bucket.js';
import {makeClient} from './client.js';
import type {PublishEmit} from './events.js';
import {parseLocation} from './location.js';
import {publishToBucket} from './publish.js';

/** `to`: s3://BUCKET[/PREFIX]; `endpoint`: an S3-compatible store's URL, when AWS_ENDPOINT_URL does not name it. */
export type PublishTarget = {to: string; endpoint?: string};

export async function openBucket(target: PublishTarget): Promise<Bucket> {
	const bucket = new Bucket(makeClient({endpoint: target.endpoint}), parseLocation(target.to));
	await bucket.check();
	return bucket;
}

export type Published = {root: string; productsText: string; indexText: string};

/** The streams a -N run left in `root`, as they are on disk. */
export async function readPublished(root: string): Promise<Published> {
	const {index, products} = await readStreams(root);
	const file = products[0];
	if (index.text === undefined || index.problem || !file?.text || file.problem) {
		throw new UsageError(`nothing to publish: ${root} has no readable streams (${index.problem ?? file?.problem ?? 'the index names no products file'})`);
	}

	return {root, productsText: file.text, indexText: index.text};
}

export async function sendTree(bucket: Bucket, tree: Published, options: {dryRun: boolean; known: readonly KnownRetirement[]; signal?: AbortSignal}, emit: PublishEmit): Promise<void> {
	await publishToBucket({...tree, bucket, products: decode(JSON.parse(tree.productsText)), ...options}, emit);
}
