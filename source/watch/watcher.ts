// `--watch`: regenerate the streams whenever the tree changes, for weeks, unattended. The watcher
// keeps the tree it scanned and rescans only the directories that moved (the directory watches say
// which): a product, or a directory above products that came or went or whose requirements file
// changed, with everything under it. It scans everything at the start, every rescan period, after a
// watcher error, on SIGHUP and when the requirements of all images/ changed. Unchanged files come
// from the in-memory cache; the catalog entries of the products that did not move, their text in
// images.json and their sections of the page are kept from one regeneration to the next
// (pipeline/memory.ts) until the next full scan. A lost event can only delay an update until
// the next full scan, never leave the streams wrong.
import {readFile, stat} from 'node:fs/promises';
import {relative, sep} from 'node:path';
import {warning} from '../domain/reasons.js';
import {requirementFiles} from '../domain/requirements.js';
import type {RunContext} from '../pipeline/context.js';
import {publishedVersions, versionChanges, type Listed} from '../pipeline/changes.js';
import {generate} from '../pipeline/generate.js';
import {forget, intact, keepAsText, regenerationMemory} from '../pipeline/memory.js';
import type {Emit} from '../pipeline/events.js';
import type {Tree} from '../domain/tree.js';
import {merged, under} from '../pipeline/rescan.js';
import {scan} from '../pipeline/scan.js';
import {NothingToPublish} from '../pipeline/nothing.js';
import {PublishedFileChanged} from '../streams/published.js';
import {errorCode} from '../util/errors.js';
import {acquireLock, LockHeld, watchCommand, type Lock} from '../util/lock.js';
import {DirectoryWatches} from './directories.js';
import type {WatchEmit, WatchEvent} from './events.js';
import {ServedFiles} from './served.js';

export type WatchOptions = {
	/** Every regeneration runs in it: one digest cache and one hash pool for the watch's life. Its settle window is the debounce too. */
	context: RunContext;
	/** A full regeneration at least this often, whatever the watcher says (a safety net). */
	rescanMs: number;
	/**
	 * The lock on the root, if the command took it before the watch starts (so that a refusal comes
	 * before any screen); else the first regeneration takes it. The watcher keeps one on whatever
	 * directory the root is, and releases it when it stops.
	 */
	lock?: Lock;
	/**
	 * Before each regeneration, holding the lock: finish or undo the imports into the root that were
	 * killed (index.ts gives the import's journal), telling `emit`; true when there were any.
	 */
	recover: (root: string, emit: Emit) => Promise<boolean>;
	/** After each regeneration, the streams sent on (--to); a failure is reported and tried again. `signal`: the watcher stops. */
	publish?: (streams: {productsText: string; indexText: string}, signal: AbortSignal) => Promise<void>;
};

/** How soon a publish that failed (a store out of reach) is tried again when nothing else changes. */
const publishRetryMs = 30_000;

/** How often the whole tree is rescanned while some directories are not watched (the inotify limit was reached). */
const unwatchedRescanMs = 60_000;

/** How soon to try again when another simplestreams holds the lock of a root that replaced the watched one. */
const lockRetryMs = 2000;

/** The longest a steady stream of events may postpone a regeneration, in settle windows. */
const maxDelayWindows = 5;

/** BigInts, as the watches' inodes (directories.ts): compared alone, a rounded inode could pass for another. */
type DirectoryIdentity = {dev: bigint; ino: bigint};

/** The directory at `path`, or undefined if there is none. */
const directoryAt = async (path: string): Promise<DirectoryIdentity | undefined> =>
	stat(path, {bigint: true}).then(s => (s.isDirectory() ? {dev: s.dev, ino: s.ino} : undefined), () => undefined);

/** The path of the product a changed path is in (images/OS/RELEASE/ARCH/VARIANT), or undefined for a path above the products. */
function productOf(segments: readonly string[]): string | undefined {
	return segments.length > 5 && segments[0] === 'images' ? segments.slice(0, 5).join('/') : undefined;
}

