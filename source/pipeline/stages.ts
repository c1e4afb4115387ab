// Everything after the scan: probe → plan → hash → (deltas) → catalog → write, and the receipt of a
// -N run. Loaded only when there is work: a -N run over an unchanged tree stops before it.
import {join} from 'node:path';
import type {DigestCache} from '../cache/digest-cache.js';
import type {FileFacts} from '../domain/file.js';
import {warning} from '../domain/reasons.js';
import {pagePieces} from '../page/page.js';
import {pagePath, productsPath} from '../streams/paths.js';
import {readProducts} from '../streams/read.js';
import {same, streamsText, writeStreams} from '../streams/write.js';
import {errorCode} from '../util/errors.js';
import {catalog, unmovedProducts, type Catalog} from './catalog.js';
import type {RunContext} from './context.js';
import type {Emit} from './events.js';
import {keepPublished, type RegenerationMemory} from './memory.js';
import {retireLeftovers} from '../retention/orphans.js';
import {leftoverDeltas} from './delta-leftovers.js';
import {makeDeltas, planDeltas, type Delta} from './delta.js';
import {hash} from './hash/hash.js';
import {warmFor} from './hash/pool.js';
import {contentPair, pathPair, type Digests, type ScannedProduct, type Tree} from '../domain/tree.js';
import {NothingToPublish} from './nothing.js';
import {plan, type Plan, type PlannedProduct} from './plan.js';
import {probe} from './probe.js';
import {Recorder, type ReceiptTarget} from './receipt.js';
import {settlingVersions} from './settle.js';

/** Put a fingerprint this run took into the cache, unless it holds it already. */
function rememberCombined(cache: DigestCache, metaSha: string | undefined, sha256: string, combined: string | undefined): void {
	if (combined && metaSha) {
		const pair = contentPair(metaSha, sha256);
		if (cache.combined(pair) !== combined) {
			cache.recordCombined(pair, combined);
		}
	}
}

/**
 * Put what this run learned into the cache: the digests its tasks produced and those the probe took.
 * Every other digest in `digests` came from the cache, so only these need looking at (not all 20,000
 * files of a tree).
 */
function remember(cache: DigestCache, {tasks, taken}: Pick<Plan, 'tasks' | 'taken'>, facts: Map<string, FileFacts>, digests: Digests): void {
	for (const {file, metas, fingerprints} of taken) {
		const sha256 = digests.files.get(file.path)!;
		cache.record(file.path, file.identity, {content: facts.get(file.path)!.content, sha256});
		for (let index = 0; index < metas.length; index++) {
			rememberCombined(cache, digests.files.get(metas[index]!.path), sha256, fingerprints[index]);
		}
	}

	for (const {file, prefix, wantFile, wantCombined} of tasks) {
		const sha256 = digests.files.get(file.path);
		const known = facts.get(file.path);
		if (wantFile && sha256 && known && known.sha256 !== sha256) {
			cache.record(file.path, file.identity, {content: known.content, sha256});
		}

		if (wantCombined && prefix && sha256) {
			rememberCombined(cache, digests.files.get(prefix.path), sha256, digests.combined.get(pathPair(prefix.path, file.path)));
		}
	}
}

/** Save `cache`; a failure is a warning (the cache's own fate is no finding of the tree: a receipt does not report it again). */
async function save(cache: DigestCache, emit: Emit): Promise<void> {
	const entries = await cache.save().catch((error: unknown) => {
		emit({type: 'warning', path: cache.path, ...warning('cache-not-saved', errorCode(error))});
		return undefined;
	});
	if (entries !== undefined) {
		emit({type: 'cache-saved', path: cache.path, entries});
	}
}

export type GenerateResult = {
	catalog: Catalog;
	productsText: string;
	indexText: string;
	/** The files it published or found already right, relative to the root (the gzips too); none for a dry run. */
	served: readonly string[];
	/** When the earliest held-back version is due (epoch ms), if any was held back. */
	settlingUntil?: number;
	/** When the next retired entry is due for deletion (epoch ms), if any waits (generate.ts; a delta retired by this run). */
	nextDeletion?: number;
};

