// The whole pipeline, scan → probe → plan → hash → (deltas) → catalog → write, as one call every
// front end shares. The stages after the scan (stages.ts) load only when a run needs them.
import {retain} from '../retention/retain.js';
import type {RunContext} from './context.js';
import type {RegenerationMemory} from './memory.js';
import type {Tree} from '../domain/tree.js';
import {reportingChanges, type PublishedBefore} from './changes.js';
import {noVersions, NothingToPublish} from './nothing.js';
import {lastReceipt, receiptPath, relist, replay, stillPublished, treeKey} from './receipt.js';
import {Listings} from './listings.js';
import {scan} from './scan.js';
import {warmFor} from './hash/pool.js';
import type {GenerateResult} from './stages.js';

/** Refused before anything else is looked at: the digest cache a watcher keeps stays as it is (the scan has said what is wrong with images/). */
function refuseEmpty(tree: Tree, context: RunContext): void {
	const reason = context.allowEmpty ? undefined : noVersions(tree);
	if (reason) {
		throw new NothingToPublish(reason);
	}
}

/**
 * `write`: publish the streams (-N, the watcher); otherwise a dry run that writes nothing under the
 * web root. `scanned`: the tree as already scanned (the watcher's, rescanned where it moved);
 * `before`: told when the published products file changes (changes.ts); `memory`: what the
 * watcher's last regeneration made, reused where nothing it was made of moved (memory.ts).
 */
export async function generate(context: RunContext, write: boolean, scanned?: Tree, before?: PublishedBefore, memory?: RegenerationMemory): Promise<GenerateResult> {
	const {tree, nextDeletion} = await retain(scanned ?? await scan(context.root, context.emit), {...context, write}, context.emit);
	context.signal?.throwIfAborted();
	refuseEmpty(tree, context);
	// A watcher's stages are loaded already; they warm the pool for what moved (stages.ts).
	if (!memory) {
		warmFor(tree, await context.cache(), context.pool);
	}

	const {runStages} = await import('./stages.js');
	// Not awaited here: this call's frame would hold the tree through the write (stages.ts).
	return runStages(tree, context, write, undefined, before, memory).then(result => {
		const due = [nextDeletion, result.nextDeletion].filter(time => time !== undefined);
		// Set, not spread: the products text is joined only when asked for (stages.ts).
		if (due.length > 0) {
			result.nextDeletion = Math.min(...due);
		}

		return result;
	});
}

/**
 * A one-shot -N run: when the receipt beside the digest cache shows that the streams were published
 * from this very tree (with the same delta options) and are untouched since, report that run's
 * findings again and stop; otherwise publish, and leave a receipt. `reportChanges`: end with the
 * versions that come and go, the published products read only when the receipt does not hold.
 * `scanned`: the tree as already scanned under the root's lock (an import's, rescanned where it placed its version).
 */
export async function publish(context: RunContext, reportChanges = false, scanned?: Tree): Promise<GenerateResult | 'unchanged'> {
	const path = receiptPath(context.cachePath());
	const last = lastReceipt(path);
	// The last receipt's listings serve whether or not its tree is this one: each holds only while its directory's stat does.
	const listings = scanned ? undefined : new Listings(last?.listings);
	const {tree} = await retain(scanned ?? await scan(context.root, context.emit, undefined, listings), {...context, write: true}, context.emit);
	context.signal?.throwIfAborted();
	refuseEmpty(tree, context);
	const receipt = {path, key: treeKey(tree, context.deltas), listings};
	if (stillPublished(last, receipt.key)) {
		replay(last, tree, context.emit);
		if (reportChanges) {
			context.emit({type: 'versions-changed', added: [], removed: []});
		}

		if (listings) {
			await relist(path, last, listings);
		}

		return 'unchanged';
	}

	// The hash threads start while the later stages load.
	warmFor(tree, await context.cache(), context.pool);
	const {runStages} = await import('./stages.js');
	return reportChanges ? reportingChanges(context.root, context.emit, async before => runStages(tree, context, true, receipt, before)) : runStages(tree, context, true, receipt);
}
