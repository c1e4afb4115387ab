// The S3 client of a publish: endpoint, region and credentials from what every S3 tool reads
// (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws/config and credentials),
// and failures as one line naming the object and the store's error code.
import {S3Client, S3ServiceException} from '@aws-sdk/client-s3';
import {UsageError} from '../util/errors.js';
import {locationText, type BucketLocation} from './location.js';

export type ClientOptions = {
	/** --endpoint: an S3-compatible store's URL (Ceph RGW, MinIO, R2); otherwise AWS_ENDPOINT_URL or AWS. */
	endpoint?: string;
};

export function makeClient(options: ClientOptions): S3Client {
	// The SDK warns on every run that later releases will need Node 22; this pinned one runs on 20.
	process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
	const endpoint = options.endpoint ?? process.env['AWS_ENDPOINT_URL_S3'] ?? process.env['AWS_ENDPOINT_URL'];
	return new S3Client({
		...(options.endpoint ? {endpoint: options.endpoint} : {}),
		// Stores other than AWS (and AWS itself, still) answer bucket-in-the-path requests; an endpoint
		// given as an address has no DNS names for buckets.
		forcePathStyle: endpoint !== undefined,
		// Checksums only where S3 requires them: streamed bodies would otherwise go out as aws-chunked
		// with a trailing checksum, which Ceph RGW 16 refuses (411) and other stores do not all take.
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
		// A link that goes quiet would otherwise hold a run (and the bucket's lock) for ever: the SDK
		// sets no timeout. Two quiet minutes fail the request, which the SDK then retries.
		requestHandler: {socketTimeout: 120_000},
	});
}

/** A failed request, told as the store told it: the object, the S3 code, what it means here. */
export class BucketError extends UsageError {
	constructor(readonly code: string, message: string) {
		super(message);
	}
}

const hints: Record<string, string> = {
	AccessDenied: 'the credentials may not do this',
	NoSuchBucket: 'the bucket does not exist',
	InvalidAccessKeyId: 'the store does not know this access key',
	SignatureDoesNotMatch: 'the secret key is wrong',
	NoSuchKey: 'no such object',
	PreconditionFailed: 'the object changed meanwhile',
	RequestTimeTooSkewed: 'this machine\'s clock is off',
};

/** The S3 code of a failure; HEAD answers carry no body, so theirs comes from the status. */
function s3Code(error: unknown): string {
	if (error instanceof S3ServiceException) {
		const status = error.$metadata.httpStatusCode;
		if (error.name === 'NotFound' || (error.name === 'Unknown' && status === 404)) {
			return 'NotFound';
		}

		if (error.name === 'Unknown' || error.name === 'Forbidden') {
			return status === 403 ? 'AccessDenied' : `HTTP ${String(status)}`;
		}

		return error.name;
	}

	const cause = error as NodeJS.ErrnoException;
	return cause.code ?? cause.name ?? String(error);
}

export function bucketError(location: BucketLocation, key: string, action: string, error: unknown): BucketError {
	if (error instanceof BucketError) {
		return error;
	}

	const code = s3Code(error);
	const hint = hints[code];
	const message = error instanceof S3ServiceException ? '' : `: ${(error as Error).message}`;
	if (/Region is missing/i.test(String((error as Error).message))) {
		return new BucketError('NoRegion', `${locationText(location, key)}: no region: set AWS_REGION (or a region in the AWS profile)`);
	}

	if ((error as Error).name === 'CredentialsProviderError') {
		return new BucketError('NoCredentials', `${locationText(location, key)}: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE`);
	}

	return new BucketError(code, `cannot ${action} ${locationText(location, key)}: ${code}${hint ? ` (${hint})` : message}`);
}
