// What a command does with --to: open the bucket, take its lock for a run that writes, and after the
// local run send the tree, told in plain lines on stderr (a dry run's plan on stdout).
import {lockBucket} from './lock.js';
import {publishLines} from './report.js';
import {openBucket, readPublished, sendTree, type TargetFlags} from './target.js';

export type Target = {
	/** Send the tree at `root`: the streams a -N run left there, or a dry run's `generated` ones. */
	send(root: string, generated?: {productsText: string; indexText: string}): Promise<void>;
	close(): Promise<void>;
};

export async function openTarget(flags: TargetFlags, write: boolean): Promise<Target> {
	const emit = publishLines(process.stderr, process.stdout, !write);
	const bucket = await openBucket(flags);
	const lock = write ? await lockBucket(bucket, 'simplestreams -N', emit) : undefined;
	return {
		async send(root, generated) {
			const tree = generated ? {root, productsText: generated.productsText, indexText: generated.indexText} : await readPublished(root);
			await sendTree(bucket, tree, {dryRun: !write}, emit);
		},
		async close() {
			await lock?.release();
			bucket.client.destroy();
		},
	};
}