/** What the write needs of the stages before it: the scanned tree, the probe's facts, the plan and the digests are not among it. */
type Cataloged = {
	root: string;
	catalog: Catalog;
	deltas: Delta[];
	leftovers: string[];
	nextDeletion?: number;
	readyAt?: number;
	/** The digest cache's save, begun once the digests were all in. */
	saving: Promise<void>;
	cache: DigestCache;
	recorder?: Recorder;
};

/**
 * `write`: publish the streams; `receipt`: where to record what was published, if anywhere;
 * `before`: told, before it is written, that the products file changes (or, dry, would; changes.ts).
 * The stages up to the catalog run in a call of their own, which the write waits for with none of
 * their state: the tree, facts, plan and digests of a large tree are tens of MB, and the write's
 * own memory comes on top of whatever is still live then (bench/RESULTS.md).
 */
export async function runStages(tree: Tree, context: RunContext, write: boolean, receipt?: ReceiptTarget, before?: {replacing: () => Promise<void>}, memory?: RegenerationMemory): Promise<GenerateResult> {
	return cataloged(tree, context, write, receipt, memory).then(async made => written(made, context, write, before, memory));
}

async function cataloged(tree: Tree, context: RunContext, write: boolean, receipt?: ReceiptTarget, memory?: RegenerationMemory): Promise<Cataloged> {
	const {jobs, signal, settleMs} = context;
	// A -N run notes what the next one, over the same tree, reports again (receipt.ts).
	const recorder = receipt && new Recorder(receipt, context.emit);
	const emit = recorder?.emit ?? context.emit;
	// A watcher's products that did not move since its last regeneration are neither probed nor planned again.
	const unmoved = memory && !context.deltas ? unmovedProducts(tree.products, memory.catalog) : new Map<ScannedProduct, PlannedProduct>();
	const moved = unmoved.size === 0 ? tree : {...tree, products: tree.products.filter(product => !unmoved.has(product))};
	const {held, readyAt} = settleMs ? settlingVersions(moved, Date.now(), settleMs, emit) : {held: undefined, readyAt: undefined};
	const cache = await context.cache();
	if (memory) {
		warmFor(moved, cache, context.pool);
	}

	const {facts, early} = await probe(moved, cache, emit);
	const planned = plan(moved.products, facts, {jobs, cachedCombined: pair => cache.combined(pair), held, early}, emit);
	// The plan holds what it takes of these: a second copy of every digest of a large tree would
	// otherwise stay alive through the catalog and the write.
	early.clear();
	let next = 0;
	const products = unmoved.size === 0 ? planned.products : tree.products.map(product => unmoved.get(product) ?? planned.products[next++]!);
	const digests = planned.cached;
	let finished = false;
	let deltas: Delta[] = [];
	let leftovers: string[] = [];
	let nextDeletion: number | undefined;
	let saving = Promise.resolve();
	try {
		if (planned.tasks.length > 0 || planned.taken.length > 0) {
			await hash(planned.tasks, context.pool, digests, emit, signal, planned.taken);
		}

		// Before the cache is pruned and saved: it records what each delta was made from.
		if (context.deltas) {
			const wanted = planDeltas(planned.products, digests, tree.root, context.deltas, emit);
			deltas = await makeDeltas(wanted, {cache, jobs, ratio: context.deltas.ratio, write, signal}, emit);
			const found = leftoverDeltas(planned.products, wanted, tree.root, context.deltas);
			// A receipt pins them: deleting one changes what a run reports.
			leftovers = found.map(leftover => join(tree.root, leftover.path));
			// Not a finding a receipt reports again: later runs say it is pending (retain.ts).
			nextDeletion = await retireLeftovers(tree.root, found, deltas.map(delta => delta.path), {write, graceMs: context.retention?.graceMs}, context.emit);
		}

		finished = true;
	} finally {
		// A watcher keeps its threads for the next regeneration; any other run hashes nothing more.
		if (!memory) {
			context.pool.rest();
		}

		remember(cache, planned, facts, digests);
		// Only after a run that looked everything up: a held version's fingerprints and deltas were
		// not, and are wanted again once it has settled; nor were those of what the scan set aside
		// (fixing a requirements file must not mean hashing every image below it again).
		// Nor after one that left unmoved products out: what left since goes at the next full regeneration.
		if (finished && !held?.size && tree.setAside.length === 0 && unmoved.size === 0) {
			cache.prune();
		}

		// Saved while the run catalogs and writes (its fsync beside theirs, bench/RESULTS.md); a run
		// that stops here waits for it.
		saving = save(cache, context.emit);
		if (!finished) {
			await saving;
		}
	}

	let handedOn = false;
	try {
		// A held version keeps what the streams on disk say of it until it has settled.
		const previous = held?.size ? memory?.published ?? (await readProducts(tree.root, productsPath)).decoded : undefined;
		const result = catalog(products, digests, emit, previous, deltas, memory?.catalog);
		emit({type: 'cataloged', products: result.index.index.images.products.length, versions: result.versions, images: result.images});
		if (result.images.lxd + result.images.incus === 0 && !context.allowEmpty) {
			const versions = tree.products.reduce((sum, p) => sum + p.versions.length, 0);
			const which = versions === 1 ? 'the one version under images/ cannot' : `none of the ${versions} versions under images/ can`;
			throw new NothingToPublish(`${which} be published${held?.size ? ` yet (${held.size} still settling)` : ' (see why above)'}`, readyAt);
		}

		recorder?.files(tree, facts, digests);
		handedOn = true;
		return {root: tree.root, catalog: result, deltas, leftovers, nextDeletion, readyAt, saving, cache, recorder};
	} finally {
		// Its outcome is an event of this run, whatever the run's own.
		if (!handedOn) {
			await saving;
		}
	}
}