/**
 * What to scan again after a change at `segments` (relative to the root): the product it is in, or
 * the directory that came, went or was replaced above the products, or the one whose requirements
 * file changed; undefined when that is all of images/ (or something beside it).
 */
function movedBy(segments: readonly string[]): string | undefined {
	const directory = requirementFiles.includes(segments.at(-1) as typeof requirementFiles[number]) ? segments.slice(0, -1) : segments;
	return productOf(segments) ?? (directory.length > 1 && directory[0] === 'images' ? directory.join('/') : undefined);
}

type ScanProblem = Extract<WatchEvent, {type: 'skipped' | 'warning'}>;

export class Watcher {
	private directories?: DirectoryWatches;
	/** What it published, watched for someone else's hand (served.ts). */
	private served?: ServedFiles;
	/** Whether the served files are looked at once the regeneration under way ends: its writes are not yet recorded. */
	private servedAgain = false;
	private readonly root: string;
	private readonly settleMs: number;
	/** What the last regeneration published (or, before the first, the versions on disk): to tell what it added and removed. */
	private previous?: Listed;
	private timer?: NodeJS.Timeout;
	private firstPending?: number;
	private changes = 0;
	private reason = 'start';
	private running?: Promise<void>;
	private again = false;
	private abort?: AbortController;
	private stopping = false;
	/** The directory watched: the root as it was when the watch began. */
	private watchedRoot?: DirectoryIdentity;
	/** Set while the root's watch is renewed, after the root went away or was replaced. */
	private rewatching = false;
	private rootPoll?: NodeJS.Timeout;
	private publishRetry?: NodeJS.Timeout;
	private rescanTimer: NodeJS.Timeout;
	/** Whether the watch limit was reported: once for the watcher's life. */
	private limitSaid = false;
	/** Wakes the watcher when retired files fall due, with no change in the tree to do it. */
	private deletionTimer?: NodeJS.Timeout;
	private lock?: Lock;
	/** Who held the root's lock at the last try, once said. */
	private lockedOut?: string;
	/** Why the last regeneration had nothing to publish, once said. */
	private nothing?: string;
	/** The tree as the last regeneration scanned it. */
	private tree?: Tree;
	/** What the regenerations since the last full scan made: reused for what did not move (a full scan starts it afresh). */
	private memory = regenerationMemory();
	/**
	 * What the scan found wrong, by the path it names: said again for the directories not rescanned,
	 * so that each regeneration reports what a full one would (the logs say a problem once while it
	 * persists, and take one not reported as fixed).
	 */
	private problems = new Map<string, ScanProblem[]>();
	/** The directories (products, or above) that moved since the last scan. */
	private moved = new Set<string>();
	/** Whether the next regeneration scans the whole tree: events may have been missed, or something above the products changed. */
	private everything = true;

	constructor(private readonly options: WatchOptions, private readonly emit: WatchEmit) {
		this.lock = options.lock;
		this.root = options.context.root;
		this.settleMs = options.context.settleMs ?? 0;
		this.rescanTimer = this.periodicRescan(options.rescanMs);
	}

	async start(): Promise<void> {
		this.emit({type: 'watching', root: this.root, settleMs: this.settleMs});
		await this.watchTree(await directoryAt(this.root));
		this.schedule('start', 0);
	}

	private periodicRescan(every: number): NodeJS.Timeout {
		return setInterval(() => {
			// Past the watch limit, each rescan also tries again for the directories left unwatched (the limit may have been raised).
			if (this.directories?.incomplete) {
				void this.directories.retry();
			}

			this.everything = true;
			this.schedule('periodic rescan', 0);
		}, every);
	}

	/** SIGHUP: events may have been missed; look at everything now. */
	rescan(reason: string): void {
		if (this.stopping) {
			return;
		}

		this.emit({type: 'rescan', reason});
		this.everything = true;
		if (this.directories?.incomplete) {
			void this.directories.retry();
		}

		this.schedule(reason, 0);
	}

