// Where a tree is published when it is not (only) the local directory: `--to s3://BUCKET[/PREFIX]`.
import {UsageError} from '../util/errors.js';

export type BucketLocation = {
	bucket: string;
	/** '' or a key prefix ending in '/': the web root inside the bucket. */
	prefix: string;
};

/** s3://BUCKET[/PREFIX], BUCKET as S3 allows it (3-63 of a-z 0-9 . -), PREFIX without empty or dot segments. */
export function parseLocation(url: string): BucketLocation {
	const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
	if (!match) {
		throw new UsageError(`--to must be s3://BUCKET or s3://BUCKET/PREFIX, got ${url}`);
	}

	const bucket = match[1]!;
	if (!/^[a-z\d][a-z\d.-]{1,61}[a-z\d]$/.test(bucket)) {
		throw new UsageError(`--to ${url}: "${bucket}" is not a bucket name (3 to 63 of a-z, 0-9, . and -)`);
	}

	const segments = (match[2] ?? '').split('/').filter(Boolean);
	if (segments.some(segment => segment === '.' || segment === '..')) {
		throw new UsageError(`--to ${url}: the prefix may not hold . or .. segments`);
	}

	return {bucket, prefix: segments.map(segment => `${segment}/`).join('')};
}

export const locationText = (location: BucketLocation, key = '') => `s3://${location.bucket}/${location.prefix}${key}`;
