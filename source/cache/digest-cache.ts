// Digests already known, so unchanged files are never read again. A file entry holds only while the
// file's device, inode, size, mtime and ctime are what they were when it was hashed; combined
// fingerprints are keyed by the two file digests, so they hold whatever the files are called.
// A delta entry says which two rootfs digests a delta file was made from, so it is never made twice.
import {mkdir, readFile} from 'node:fs/promises';
import {homedir} from 'node:os';
import {createHash} from 'node:crypto';
import {dirname, join} from 'node:path';
import type {Content} from '../domain/ftypes.js';
import type {FileIdentity, Knowledge} from '../pipeline/model.js';
import type {Emit} from '../pipeline/events.js';
import {writeAtomic} from '../util/atomic-write.js';

const format = 'simplestreams-digests:1';

type FileEntry = FileIdentity & Knowledge;

type CacheFile = {
	format: typeof format;
	root: string;
	files: Record<string, FileEntry>;
	combined: Record<string, string>;
	/** Optional, so caches written before deltas existed still load. */
	deltas?: Record<string, DeltaEntry>;
};

/**
 * A delta file (by its path) made from the rootfs with digest `source` to the one with digest
 * `target`, `size` bytes. `sha256` and `identity` are the file's when it was kept; without them the
 * delta was not worth keeping (too large), and only its size is remembered.
 */
export type DeltaEntry = {source: string; target: string; size: number; sha256?: string; identity?: FileIdentity};

/** A lowercase hex SHA-256, checked by hand: 30,000 of them on a large tree's load, twice as fast as /^[0-9a-f]{64}$/. */
function isHex64(value: unknown): value is string {
	if (typeof value !== 'string' || value.length !== 64) {
		return false;
	}

	for (let index = 0; index < 64; index++) {
		const code = value.charCodeAt(index);
		if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) {
			return false;
		}
	}

	return true;
}
const contents = new Set<Content>(['xz', 'gzip', 'bzip2', 'zstd', 'tar', 'squashfs', 'qcow2', 'unknown']);

/** The default cache file for a web root: outside it, so nothing private is ever served. */
export function defaultCachePath(root: string): string {
	const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
	return join(base, 'simplestreams', `${createHash('sha256').update(root).digest('hex').slice(0, 16)}.json`);
}

export const sameIdentity = (a: FileIdentity, b: FileIdentity) =>
	a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

function validDelta(entry: unknown): entry is DeltaEntry {
	const e = entry as DeltaEntry;
	return typeof e === 'object' && e !== null && isHex64(e.source) && isHex64(e.target) && Number.isSafeInteger(e.size)
		&& (e.sha256 === undefined ? e.identity === undefined : isHex64(e.sha256) && typeof e.identity === 'object' && e.identity !== null);
}

function validEntry(entry: unknown): entry is FileEntry {
	const e = entry as FileEntry;
	return typeof e === 'object' && e !== null
		&& typeof e.dev === 'string' && typeof e.ino === 'string' && Number.isSafeInteger(e.size)
		&& typeof e.mtimeNs === 'string' && typeof e.ctimeNs === 'string' && contents.has(e.content)
		&& (e.sha256 === undefined || isHex64(e.sha256)) && (e.problem === undefined || typeof e.problem === 'string');
}

export class DigestCache {
	static async load(path: string, root: string, emit: Emit): Promise<DigestCache> {
		let text: string;
		try {
			// Bytes, then one decode: with an encoding, readFile decodes a large file 512 KiB at a time
			// through a StringDecoder and joins the pieces (twice the cost for a 7 MB cache).
			text = (await readFile(path)).toString('utf8');
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				emit({type: 'warning', path, message: `digest cache cannot be read (${(error as NodeJS.ErrnoException).code}); hashing everything`});
			}

			return new DigestCache(path, root);
		}

		const ignore = (why: string) => {
			emit({type: 'warning', path, message: `digest cache ignored: ${why}; hashing everything`});
			return new DigestCache(path, root);
		};

		let data: CacheFile;
		try {
			data = JSON.parse(text) as CacheFile;
		} catch {
			return ignore('not valid JSON');
		}

		if (data?.format !== format || typeof data.files !== 'object' || typeof data.combined !== 'object' || data.files === null || data.combined === null) {
			return ignore(`not a ${format} file`);
		}

		if (data.root !== root) {
			return ignore(`it belongs to ${String(data.root)}`);
		}

