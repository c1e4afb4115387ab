// The whole pipeline, scan → probe → plan → hash → (deltas) → catalog → write, as one call every
// front end shares. The stages after the scan (build.ts) load only when a run needs them.
import {defaultCachePath, type DigestCache} from '../cache/digest-cache.js';
import type {ProductsFile} from '../streams/model.js';
import type {Catalog} from './catalog.js';
import type {DeltaOptions} from './delta-options.js';
import type {Emit} from './events.js';
import type {HashPool} from './hash/pool.js';
import {receiptPath, replay, stillPublished, treeKey} from './receipt.js';
import {scan} from './scan.js';

export type GenerateOptions = {
	root: string;
	/** Publish the streams (-N); otherwise a dry run that writes nothing under the web root. */
	write: boolean;
	jobs: number;
	cachePath?: string;
	signal?: AbortSignal;
	/** A pool that outlives this run (the watcher's); otherwise one is made only if there is hashing to do. */
	pool?: HashPool;
	/** A cache kept in memory between runs (the watcher's); otherwise loaded from cachePath. */
	cache?: DigestCache;
	/** Hold back versions with a file written less than this long ago (the watcher's settle window). */
	settleMs?: number;
	/** What was published before: held-back versions keep their entries from it. */
	previous?: ProductsFile;
	/** Publish vcdiff deltas between consecutive versions (--deltas). */
	deltas?: DeltaOptions;
};

export type GenerateResult = {
	catalog: Catalog;
	productsText: string;
	indexText: string;
	/** When the earliest held-back version is due (epoch ms), if any was held back. */
	settlingUntil?: number;
};

export async function generate(options: GenerateOptions, emit: Emit): Promise<GenerateResult> {
	const tree = await scan(options.root, emit);
	options.signal?.throwIfAborted();
	const {build} = await import('./build.js');
	return build(tree, options, emit);
}

/**
 * A one-shot -N run: when the receipt beside the digest cache shows that the streams were published
 * from this very tree (with the same delta options) and are untouched since, report that run's
 * findings again and stop; otherwise publish, and leave a receipt.
 */
export async function publish(options: Omit<GenerateOptions, 'write' | 'pool' | 'cache' | 'settleMs' | 'previous'>, emit: Emit): Promise<GenerateResult | 'unchanged'> {
	const tree = await scan(options.root, emit);
	options.signal?.throwIfAborted();
	const receipt = {path: receiptPath(options.cachePath ?? defaultCachePath(tree.root)), key: treeKey(tree, options.deltas)};
	const published = stillPublished(receipt);
	if (published) {
		replay(published, tree, emit);
		return 'unchanged';
	}

	const {build} = await import('./build.js');
	return build(tree, {...options, write: true}, emit, receipt);
}