	async stop(): Promise<void> {
		this.stopping = true;
		clearTimeout(this.timer);
		clearInterval(this.rescanTimer);
		clearInterval(this.rootPoll);
		clearTimeout(this.publishRetry);
		clearTimeout(this.deletionTimer);
		// Hashing stops at once; a write already under way completes, atomically, before generate returns.
		this.abort?.abort();
		await this.running?.catch(() => undefined);
		this.directories?.close();
		this.served?.close();
		forget(this.memory);
		await this.lock?.release();
		this.emit({type: 'stopped'});
	}

	private async watchTree(identity: DirectoryIdentity | undefined): Promise<void> {
		const {root} = this;
		this.watchedRoot = identity;
		this.served?.close();
		this.served = new ServedFiles(root, () => {
			void this.checkServed();
		});
		this.served.watchDirectories();
		this.directories = new DirectoryWatches(root, {
			change: path => {
				const segments = relative(root, path).split(sep);
				const moved = movedBy(segments);
				if (moved) {
					this.moved.add(moved);
				} else {
					this.everything = true;
				}

				this.changes++;
				this.schedule(`changes under ${segments.slice(0, 6).join('/')}`, this.settleMs);
			},
			root: () => {
				void this.rootWatched();
			},
			limit: watched => {
				void this.watchLimit(watched);
			},
			error: error => {
				this.rescan(`watcher error (${errorCode(error)}); events may have been lost`);
			},
		});
		await this.directories.start();
	}

	/** The inotify limit was reached: said once, and the directories left unwatched are looked at by a more frequent full rescan. */
	private async watchLimit(watched: number): Promise<void> {
		if (this.stopping) {
			return;
		}

		if (this.limitSaid) {
			return;
		}

		this.limitSaid = true;
		const limit = (await readFile('/proc/sys/fs/inotify/max_user_watches', 'utf8').catch(() => '')).trim();
		this.emit({type: 'warning', path: this.root, ...warning('watch-limit', watched, limit || 'unknown', unwatchedRescanMs / 1000)});
		if (this.options.rescanMs > unwatchedRescanMs && !this.stopping) {
			clearInterval(this.rescanTimer);
			this.rescanTimer = this.periodicRescan(unwatchedRescanMs);
		}
	}

	/** Debounce: each event pushes the run back by `delay`, but never past a few windows. */
	private schedule(reason: string, delay: number): void {
		if (this.stopping) {
			return;
		}

		this.reason = reason;
		const now = Date.now();
		this.firstPending ??= now;
		const latest = this.firstPending + (maxDelayWindows * this.settleMs);
		clearTimeout(this.timer);
		this.timer = setTimeout(() => {
			this.run();
		}, Math.max(0, Math.min(now + delay, latest) - now));
	}

	private run(): void {
		if (this.running) {
			this.again = true;
			return;
		}

		this.firstPending = undefined;
		const changes = this.changes;
		this.changes = 0;
		this.running = this.regenerate(this.reason, changes).finally(() => {
			this.running = undefined;
			if (this.servedAgain) {
				this.servedAgain = false;
				void this.checkServed();
			}

			if (this.again) {
				this.again = false;
				this.schedule('changes during the last regeneration', this.settleMs);
			}
		});
	}