async function written({root, catalog: result, deltas, leftovers, nextDeletion, readyAt, saving, cache, recorder}: Cataloged, context: RunContext, write: boolean, before?: {replacing: () => Promise<void>}, memory?: RegenerationMemory): Promise<GenerateResult> {
	const {signal} = context;
	const emit = recorder?.emit ?? context.emit;
	try {
		const text = streamsText(result.products, result.index, memory?.texts);
		// Set, not spread: a spread would join the products text, which the write takes in pieces.
		text.page = () => pagePieces(result.products, memory?.sections);
		text.packed = memory?.packed;
		// A cancelled run never publishes: the last point to stop is right before the write.
		signal?.throwIfAborted();
		const served = write ? await writeStreams(root, text, emit, {
			replacing: async path => (path === productsPath ? before?.replacing() : undefined),
			pageKept(why) {
				emit({type: 'warning', path: pagePath, ...warning('page-not-ours', why)});
			},
			held: memory && {path: productsPath, take: file => keepPublished(memory, file, text.productsPieces)},
		}) : [];
		if (!write && before && !(await same(join(root, productsPath), text.productsPieces))) {
			await before.replacing();
		}

		if (memory && write) {
			memory.published = result.products;
		}

		if (recorder) {
			// The receipt pins the cache's file as saved.
			await saving;
			const outputs = [...served, ...deltas.map(d => d.path)].map(path => join(root, path));
			await recorder.record([...outputs, ...leftovers, ...cache.paths]);
		}

		return {
			catalog: result,
			// Joined when asked for (a dry run's output, a bucket's upload), not by every run.
			get productsText() {
				return text.products;
			},
			indexText: text.index,
			served,
			...(readyAt === undefined ? {} : {settlingUntil: readyAt}),
			...(nextDeletion === undefined ? {} : {nextDeletion}),
		};
	} finally {
		// Its outcome is an event of this run, whatever the run's own.
		await saving;
	}
}
