// The files a watcher publishes (the streams, their gzips, the page), watched for what someone else
// does to them: one written to, replaced or deleted is published again. The watcher's own writes make
// the same events; they are told apart by what the files are now (inode, size, times) against what
// the last regeneration left, not by when an event comes, so no write of its own starts another.
import {lstatSync, watch, type FSWatcher} from 'node:fs';
import {lstat} from 'node:fs/promises';
import {join, posix} from 'node:path';
import {gzipPath, servedFiles} from '../streams/paths.js';

/** Each directory from the root down to a served file, with the names in it that lead to one. */
const leading = new Map<string, Set<string>>();
for (const file of servedFiles.flatMap(file => [file, gzipPath(file)])) {
	for (let path = file; path !== '.'; path = posix.dirname(path)) {
		const directory = posix.dirname(path);
		leading.set(directory, (leading.get(directory) ?? new Set()).add(posix.basename(path)));
	}
}

/** What a file is now: its inode, size and times, or '' when there is none. */
const stampOf = async (path: string) => lstat(path, {bigint: true}).then(stats => `${stats.ino} ${stats.size} ${stats.mtimeNs} ${stats.ctimeNs}`, () => '');

export class ServedFiles {
	private readonly watches = new Map<string, {watcher: FSWatcher; ino: bigint}>();
	/** Each file the last regeneration published, as it left it, by its path under the root. */
	private stamps = new Map<string, string>();
	private closed = false;

	/** `touched`: something happened to a served file, or to a directory on the way to one. */
	constructor(private readonly root: string, private readonly touched: () => void) {}

	/** Watch each directory on the way to a served file that is there (streams/v1 comes with the first publish) as the one it is now. */
	watchDirectories(): void {
		for (const [directory, names] of leading) {
			const path = join(this.root, directory);
			const ino = (() => {
				try {
					const stats = lstatSync(path, {bigint: true});
					return stats.isDirectory() ? stats.ino : undefined;
				} catch {
					return undefined;
				}
			})();
			const known = this.watches.get(directory);
			if (this.closed || known?.ino === ino) {
				continue;
			}

			known?.watcher.close();
			this.watches.delete(directory);
			if (ino === undefined) {
				continue;
			}

			try {
				const watcher = watch(path, (_event, name) => {
					if (name === null || names.has(name)) {
						this.watchDirectories();
						this.touched();
					}
				});
				// Gone, or past the watch limit: the periodic rescan repairs what is not seen.
				watcher.on('error', () => {
					watcher.close();
					this.touched();
				});
				this.watches.set(directory, {watcher, ino});
			} catch {
				// Gone since the lstat, unreadable, or past the watch limit: left out of `watches`, it is
				// tried again on the next event and after each regeneration (record), and the periodic
				// rescan repairs what goes unseen meanwhile, as for a watch that fails later.
			}
		}
	}

	/** After a regeneration: `served` (paths under the root) are what it published. */
	async record(served: readonly string[]): Promise<void> {
		this.watchDirectories();
		this.stamps = new Map(await Promise.all(served.map(async path => [path, await stampOf(join(this.root, path))] as const)));
	}

	/** The first served file that is not what the last regeneration left, if any; told once (until the next record). */
	async changed(): Promise<string | undefined> {
		for (const [path, stamp] of this.stamps) {
			if (await stampOf(join(this.root, path)) !== stamp) {
				this.stamps = new Map();
				return path;
			}
		}

		return undefined;
	}

	close(): void {
		this.closed = true;
		for (const {watcher} of this.watches.values()) {
			watcher.close();
		}

		this.watches.clear();
	}
}
