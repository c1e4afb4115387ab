// `--watch`: regenerate the streams whenever the tree changes, for weeks, unattended. Every
// regeneration is a full generate() (a scan is cheap; unchanged files come from the in-memory cache),
// so a lost event can only delay an update, never leave the streams wrong.
import {readFile, stat} from 'node:fs/promises';
import {join, relative, sep} from 'node:path';
import {watch, type FSWatcher} from 'chokidar';
import {DigestCache, defaultCachePath} from '../cache/digest-cache.js';
import {aliasFile} from '../domain/aliases.js';
import {requirementFiles} from '../domain/requirements.js';
import {productsPath, type ProductsFile} from '../pipeline/catalog.js';
import type {DeltaOptions} from '../pipeline/delta.js';
import {generate} from '../pipeline/generate.js';
import {HashPool} from '../pipeline/hash/pool.js';
import type {WatchEmit} from './events.js';

export type WatchOptions = {
	root: string;
	jobs: number;
	cachePath?: string;
	settleMs: number;
	/** A full regeneration at least this often, whatever the watcher says (a safety net). */
	rescanMs: number;
	deltas?: DeltaOptions;
};

/** Dot-names that matter: everything else starting with a dot is an upload in progress or private. */
const watchedDotFiles = new Set<string>([...requirementFiles, aliasFile]);

/** The longest a steady stream of events may postpone a regeneration, in settle windows. */
const maxDelayWindows = 5;

const versionsOf = (products?: ProductsFile) => new Set(Object.entries(products?.products ?? {}).flatMap(([id, product]) =>
	Object.keys(product.versions).map(version => `${id} ${version}`)));

/** The streams already on disk: what a held-back version keeps until it has settled. */
async function published(root: string): Promise<ProductsFile | undefined> {
	try {
		const products = JSON.parse(await readFile(join(root, productsPath), 'utf8')) as ProductsFile;
		return typeof products?.products === 'object' && products.products !== null ? products : undefined;
	} catch {
		return undefined;
	}
}

export class Watcher {
	private fsWatcher?: FSWatcher;
	private pool?: HashPool;
	private cache?: DigestCache;
	private previous?: ProductsFile;
	private timer?: NodeJS.Timeout;
	private firstPending?: number;
	private changes = 0;
	private reason = 'start';
	private running?: Promise<void>;
	private again = false;
	private abort?: AbortController;
	private stopping = false;
	private rootMissing = false;
	private readonly rescanTimer: NodeJS.Timeout;
	private readonly rootTimer: NodeJS.Timeout;

	constructor(private readonly options: WatchOptions, private readonly emit: WatchEmit) {
		this.rescanTimer = setInterval(() => {
			this.schedule('periodic rescan', 0);
		}, options.rescanMs);
		// Renaming or removing the watched root itself gives no event: look for it once a second (one stat).
		this.rootTimer = setInterval(() => {
			void this.rootPresent();
		}, 1000);
	}

	async start(): Promise<void> {
		this.emit({type: 'watching', root: this.options.root, settleMs: this.options.settleMs});
		this.watchTree();
		this.schedule('start', 0);
	}

	/** SIGHUP: events may have been missed; look at everything now. */
	rescan(reason: string): void {
		this.emit({type: 'rescan', reason});
		this.schedule(reason, 0);
	}

	async stop(): Promise<void> {
		this.stopping = true;
		clearTimeout(this.timer);
		clearInterval(this.rescanTimer);
		clearInterval(this.rootTimer);
		// Hashing stops at once; a write already under way completes, atomically, before generate returns.
		this.abort?.abort();
		await this.running?.catch(() => undefined);
		await this.fsWatcher?.close();
		await this.pool?.destroy();
		this.emit({type: 'stopped'});
	}

	private watchTree(): void {
		const {root} = this.options;
		const ignored = (path: string) => {
			const parts = relative(root, path).split(sep);
			return parts[0] === 'streams' || parts.some(p => p.startsWith('.') && !watchedDotFiles.has(p));
		};

		this.fsWatcher = watch(root, {ignoreInitial: true, ignored, followSymlinks: false});
		this.fsWatcher.on('all', (_event, path) => {
			this.changes++;
			this.schedule(`changes under ${relative(root, path).split(sep).slice(0, 6).join('/')}`, this.options.settleMs);
		});
		this.fsWatcher.on('error', error => {
			this.rescan(`watcher error (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); events may have been lost`);
		});
	}

	/** Debounce: each event pushes the run back by `delay`, but never past a few windows. */
	private schedule(reason: string, delay: number): void {
		if (this.stopping) {
			return;
		}

		this.reason = reason;
		const now = Date.now();
		this.firstPending ??= now;
		const latest = this.firstPending + (maxDelayWindows * this.options.settleMs);
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
			if (this.again) {
				this.again = false;
				this.schedule('changes during the last regeneration', this.options.settleMs);
			}
		});
	}

	private async regenerate(reason: string, changes: number): Promise<void> {
		const {root, jobs, settleMs} = this.options;
		if (!(await this.rootPresent())) {
			return;
		}

		this.emit({type: 'regenerating', reason, changes});
		const started = performance.now();
		this.abort = new AbortController();
		let streamsChanged = false;
		let hashedBytes = 0;
		try {
			this.cache ??= await DigestCache.load(this.options.cachePath ?? defaultCachePath(root), root, this.emit);
			this.pool ??= new HashPool(jobs);
			this.previous ??= await published(root);
			const result = await generate({root, write: true, jobs, pool: this.pool, cache: this.cache, settleMs, previous: this.previous, signal: this.abort.signal, deltas: this.options.deltas}, event => {
				if (event.type === 'written') {
					streamsChanged ||= event.changed;
				} else if (event.type === 'hash-finished') {
					hashedBytes = event.bytes;
				}

				this.emit(event);
			});
			const before = versionsOf(this.previous);
			const after = versionsOf(result.catalog.products);
			this.previous = result.catalog.products;
			this.emit({
				type: 'regenerated',
				milliseconds: performance.now() - started,
				added: [...after].filter(v => !before.has(v)),
				removed: [...before].filter(v => !after.has(v)),
				images: result.catalog.images,
				streamsChanged,
				hashedBytes,
			});
			if (result.settlingUntil !== undefined) {
				this.schedule('a settling version is due', result.settlingUntil - Date.now() + 50);
			}
		} catch (error) {
			if (this.stopping) {
				return;
			}

			this.emit({type: 'regeneration-failed', message: (error as Error).message});
			await this.rootPresent();
		}
	}

	/** When the root has gone, wait for it to come back, then watch it anew and regenerate. */
	private async rootPresent(): Promise<boolean> {
		const {root} = this.options;
		const present = await stat(join(root, '.')).then(s => s.isDirectory(), () => false);
		if (present || this.stopping) {
			return present;
		}

		if (!this.rootMissing) {
			this.rootMissing = true;
			this.emit({type: 'root-missing', root});
			await this.fsWatcher?.close();
			this.fsWatcher = undefined;
			const poll = setInterval(async () => {
				if (this.stopping) {
					clearInterval(poll);
					return;
				}

				if (await stat(root).then(s => s.isDirectory(), () => false)) {
					clearInterval(poll);
					this.rootMissing = false;
					this.emit({type: 'root-back', root});
					this.watchTree();
					this.schedule('the root is back', 0);
				}
			}, 1000);
		}

		return false;
	}
}
