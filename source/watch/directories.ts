// The directories of a web root the watcher follows: the root, images/ and every level below it down
// to the versions, one inotify watch each (node's fs.watch). A directory's watch reports what
// happens to its entries, files included, so no file needs a watch of its own: a version's files
// are seen through its directory while they settle, and versions come and go in their product's.
// Dot-names (uploads in progress) and everything beside images/ at the top are not followed.
//
// The kernel's limit on watches (fs.inotify.max_user_watches) can be reached on a large tree: the
// directories past it are not watched, the watcher is told once, and a retry (after the limit is
// raised, say) adds what is missing.
import {lstatSync, readdirSync, watch, type FSWatcher} from 'node:fs';
import {basename, sep} from 'node:path';
import {aliasFile} from '../domain/aliases.js';
import {requirementFiles} from '../domain/requirements.js';
import {errorCode} from '../util/errors.js';

export type DirectoryEvents = {
	/** Something changed at `path` (absolute): an entry of a watched directory. */
	change: (path: string) => void;
	/** The root's own watch named it: it may have been moved or removed (or a child of that name changed). */
	root: () => void;
	/** The watch limit was reached: `watched` directories are, the rest are not. */
	limit: (watched: number) => void;
	/** A watch failed otherwise: events may have been lost. */
	error: (error: unknown) => void;
};

/** Dot-names that matter: everything else starting with a dot is an upload in progress or private. */
const watchedDotFiles = new Set<string>([...requirementFiles, aliasFile]);

/** The depth of a version directory: root 0, images/ 1, then os, release, arch, variant, version. */
const versionDepth = 6;

/** How long the walk that adds watches may hold the event loop before it lets events run. */
const sliceMilliseconds = 8;

/**
 * The inode as a BigInt, unlike a file's identity (domain/file.ts): a directory's is compared alone,
 * with no ctime to tell apart two inodes above 2^53 that round to one double (overlayfs's xino puts
 * the layer in the top bits), so a directory replaced by a near one would pass for the one watched.
 */
type Watch = {watcher: FSWatcher; path: string; ino: bigint; depth: number};

export class DirectoryWatches {
	private readonly watches = new Map<string, Watch>();
	/**
	 * Each watch by its watcher, for the listeners every watch shares: a tree of 100,000 versions has
	 * as many watches, and two closures and their context for each cost more than an entry here.
	 */
	private readonly byWatcher = new WeakMap<FSWatcher, Watch>();
	private readonly changed: (this: FSWatcher, event: string, name: string | null) => void;
	private readonly failed = (error: unknown) => {
		this.events.error(error);
	};
	/** Set when the limit was reached: no more watches are tried until retry(). */
	private limited = false;
	private closed = false;

	constructor(private readonly root: string, private readonly events: DirectoryEvents) {
		const watches = this;
		// A function, not an arrow: a watcher calls its listener on itself, which says which watch it is.
		this.changed = function (_event, name) {
			const watch = watches.byWatcher.get(this);
			if (watch) {
				watches.event(watch.path, watch.depth, name);
			}
		};
	}

	/** How many directories are watched. */
	get size(): number {
		return this.watches.size;
	}

	/** Whether some directories are not watched, for the limit. */
	get incomplete(): boolean {
		return this.limited;
	}

	/** Watch the root and everything under it; resolves once each directory has its watch (or the limit is reached). */
	async start(): Promise<void> {
		await this.add(this.root, 0);
	}

	/** Try again for the directories left without a watch at the limit. */
	async retry(): Promise<void> {
		this.limited = false;
		await this.add(this.root, 0);
	}

	close(): void {
		this.closed = true;
		for (const {watcher} of this.watches.values()) {
			watcher.close();
		}

		this.watches.clear();
	}

	/** Watch `path` and the directories under it that are followed; those watched already stay. */
	private async add(top: string, topDepth: number): Promise<void> {
		const pending: Array<[string, number]> = [[top, topDepth]];
		let sliceStarted = performance.now();
		while (pending.length > 0 && !this.limited && !this.closed) {
			if (performance.now() - sliceStarted >= sliceMilliseconds) {
				await new Promise(resolve => {
					setImmediate(resolve);
				});
				sliceStarted = performance.now();
				continue;
			}

			const [path, depth] = pending.pop()!;
			if (!this.watchOne(path, depth) || depth === versionDepth) {
				continue;
			}

			let names: string[];
			try {
				names = readdirSync(path, {withFileTypes: true}).filter(d => d.isDirectory() && followed(d.name, depth + 1)).map(d => d.name);
			} catch {
				// Gone or unreadable: the scan says so; its parent's watch tells when it is back.
				continue;
			}

			for (const name of names) {
				pending.push([path + sep + name, depth + 1]);
			}
		}
	}

	/** Whether `path` is watched as the directory it is now (a watch kept, or added). */
	private watchOne(path: string, depth: number): boolean {
		let ino: bigint;
		try {
			const stats = lstatSync(path, {bigint: true});
			if (!stats.isDirectory()) {
				return false;
			}

			ino = stats.ino;
		} catch {
			return false;
		}

		const known = this.watches.get(path);
		if (known?.ino === ino) {
			return true;
		}

		// Another directory under that name: the old one's watches follow it no more. Only then: a
		// look through every watch for each one added made watching 100,000 versions quadratic.
		if (known) {
			this.forget(path);
		}
		try {
			const watcher = watch(path, {persistent: true}, this.changed);
			watcher.on('error', this.failed);
			const watched = {watcher, path, ino, depth};
			this.watches.set(path, watched);
			this.byWatcher.set(watcher, watched);
			return true;
		} catch (error) {
			if (errorCode(error) === 'ENOSPC') {
				this.limited = true;
				this.events.limit(this.watches.size);
			} else if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTDIR') {
				this.events.error(error);
			}

			return false;
		}
	}

	/** Stop watching `path` and what is under it. */
	private forget(path: string): void {
		const prefix = path + sep;
		for (const [watched, {watcher}] of this.watches) {
			if (watched === path || watched.startsWith(prefix)) {
				watcher.close();
				this.watches.delete(watched);
			}
		}
	}

	private event(directory: string, depth: number, name: string | null): void {
		if (this.closed) {
			return;
		}

		if (name === null) {
			this.events.change(directory);
			return;
		}

		if (depth === 0 && name === basename(this.root)) {
			this.events.root();
		}

		if (!followed(name, depth + 1) && !(depth >= 1 && watchedDotFiles.has(name))) {
			return;
		}

		const path = directory + sep + name;
		if (depth < versionDepth) {
			// A directory that came, went or was replaced: its watches follow.
			const watched = this.watches.get(path);
			let ino: bigint | undefined;
			try {
				const stats = lstatSync(path, {bigint: true});
				ino = stats.isDirectory() ? stats.ino : undefined;
			} catch {}

			if (ino === undefined) {
				this.forget(path);
			} else if (watched?.ino !== ino) {
				void this.add(path, depth + 1);
			}
		}

		this.events.change(path);
	}
}

/** Whether a directory entry named `name` at `depth` is one the scan looks at. */
function followed(name: string, depth: number): boolean {
	return depth === 1 ? name === 'images' : !name.startsWith('.');
}
