// The library under the command line: what each command does, for a program to call. Every call
// takes its options and an event sink and returns what it made or found; the command line (cli.tsx,
// commands/) only maps flags onto these calls and picks a reporter. The root is checked here, once
// per call. Only the modules of a run without changes load with this file: the rest load on first use.
import {access, constants, mkdir, realpath, stat} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {warning} from './domain/reasons.js';
import type {ImportEmit} from './import/execute.js';
import {journalNames} from './import/journals.js';
import type {ImportPlan} from './import/plan.js';
import type {HeldRoot, PlanImportOptions, PlanImportResult} from './import/planning.js';
import type {ListedImage} from './list/listed.js';
import type {MirrorEvent} from './mirror/events.js';
import type {MirrorOptions as PassOptions, MirrorPass} from './mirror/run.js';
import type {Emit, PipelineEvent} from './pipeline/events.js';
import type {GenerateResult} from './pipeline/stages.js';
import type {Target} from './publish/run.js';
import type {PublishTarget} from './publish/target.js';
import {runContext, withRunContext, type RunContext, type RunOptions} from './pipeline/context.js';
import {reportingChanges} from './pipeline/changes.js';
import {generate as runGenerate, publish as runPublish} from './pipeline/generate.js';
import {errorCode, UsageError} from './util/errors.js';
import {acquireLock, heldByWatcher, watchCommand} from './util/lock.js';
import {requireRoot} from './util/root.js';
import type {RetentionOptions} from './retention/retain.js';
import type {VerifyReport} from './verify/verify.js';
import type {WatchEmit} from './watch/events.js';

export type {PipelineEvent, Emit} from './pipeline/events.js';
export type {WatchEvent, WatchEmit} from './watch/events.js';
export type {ImportEvent, ImportEmit} from './import/execute.js';
export type {MirrorEvent} from './mirror/events.js';
export type {PublishEvent} from './publish/events.js';
export type {PublishTarget} from './publish/target.js';
export type {MirrorPass} from './mirror/run.js';
export type {Filters} from './mirror/plan.js';
export type {GenerateResult} from './pipeline/stages.js';
export type {DeltaOptions} from './pipeline/delta-options.js';
export type {VerifyReport} from './verify/verify.js';
export type {RetentionOptions} from './retention/retain.js';
export type {RetentionEvent} from './retention/events.js';
export type {ListedImage} from './list/listed.js';
export type {ImportPlan} from './import/plan.js';
export type {ChooseContext, HeldRoot, PlanImportOptions, PlanImportResult} from './import/planning.js';
export {UsageError} from './util/errors.js';
export {UpstreamError} from './mirror/errors.js';
export {LockHeld} from './util/lock.js';
export {NothingToPublish} from './pipeline/nothing.js';

/**
 * The web root (images/ below it, streams/v1/ written in it), hash workers, the digest cache (by
 * default one file per root under ~/.cache/simplestreams/), deltas, a signal that stops the run (the
 * workers stop, nothing is published), and allowEmpty: publish an empty catalog when images/ holds
 * nothing publishable; otherwise that is refused with NothingToPublish and the published streams
 * stay, as it is what an unmounted share looks like. `to`: the published tree is then sent on to a
 * bucket (publish/), which becomes the web root; a dry run says what it would send.
 */
export type GenerateOptions = Omit<RunOptions, 'settleMs'> & {to?: PublishTarget};

/**
 * With `to`, the bucket opened and checked before any work (a wrong key or bucket, or its lock held
 * by another publisher, fails at once), `work` given it, and closed (its lock released) after.
 * `work`'s events go through the target too: what the run retires is what the send may delete.
 */
async function withTarget<T, E extends Emit | MirrorEmit>(to: PublishTarget | undefined, root: string, mode: 'plan' | 'publish' | 'watch', emit: E, command: string | undefined, work: (target: Target | undefined, emit: E) => Promise<T>): Promise<T> {
	if (!to) {
		return work(undefined, emit);
	}

	const {openTarget} = await import('./publish/run.js');
	const target = await openTarget(to, root, mode, emit, command);
	const seen = ((event: Parameters<E>[0]) => {
		target.see(event);
		emit(event as never);
	}) as E;
	try {
		return await work(target, seen);
	} finally {
		await target.close();
	}
}

