// What a run takes from the command that starts it, built once at the command boundary: the web
// root, where events go, how it is stopped, the digest cache and the hash pool it shares with every
// other run of the same command (the watcher's regenerations, an import's placing and publishing),
// the delta options and the settle window.
import {realpathSync} from 'node:fs';
import {DigestCache, defaultCachePath} from '../cache/digest-cache.js';
import type {RetentionOptions} from '../retention/retain.js';
import type {DeltaOptions} from './delta-options.js';
import type {Emit} from './events.js';
import {HashPool} from './hash/pool.js';

export type RunOptions = {
	root: string;
	/** Hash workers (and deltas made at once). */
	jobs: number;
	/** The digest cache file; by default one per web root under the user's cache directory. */
	cachePath?: string;
	signal?: AbortSignal;
	/** Publish vcdiff deltas between consecutive versions (--deltas). */
	deltas?: DeltaOptions;
	/** Hold back versions with a file written less than this long ago (the watcher's settle window). */
	settleMs?: number;
	/** A policy (--keep, --older-than), versions to remove or restore; without it retired versions still stay out and due ones are deleted. */
	retention?: RetentionOptions;
	/** Publish an empty catalog rather than refuse to (nothing.ts). */
	allowEmpty?: boolean;
};

export type RunContext = Readonly<Omit<RunOptions, 'cachePath'>> & {
	readonly emit: Emit;
	/** Where the digest cache is (the receipt of a -N run lies beside it). */
	readonly cachePath: () => string;
	/** The digest cache, loaded on first use and then kept: one per command, however many runs. */
	readonly cache: () => Promise<DigestCache>;
	/** Its workers start with the first file big enough to need them (hash.ts). */
	readonly pool: HashPool;
	/** Ends the pool's workers; the cache is saved by each run that changes it. */
	readonly close: () => Promise<void>;
};

export function runContext({cachePath, ...options}: RunOptions, emit: Emit): RunContext {
	// The cache is keyed by the root as the scan resolves it, whatever path led there.
	const path = () => cachePath ?? defaultCachePath(realpathSync.native(options.root));
	let cache: Promise<DigestCache> | undefined;
	const pool = new HashPool(options.jobs);
	return {
		...options,
		emit,
		cachePath: path,
		async cache() {
			cache ??= DigestCache.load(path(), realpathSync.native(options.root), emit);
			return cache;
		},
		pool,
		async close() {
			await pool.destroy();
		},
	};
}

/** `work` with a run context that is closed when it ends, however it ends. */
export async function withRunContext<T>(options: RunOptions, emit: Emit, work: (context: RunContext) => Promise<T>): Promise<T> {
	const context = runContext(options, emit);
	try {
		return await work(context);
	} finally {
		await context.close();
	}
}