	private async regenerate(reason: string, changes: number): Promise<void> {
		// A renewed watch brings a regeneration of its own.
		if (this.rewatching || !(await this.rootWatched())) {
			return;
		}

		const started = performance.now();
		this.abort = new AbortController();
		const {signal} = this.abort;
		let streamsChanged = false;
		let hashedBytes = 0;
		const retention = {retired: 0, deleted: 0, deletedBytes: 0};
		try {
			if (!(await this.claimRoot())) {
				return;
			}

			if (await this.options.recover(this.root, this.emit)) {
				this.everything = true;
			}

			this.emit({type: 'regenerating', reason, changes});
			this.previous ??= await publishedVersions(this.root);
			const emit: Emit = event => {
				if (event.type === 'written') {
					streamsChanged ||= event.changed;
				} else if (event.type === 'hashed') {
					// Files' sizes, not hashing work: a rootfs read by two digests is one file of its size.
					hashedBytes += event.size;
				} else if (event.type === 'retired') {
					retention.retired++;
				} else if (event.type === 'deleted') {
					retention.deleted += event.files;
					retention.deletedBytes += event.bytes;
				}

				this.emit(event);
			};

			const tree = await this.scan(emit);
			const result = await generate({...this.options.context, signal: this.abort.signal, emit}, true, tree, undefined, this.memory);
			if (this.options.publish) {
				try {
					await this.options.publish(result, this.abort.signal);
				} catch (error) {
					clearTimeout(this.publishRetry);
					// Stopping aborts the upload: nothing to try again.
					this.publishRetry = this.stopping ? undefined : setTimeout(() => {
						this.schedule('the last publish failed', 0);
					}, publishRetryMs);
					throw error;
				}
			}

			this.nothing = undefined;
			await this.served?.record(result.served);
			const versions = versionChanges(this.previous, result.catalog.products);
			keepAsText(this.memory, result.catalog.products);
			this.previous = result.catalog.products;
			this.emit({
				type: 'regenerated',
				milliseconds: performance.now() - started,
				...versions,
				images: result.catalog.images,
				streamsChanged,
				hashedBytes,
				...retention,
			});
			if (result.settlingUntil !== undefined) {
				this.schedule('a settling version is due', result.settlingUntil - Date.now() + 50);
			}

			this.wakeForDeletion(result.nextDeletion);
		} catch (error) {
			// What it scanned may not have been taken in: the next one looks at everything.
			this.everything = true;
			// Stopped, or the root replaced: the renewed watch brings a regeneration of its own.
			if (this.stopping || signal.aborted) {
				return;
			}

			// The previous streams stay, and the digest cache with them: nothing is hashed again when images/ is back.
			if (error instanceof NothingToPublish) {
				if (error.message !== this.nothing) {
					this.nothing = error.message;
					this.emit({type: 'regeneration-failed', message: error.message});
				}

				if (error.settlingUntil !== undefined) {
					this.schedule('a settling version is due', error.settlingUntil - Date.now() + 50);
				}

				return;
			}

			// Someone else's write, not a failure of this one: said by the look at the served files that follows.
			if (error instanceof PublishedFileChanged) {
				this.servedAgain = true;
				return;
			}

			this.emit({type: 'regeneration-failed', message: (error as Error).message});
			await this.rootWatched();
		}
	}

	/**
	 * Whether a served file is still what the last regeneration left; if not, it is said and everything
	 * is published again. Not while a regeneration runs: what it writes is recorded when it ends.
	 */
	private async checkServed(): Promise<void> {
		if (this.running) {
			this.servedAgain = true;
			return;
		}

		const changed = await this.served?.changed();
		if (changed === undefined || this.stopping) {
			return;
		}

		if (this.running) {
			this.servedAgain = true;
			return;
		}

		this.rescan(`${changed} was written to, replaced or deleted by someone else; publishing it again`);
	}

