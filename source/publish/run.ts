// What a command does with --to: open the bucket (one request, so a wrong key or bucket fails before
// any work), hold its lock while it writes, and send the tree, told in plain lines on stderr (a dry
// run's plan on stdout).
import {watchCommand} from '../util/lock.js';
import {lockBucket} from './lock.js';
import {publishLines} from './report.js';
import {openBucket, readPublished, sendTree, type TargetFlags} from './target.js';

export type Target = {
	/** Send the tree at `root`: the streams a -N run left there, or those a run just `generated`. Stopped by `signal`: the upload under way is aborted, the bucket's streams stay as they were. */
	send(root: string, generated?: {productsText: string; indexText: string}, signal?: AbortSignal): Promise<void>;
	close(): Promise<void>;
};

/**
 * `plan`: a dry run, sending nothing. `publish`: one -N run, holding the bucket's lock from now to
 * close. `watch`: the watcher's, taking the lock for each send, so another publisher may go between.
 */
export async function openTarget(flags: TargetFlags, mode: 'plan' | 'publish' | 'watch'): Promise<Target> {
	const dryRun = mode === 'plan';
	const emit = publishLines(process.stderr, process.stdout, dryRun);
	const bucket = await openBucket(flags);
	const command = mode === 'watch' ? watchCommand : 'simplestreams -N';
	const lock = mode === 'publish' ? await lockBucket(bucket, command, emit) : undefined;
	return {
		async send(root, generated, signal) {
			const tree = generated ? {root, productsText: generated.productsText, indexText: generated.indexText} : await readPublished(root);
			const each = mode === 'watch' ? await lockBucket(bucket, command, emit) : undefined;
			try {
				await sendTree(bucket, tree, {dryRun, ...(signal ? {signal} : {})}, emit);
			} finally {
				await each?.release();
			}
		},
		async close() {
			await lock?.release();
			bucket.client.destroy();
		},
	};
}
