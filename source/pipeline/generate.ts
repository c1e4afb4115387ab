// The whole pipeline, scan → probe → plan → hash → (deltas) → catalog → write, as one call every
// front end shares. The stages after the scan (stages.ts) load only when a run needs them.
import {retain} from '../retention/retain.js';
import type {RunContext} from './context.js';
import {receiptPath, replay, stillPublished, treeKey} from './receipt.js';
import {scan} from './scan.js';
import type {GenerateResult} from './stages.js';

/** `write`: publish the streams (-N, the watcher); otherwise a dry run that writes nothing under the web root. */
export async function generate(context: RunContext, write: boolean): Promise<GenerateResult> {
	const {tree, nextDeletion} = await retain(await scan(context.root, context.emit), {...context, write}, context.emit);
	context.signal?.throwIfAborted();
	const {runStages} = await import('./stages.js');
	const result = await runStages(tree, context, write);
	return nextDeletion === undefined ? result : {...result, nextDeletion};
}

/**
 * A one-shot -N run: when the receipt beside the digest cache shows that the streams were published
 * from this very tree (with the same delta options) and are untouched since, report that run's
 * findings again and stop; otherwise publish, and leave a receipt.
 */
export async function publish(context: RunContext): Promise<GenerateResult | 'unchanged'> {
	const {tree} = await retain(await scan(context.root, context.emit), {...context, write: true}, context.emit);
	context.signal?.throwIfAborted();
	const receipt = {path: receiptPath(context.cachePath()), key: treeKey(tree, context.deltas)};
	const published = stillPublished(receipt);
	if (published) {
		replay(published, tree, context.emit);
		return 'unchanged';
	}

	const {runStages} = await import('./stages.js');
	return runStages(tree, context, true, receipt);
}
