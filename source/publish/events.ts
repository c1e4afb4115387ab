// Typed events of a publish to a bucket, as the pipeline's stages emit theirs: the reporters render
// them, the tests read them. Every key is a full s3://BUCKET/KEY.
export type PublishEvent =
	/** What the bucket holds under the prefix's images/ before anything is uploaded. */
	| {type: 'bucket-read'; target: string; objects: number; bytes: number}
	/** A file the bucket lacks, or holds with another size or sha256. */
	| {type: 'upload-planned'; key: string; size: number; reason: 'missing' | 'different'}
	| {type: 'upload-progress'; key: string; done: number; size: number}
	| {type: 'uploaded'; key: string; size: number; milliseconds: number}
	/** A multipart upload an earlier run left unfinished (killed, cut off): its parts are deleted. */
	| {type: 'upload-aborted'; key: string; initiated?: string}
	/** The bucket's lock, stale (`reason` says why, as for the local lock), taken over. */
	| {type: 'lock-taken-over'; key: string; reason: string}
	/** images.json or index.json: `changed` false when the bucket already holds these bytes. */
	| {type: 'stream-published'; key: string; changed: boolean}
	/** Objects under images/ that the streams no longer name: left in place. */
	| {type: 'unreferenced'; objects: number; bytes: number}
	| {type: 'published'; target: string; uploaded: number; bytes: number; milliseconds: number; dryRun: boolean};

export type PublishEmit = (event: PublishEvent) => void;

const publishTypes = new Set<string>(['bucket-read', 'upload-planned', 'upload-progress', 'uploaded', 'upload-aborted', 'lock-taken-over', 'stream-published', 'unreferenced', 'published'] satisfies Array<PublishEvent['type']>);

export const isPublishEvent = (event: {type: string}): event is PublishEvent => publishTypes.has(event.type);