/** A dry run: the streams as they would be published, written nowhere (nor sent: `to` says what would be). */
export async function generate(options: GenerateOptions, emit: Emit): Promise<GenerateResult> {
	await requireRoot(options.root);
	const {to, ...run} = options;
	return withTarget(to, run.root, 'plan', emit, undefined, async (target, emit) => {
		const result = await withRunContext(run, emit, async context => reportingChanges(run.root, emit, async before => runGenerate(context, false, undefined, before)));
		await target?.send(run.root, result, run.signal);
		return result;
	});
}

/**
 * Fail before hours of hashing, not after them; and make nothing yet (a run refused as it goes on
 * leaves the root as it was): the directory, or the nearest one above it that is there, must be writable.
 */
async function requireWritable(streams: string): Promise<void> {
	for (let dir = streams; ; dir = dirname(dir)) {
		try {
			if (!(await stat(dir)).isDirectory()) {
				throw Object.assign(new Error('not a directory'), {code: 'ENOTDIR'});
			}

			await access(dir, constants.W_OK);
			return;
		} catch (error) {
			if (errorCode(error) !== 'ENOENT' || dirname(dir) === dir) {
				throw new UsageError(`cannot write to ${streams} (${errorCode(error)})`);
			}
		}
	}
}

/**
 * Publish the streams (-N): one writer per root, so the root's lock is held while it runs. A run over
 * a tree the last run published, with its streams untouched, is 'unchanged' (the receipt). With `to`
 * the tree is then sent to the bucket, whose lock is held from before the run to the end; `signal`
 * stops the upload too (the bucket's streams stay as they were).
 */
export async function publish(options: GenerateOptions, emit: Emit): Promise<GenerateResult | 'unchanged'> {
	await requireRoot(options.root);
	await requireWritable(join(options.root, 'streams', 'v1'));
	const {to, ...run} = options;
	return withTarget(to, run.root, 'publish', emit, undefined, async (target, emit) => {
		const result = await withRunContext(run, emit, async context => holding(run.root, 'simplestreams -N', async () => publishHolding(context)));
		await target?.send(run.root, undefined, run.signal);
		return result;
	});
}

/** Publish on a run context that may have served an import before (its cache and pool), holding the root's lock. */
async function publishHolding(context: RunContext): Promise<GenerateResult | 'unchanged'> {
	await recoverHolding(context.root, context.emit);
	return runPublish(context, true);
}

async function holding<T>(root: string, command: string, work: () => Promise<T>): Promise<T> {
	const lock = await acquireLock(root, command);
	try {
		return await work();
	} finally {
		await lock.release();
	}
}

/** The imports a killed run left half done, finished or undone (import/journal.ts), by a holder of the root's lock; true when there were any. */
async function recoverHolding(root: string, emit: Emit): Promise<boolean> {
	if ((await journalNames(root)).length === 0) {
		return false;
	}

	const {ImportJournal} = await import('./import/journal.js');
	const recovered = await ImportJournal.recover(root);
	for (const {path, message} of recovered) {
		emit({type: 'warning', path, ...warning('import-recovered', message)});
	}

	return recovered.length > 0;
}

/**
 * A mirror of an upstream simplestreams server (its base URL): products selected by `filters`, the
 * newest `keep` versions of each (default all), `jobs` downloads at once, `caFile` trusted besides the
 * system's roots; `graceMs` before retired versions' files go; `to`: each pass's tree then sent to a bucket.
 */
export type MirrorOptions = Omit<GenerateOptions, 'retention'> & Omit<PassOptions, 'jobs' | 'signal'> & {graceMs?: number};

export type MirrorEmit = (event: MirrorEvent | PipelineEvent) => void;

/** What a mirror would do: upstream read, nothing written. UpstreamError when upstream cannot be read. */
export async function planMirror(options: MirrorOptions, emit: MirrorEmit): Promise<MirrorPass> {
	await requireRoot(options.root);
	const {planPass} = await import('./mirror/run.js');
	const {upstream, retiredBefore, ...pass} = await planPass(options, emit);
	await upstream.close();
	return pass;
}

