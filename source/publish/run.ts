// A run's --to: open the bucket (one request, so a wrong key or bucket fails before any work), hold
// its lock while it writes, and send the tree; what happens goes to the run's event sink. What the
// root retired, from its record as it was at the open and at each send (a run may delete what it
// retired before the send) and from the run's own events, tells the send what it may delete.
import type {KnownRetirement} from '../retention/bucket.js';
import type {RetentionEvent} from '../retention/events.js';
import {readRecord} from '../retention/record.js';
import {watchCommand} from '../util/lock.js';
import type {PublishEmit} from './events.js';
import {lockBucket} from './lock.js';
import {readBucketRecord} from './retirement.js';
import {openBucket, readPublished, sendTree, type PublishTarget} from './target.js';

export type Target = {
	/** Send the tree at `root`: the streams a -N run left there, or those a run just `generated`. Stopped by `signal`: the upload under way is aborted, the bucket's streams stay as they were. */
	send(root: string, generated?: {productsText: string; indexText: string}, signal?: AbortSignal): Promise<void>;
	/** Every event of the run: a version it retires (or a dry run would) counts as retired for the send, even once its files are gone. */
	see(event: {type: string}): void;
	close(): Promise<void>;
};

/**
 * `plan`: a dry run, sending nothing. `publish`: one -N run, holding the bucket's lock from now to
 * close (`command` names it in the lock). `watch`: a long-lived publisher's, taking the lock for each
 * send, so another publisher may go between.
 */
export async function openTarget(target: PublishTarget, root: string, mode: 'plan' | 'publish' | 'watch', emit: PublishEmit, command = mode === 'watch' ? watchCommand : 'simplestreams -N'): Promise<Target> {
	const dryRun = mode === 'plan';
	const known = new Map<string, KnownRetirement>();
	const remember = async () => {
		for (const entry of (await readRecord(root)).retired) {
			known.set(entry.path, entry);
		}
	};

	await remember();
	const bucket = await openBucket(target);
	let lock;
	try {
		// A retirement record the send would refuse stops the run before any work, as the root's does.
		await readBucketRecord(bucket);
		lock = mode === 'publish' ? await lockBucket(bucket, command, emit) : undefined;
	} catch (error) {
		bucket.client.destroy();
		throw error;
	}

	return {
		async send(root, generated, signal) {
			const tree = generated ? {root, productsText: generated.productsText, indexText: generated.indexText} : await readPublished(root);
			await remember();
			const each = mode === 'watch' ? await lockBucket(bucket, command, emit) : undefined;
			try {
				await sendTree(bucket, tree, {dryRun, known: [...known.values()], ...(signal ? {signal} : {})}, emit);
			} finally {
				await each?.release();
			}
		},
		see(event) {
			if (event.type === 'retired') {
				const {path, why, deleteAfter} = event as Extract<RetentionEvent, {type: 'retired'}>;
				known.set(path, {path, why, retiredAt: new Date().toISOString(), deleteAfter});
			}
		},
		async close() {
			await lock?.release();
			bucket.client.destroy();
		},
	};
}