		const cache = new DigestCache(path, root);
		let dropped = 0;
		// Object.keys, not Object.entries: no [key, value] array per entry (tens of thousands on a large tree).
		for (const file of Object.keys(data.files)) {
			const entry = data.files[file];
			if (validEntry(entry)) {
				cache.files.set(file, entry);
			} else {
				dropped++;
			}
		}

		for (const pair of Object.keys(data.combined)) {
			const combined = data.combined[pair];
			if (isHex64(combined)) {
				cache.pairs.set(pair, combined);
			} else {
				dropped++;
			}
		}

		for (const [deltaPath, entry] of Object.entries(data.deltas ?? {})) {
			if (validDelta(entry)) {
				cache.deltas.set(deltaPath, entry);
			} else {
				dropped++;
			}
		}

		if (dropped > 0) {
			emit({type: 'warning', path, message: `digest cache: ${dropped} malformed entries ignored; those files are hashed again`});
		}

		return cache;
	}

	private readonly files = new Map<string, FileEntry>();
	private readonly pairs = new Map<string, string>();
	private readonly usedFiles = new Set<string>();
	private readonly usedPairs = new Set<string>();
	private readonly deltas = new Map<string, DeltaEntry>();
	private readonly usedDeltas = new Set<string>();
	private dirty = false;

	constructor(readonly path: string, readonly root: string) {}

	/** What is known of the file at `path` in this exact state. */
	lookup(path: string, identity: FileIdentity): Knowledge | undefined {
		const entry = this.files.get(path);
		if (!entry || !sameIdentity(entry, identity)) {
			return undefined;
		}

		this.usedFiles.add(path);
		// Built field by field: conditional spreads cost four times as much, once per file of the tree.
		const {content, problem, sha256} = entry;
		const knowledge: Knowledge = {content};
		if (problem !== undefined) {
			knowledge.problem = problem;
		}

		if (sha256 !== undefined) {
			knowledge.sha256 = sha256;
		}

		return knowledge;
	}

	record(path: string, identity: FileIdentity, knowledge: Knowledge): void {
		this.files.set(path, {...identity, ...knowledge});
		this.usedFiles.add(path);
		this.dirty = true;
	}

	combined(pair: string): string | undefined {
		const combined = this.pairs.get(pair);
		if (combined) {
			this.usedPairs.add(pair);
		}

		return combined;
	}

	recordCombined(pair: string, combined: string): void {
		this.pairs.set(pair, combined);
		this.usedPairs.add(pair);
		this.dirty = true;
	}

	/** What is known of the delta file at `path` (relative to the root); the caller checks it still applies. */
	delta(path: string): DeltaEntry | undefined {
		const entry = this.deltas.get(path);
		if (entry) {
			this.usedDeltas.add(path);
		}

		return entry;
	}

	recordDelta(path: string, entry: DeltaEntry): void {
		this.deltas.set(path, entry);
		this.usedDeltas.add(path);
		this.dirty = true;
	}

	/**
	 * Drop what was not used since the last prune (or the load), so the cache stays the size of the
	 * tree. The marks start again: a watcher prunes after every full scan, and what it removed from
	 * the tree must leave the cache at the next one, not stay for the life of the process.
	 */
	prune(): void {
		for (const [map, used] of [[this.files, this.usedFiles], [this.pairs, this.usedPairs], [this.deltas, this.usedDeltas]] as const) {
			for (const key of map.keys()) {
				if (!used.has(key)) {
					map.delete(key);
					this.dirty = true;
				}
			}

			used.clear();
		}
	}

	/** Write the cache if it changed; returns the number of entries or undefined when nothing was written. */
	async save(): Promise<number | undefined> {
		if (!this.dirty) {
			return undefined;
		}

		const data: CacheFile = {
			format,
			root: this.root,
			files: Object.fromEntries([...this.files].sort(([a], [b]) => (a < b ? -1 : 1))),
			combined: Object.fromEntries([...this.pairs].sort(([a], [b]) => (a < b ? -1 : 1))),
			...(this.deltas.size > 0 ? {deltas: Object.fromEntries([...this.deltas].sort(([a], [b]) => (a < b ? -1 : 1)))} : {}),
		};
		await mkdir(dirname(this.path), {recursive: true});
		await writeAtomic(this.path, JSON.stringify(data) + '\n', 0o600);
		this.dirty = false;
		return this.files.size + this.pairs.size + this.deltas.size;
	}
}