/** One pass, under a lock taken already; then sent to the bucket (`target`) when there is one. */
async function mirrorPass({to, ...options}: MirrorOptions, emit: MirrorEmit, target?: Target): Promise<{pass: MirrorPass; result: GenerateResult | 'unchanged'}> {
	const {planPass, fetchPass} = await import('./mirror/run.js');
	const planned = await planPass(options, emit);
	// One run context for the fetch and the publish: the digests the fetch checked go into the cache the publish reads.
	const {pass, result} = await withRunContext(options, emit, async context => {
		let pass: MirrorPass;
		try {
			pass = await fetchPass(planned, options, await context.cache(), emit);
		} finally {
			await planned.upstream.close();
		}

		await recoverHolding(options.root, emit);
		const retention = {
			...(pass.retiring.length > 0 ? {remove: pass.retiring} : {}),
			...(pass.restoring.length > 0 ? {restore: pass.restoring} : {}),
			...(options.graceMs === undefined ? {} : {graceMs: options.graceMs}),
		};
		return {pass, result: await runPublish({...context, retention})};
	});
	await target?.send(options.root, undefined, options.signal);
	return {pass, result};
}

/**
 * Mirror (-N): fetch what upstream offers and this root lacks, check it, place it, and publish the
 * streams last; what upstream dropped retires. Upstream unreachable or unreadable: UpstreamError,
 * and the root is as it was.
 */
export async function mirror(options: MirrorOptions, emit: MirrorEmit): Promise<{pass: MirrorPass; result: GenerateResult | 'unchanged'}> {
	await requireRoot(options.root);
	await requireWritable(join(options.root, 'streams', 'v1'));
	return withTarget(options.to, options.root, 'publish', emit, 'simplestreams mirror -N', async (target, emit) => holding(options.root, 'simplestreams mirror -N', async () => mirrorPass(options, emit, target)));
}

export type Mirroring = {stop(): Promise<void>};

/**
 * --every: a pass now and then one every `everyMs`, holding the root's lock until stopped. A pass
 * that fails (upstream down, bad JSON) changes nothing and is told; the next one is tried as planned.
 */
export async function mirrorEvery(options: MirrorOptions & {everyMs: number}, emit: MirrorEmit): Promise<Mirroring> {
	await requireRoot(options.root);
	await requireWritable(join(options.root, 'streams', 'v1'));
	// The bucket's lock is taken for each pass's send, so another publisher may go between passes.
	const target = options.to ? await import('./publish/run.js').then(async ({openTarget}) => openTarget(options.to!, options.root, 'watch', emit, 'simplestreams mirror --every')) : undefined;
	let lock;
	try {
		lock = await acquireLock(options.root, 'simplestreams mirror --every');
	} catch (error) {
		await target?.close();
		throw error;
	}

	const stopping = new AbortController();
	let timer: NodeJS.Timeout | undefined;
	let running: Promise<void> = Promise.resolve();
	const pass = async () => {
		const nextAt = () => Date.now() + options.everyMs;
		try {
			const {pass: done} = await mirrorPass({...options, signal: stopping.signal}, emit, target);
			emit({type: 'pass-finished', placed: done.placed.length, refused: done.refused.length, retiring: done.retiring.length, nextAt: nextAt()});
		} catch (error) {
			if (stopping.signal.aborted) {
				return;
			}

			emit({type: 'pass-failed', reason: (error as Error).message, nextAt: nextAt()});
		}

		if (!stopping.signal.aborted) {
			timer = setTimeout(() => {
				running = pass();
			}, options.everyMs);
		}
	};

	running = pass();
	return {
		async stop() {
			stopping.abort();
			clearTimeout(timer);
			await running;
			await lock.release();
			await target?.close();
		},
	};
}

/**
 * Finish or undo the imports into this root that were killed (their files may be what an import's
 * SRC now lacks), under the root's lock; while another simplestreams holds it, that one does it.
 */
export async function recoverImports(options: {root: string}, emit: Emit): Promise<void> {
	await requireRoot(options.root);
	const lock = await acquireLock(options.root, 'simplestreams -i').catch(() => undefined);
	try {
		if (lock) {
			await recoverHolding(options.root, emit);
		}
	} finally {
		await lock?.release();
	}
}