	/** The tree now: the last one with the directories that moved scanned again, or all of it scanned. */
	private async scan(emit: Emit): Promise<Tree> {
		const {moved} = this;
		this.moved = new Set();
		// A published file its memory lies in, written to behind its back: everything is made again.
		const everything = this.everything || !this.tree || !intact(this.memory);
		this.everything = false;
		const found = new Map<string, ScanProblem[]>();
		const noting: Emit = event => {
			if (event.type === 'skipped' || event.type === 'warning') {
				// Above what moved nothing changed (or everything would be scanned): said below, from the last scan that looked there.
				if (!everything && !under(event.path, moved)) {
					return;
				}

				found.set(event.path, [...found.get(event.path) ?? [], event]);
			}

			emit(event);
		};

		if (everything) {
			forget(this.memory);
			this.memory = regenerationMemory();
			this.tree = await scan(this.root, noting);
			this.problems = found;
			return this.tree;
		}

		this.tree = merged(this.tree!, moved, await scan(this.root, noting, moved));
		for (const [path, problems] of this.problems) {
			if (under(path, moved)) {
				this.problems.delete(path);
			} else {
				for (const problem of problems) {
					emit(problem);
				}
			}
		}

		for (const [path, problems] of found) {
			this.problems.set(path, problems);
		}

		return this.tree;
	}

	/** schedule() folds delays into a few settle windows: a deletion hours away needs its own timer. */
	private wakeForDeletion(due: number | undefined): void {
		clearTimeout(this.deletionTimer);
		if (due !== undefined && !this.stopping) {
			// setTimeout fires at once past 2^31 - 1 ms; the periodic rescan comes sooner anyway.
			this.deletionTimer = setTimeout(() => {
				this.schedule('retired files are due for deletion', 0);
			}, Math.min(Math.max(0, due - Date.now() + 50), this.options.rescanMs));
		}
	}

	/**
	 * One writer per root (util/lock.ts), also after the root was replaced: a lock left in the old
	 * directory guards nothing, so the new one gets its own. Held by another simplestreams, the
	 * regeneration waits for it.
	 */
	private async claimRoot(): Promise<boolean> {
		if (await this.lock?.held()) {
			return true;
		}

		try {
			this.lock = await acquireLock(this.root, watchCommand);
			this.lockedOut = undefined;
			return true;
		} catch (error) {
			if (!(error instanceof LockHeld)) {
				throw error;
			}

			// Said once per holder: a long -N holds it for hours, and the log is read for weeks.
			if (error.message !== this.lockedOut) {
				this.lockedOut = error.message;
				this.emit({type: 'regeneration-failed', message: `${error.message}; trying again every ${lockRetryMs / 1000} s until it is free`});
			}

			this.schedule('the root is free again', lockRetryMs);
			return false;
		}
	}

	/**
	 * Whether the root is still the directory being watched; if not, the watch is renewed. Asked when
	 * the root's watch names it and before each regeneration, so nothing polls while the root is there
	 * (a renamed parent directory gives no event: the next regeneration, at the latest the periodic
	 * rescan, notices it).
	 */
	private async rootWatched(): Promise<boolean> {
		const now = await directoryAt(this.root);
		if (now && now.dev === this.watchedRoot?.dev && now.ino === this.watchedRoot.ino) {
			return true;
		}

		// A regeneration under way claimed the lock of the directory that was here: it must not write
		// into the new one, whose lock may be another simplestreams'.
		this.abort?.abort();
		void this.rewatch();
		return false;
	}

	/** Watch the root anew: at once if a root is there, or else once it is back (a stat a second, only while it is missing). */
	private async rewatch(): Promise<void> {
		const {root} = this;
		if (this.rewatching || this.stopping) {
			return;
		}

		this.rewatching = true;
		this.everything = true;
		this.directories?.close();
		this.directories = undefined;
		this.served?.close();
		const replacement = await directoryAt(root);
		if (replacement) {
			await this.watchAgain(replacement);
			this.rescan('the root was replaced');
			return;
		}

		this.emit({type: 'root-missing', root});
		this.rootPoll = setInterval(async () => {
			const back = await directoryAt(root);
			if (back && this.rewatching && !this.stopping) {
				clearInterval(this.rootPoll);
				this.emit({type: 'root-back', root});
				await this.watchAgain(back);
				this.schedule('the root is back', 0);
			}
		}, 1000);
	}

	private async watchAgain(identity: DirectoryIdentity): Promise<void> {
		this.rewatching = false;
		if (!this.stopping) {
			await this.watchTree(identity);
		}
	}
}
