// Typed events of a publish to a bucket, as the pipeline's stages emit theirs: the reporters render
// them, the tests read them. Every key is a full s3://BUCKET/KEY.
export type PublishEvent =
	/** What the bucket holds under the prefix's images/ before anything is uploaded. */
	| {type: 'bucket-read'; target: string; objects: number; bytes: number}
	/** A file the bucket lacks, or holds with another size or sha256. */
	| {type: 'upload-planned'; key: string; size: number; reason: 'missing' | 'different'}
	/** `done` 0 as a file starts going up; then after each part of a file sent in parts. */
	| {type: 'upload-progress'; key: string; done: number; size: number}
	| {type: 'uploaded'; key: string; size: number; milliseconds: number}
	/** A multipart upload an earlier run left unfinished (killed, cut off): its parts are deleted. */
	| {type: 'upload-aborted'; key: string; initiated?: string}
	/** The bucket's lock, stale (`reason` says why, as for the local lock), taken over. */
	| {type: 'lock-taken-over'; key: string; reason: string}
	/** images.json or index.json: `changed` false when the bucket already holds these bytes. */
	| {type: 'stream-published'; key: string; changed: boolean}
	/** Objects under images/ that the streams do not name and nobody retired here: left in place (`examples`: a few keys). */
	| {type: 'unreferenced'; objects: number; bytes: number; examples: string[]}
	/** A retired version's objects (`key`: its directory) joined the bucket's retirement record: deleted after `deleteAfter` (ISO). */
	| {type: 'bucket-retired'; key: string; objects: number; bytes: number; deleteAfter: string}
	/** Retired in the bucket earlier, still waiting for its grace. */
	| {type: 'bucket-retirement-pending'; key: string; objects: number; bytes: number; deleteAfter: string}
	/** A retired object the streams name again: out of the bucket's record, kept. */
	| {type: 'bucket-restored'; key: string}
	/** A retired object past its grace, deleted once the streams were up (a dry run: would be). */
	| {type: 'object-deleted'; key: string; size: number}
	/** A retired object past its grace that is not deleted: it changed since it retired, or the store refused (`reason` names the S3 code). */
	| {type: 'object-kept'; key: string; reason: string}
	| {type: 'published'; target: string; uploaded: number; bytes: number; deleted: number; deletedBytes: number; milliseconds: number; dryRun: boolean};

export type PublishEmit = (event: PublishEvent) => void;