export type RetireOptions = GenerateOptions & {
	/** What to retire or restore: a policy (prune), versions to remove, versions to restore. */
	retention: RetentionOptions;
	/** Record it, delete what is due and publish (holding the root's lock); otherwise say what would be done. */
	write: boolean;
};

/**
 * prune, remove and restore: retention on its own. The events say what leaves the streams, what is
 * deleted now and what after its grace (a dry run says the same of what -N would do). With `to` the
 * bucket is then brought to the same published state (its retired objects deleted after their
 * grace there); a dry run then builds the streams it would publish, to say what would be sent and deleted.
 */
export async function retire(options: RetireOptions, emit: Emit): Promise<void> {
	await requireRoot(options.root);
	const {write, to, ...run} = options;
	if (!write && to) {
		await generate({...run, to}, emit);
		return;
	}

	if (!write) {
		const [{scan}, {retain}] = await Promise.all([import('./pipeline/scan.js'), import('./retention/retain.js')]);
		await retain(await scan(run.root, emit), {write: false, retention: run.retention}, emit);
		return;
	}

	const streams = join(run.root, 'streams', 'v1');
	await mkdir(streams, {recursive: true}).catch((error: unknown) => {
		throw new UsageError(`cannot write to ${streams} (${errorCode(error)})`);
	});
	const command = `simplestreams ${run.retention.restore ? 'restore' : run.retention.remove ? 'remove' : 'prune'} -N`;
	await withTarget(to, run.root, 'publish', emit, command, async (target, emit) => {
		await holding(run.root, command, async () => withRunContext(run, emit, async context => {
			await recoverHolding(run.root, emit);
			await runPublish(context);
		}));
		await target?.send(run.root, undefined, run.signal);
	});
}

export type VerifyOptions = {root: string; jobs: number; signal?: AbortSignal};

/** Check what is published as a client would, trusting nothing cached. */
export async function verify(options: VerifyOptions, emit: Emit): Promise<VerifyReport> {
	await requireRoot(options.root);
	const {verify: check} = await import('./verify/verify.js');
	return check(options, emit);
}

/** The images the published streams offer, as lxc and incus derive them. */
export async function list(options: {root: string}): Promise<ListedImage[]> {
	await requireRoot(options.root);
	const {publishedImages} = await import('./list/published.js');
	return publishedImages(options.root);
}

/**
 * How an image built in `source` would be filed under the root; nothing is changed. With `write`,
 * a plan for importImage: the root's lock is taken first and held until the import ends (beside a
 * watcher, which holds it, the import goes on without it), the imports a killed run left are
 * recovered under it (`emit` is told), and the plan is made from the one scan of the tree that the
 * import's publish goes on from. Another writer between the plan and the publish would make either
 * wrong: a version or alias the plan found free taken, or a tree published that is no longer there.
 */
export async function planImport(options: PlanImportOptions, emit: Emit = () => undefined): Promise<PlanImportResult> {
	await requireRoot(options.root);
	const root = await realpath(options.root);
	const [{settleImport}, {scanTold}] = await Promise.all([import('./import/planning.js'), import('./pipeline/rescan.js')]);
	if (!options.write) {
		return settleImport(options, (await scanTold(root)).tree.products);
	}

	const lock = await acquireLock(root, 'simplestreams -i').catch((error: unknown) => {
		if (heldByWatcher(error)) {
			return undefined;
		}

		throw error;
	});
	let result: PlanImportResult | undefined;
	try {
		if (lock) {
			await recoverHolding(root, emit);
		}

		const scanned = await scanTold(root);
		result = await settleImport(options, scanned.tree.products);
		return result.outcome === 'planned' ? {...result, held: {...(lock ? {lock} : {}), scanned}} : result;
	} finally {
		if (result?.outcome !== 'planned') {
			await lock?.release();
		}
	}
}

/** The planned import (planImport with `write`) and the run it belongs to: hash workers, the digest cache, deltas and the rest as for publish(). */
export type ImportOptions = Omit<GenerateOptions, 'root'> & {plan: ImportPlan; held: HeldRoot};

export type Imported = {
	/**
	 * Publish the root as publish() does, on the import's digest cache and hash pool: no file is read
	 * again, and the cache is loaded and saved once for both.
	 */
	publish(emit: Emit, signal?: AbortSignal): Promise<GenerateResult | 'unchanged'>;
	/** End the run: the digests are saved if no publish saved them (a watcher publishes instead), the workers stop. */
	close(): Promise<void>;
};

/**
 * File a planned image into the tree, all or nothing, holding the root's lock planImport took to the
 * end of the publish: a -N beside it would publish the version half in place (between the two
 * renames of --force, none). A watcher holds the lock for its life: the import goes on beside it
 * (the version appears in one rename) and leaves publishing to it. The lock is released by close(),
 * or here when the import fails.
 */
export async function importImage(options: ImportOptions, emit: ImportEmit): Promise<Imported> {
	const {plan, held, ...run} = options;
	const {lock, scanned} = held;
	const {executeImport} = await import('./import/execute.js');
	// The run's events go to the import until it publishes; whether the cache was saved is told by them.
	let saved = false;
	let sink: Emit = event => {
		if (event.type === 'warning') {
			emit({type: 'warning', code: event.code, message: `${event.path}: ${event.message}`});
		}
	};

	const context = runContext({...run, root: plan.root}, event => {
		saved ||= event.type === 'cache-saved' || (event.type === 'warning' && event.code === 'cache-not-saved');
		sink(event);
	});
	try {
		await executeImport(plan, context, emit);
	} catch (error) {
		await context.close();
		await lock?.release();
		throw error;
	}

	return {
		async publish(publishEmit, signal) {
			sink = publishEmit;
			await requireWritable(join(plan.root, 'streams', 'v1'));
			const on = {...context, emit: publishEmit, ...(signal ? {signal} : {})};
			if (!lock) {
				// Planned beside a watcher: if it has gone since, this is a -N of its own, on a tree scanned afresh.
				return holding(plan.root, 'simplestreams -N', async () => publishHolding(on));
			}

			// Held since the plan's scan (and killed imports recovered then), so only the product the import placed a version in has changed.
			const {rescan} = await import('./pipeline/rescan.js');
			return runPublish(on, true, await rescan(scanned, plan.productPath, publishEmit));
		},
		async close() {
			try {
				if (!saved) {
					await (await context.cache()).save();
				}
			} catch (error) {
				emit({type: 'warning', ...warning('import-digests-not-cached', errorCode(error), 'the next run')});
			} finally {
				await context.close();
				await lock?.release();
			}
		},
	};
}

export type WatchOptions = Omit<RunOptions, 'signal'> & {
	/** How long a change must rest before it is published. */
	settleMs: number;
	/** A full regeneration at least this often, whatever the watcher saw. */
	rescanMs: number;
	/** Where each regeneration's streams go next (a bucket), after they are written; its lock is taken for each send. */
	to?: PublishTarget;
};

export type Watching = {
	/** Look at everything now (events may have been missed). */
	rescan(reason: string): void;
	/** Stop: hashing and an upload are abandoned, a write under way completes, the locks are released. */
	stop(): Promise<void>;
};

/** Publish, then keep the streams regenerated as the tree changes, until stopped. */
export async function watch(options: WatchOptions, emit: WatchEmit): Promise<Watching> {
	await requireRoot(options.root);
	const root = await realpath(options.root);
	const {rescanMs, to, ...run} = options;
	// The bucket checked, and the root's lock taken, before the watch starts: a refusal comes before any event.
	const target = to ? await import('./publish/run.js').then(async ({openTarget}) => openTarget(to, root, 'watch', emit)) : undefined;
	let lock;
	try {
		lock = await acquireLock(root, watchCommand);
	} catch (error) {
		await target?.close();
		throw error;
	}

	const {Watcher} = await import('./watch/watcher.js');
	// One digest cache and one hash pool for the watch's life.
	const context = runContext({...run, root}, emit);
	const publishTo = target ? {publish: async (streams: {productsText: string; indexText: string}, signal: AbortSignal) => target.send(root, streams, signal)} : {};
	const watcher = new Watcher({context, rescanMs, lock, recover: recoverHolding, ...publishTo}, emit);
	await watcher.start();
	return {
		rescan(reason) {
			watcher.rescan(reason);
		},
		async stop() {
			await watcher.stop();
			await context.close();
			await target?.close();
		},
	};
}
