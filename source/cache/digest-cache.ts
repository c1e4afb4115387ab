// Digests already known, so unchanged files are never read again. A file entry holds only while the
// file's device, inode, size, mtime and ctime are what they were when it was hashed; combined
// fingerprints are keyed by the two file digests, so they hold whatever the files are called.
// A delta entry says which two rootfs digests a delta file was made from, so it is never made twice.
import {mkdir, readFile} from 'node:fs/promises';
import {homedir} from 'node:os';
import {createHash} from 'node:crypto';
import {dirname, join} from 'node:path';
import {sameIdentity, type FileFacts, type FileIdentity} from '../domain/file.js';
import type {Content} from '../domain/ftypes.js';
import {warning, type ReasonCode} from '../domain/reasons.js';
import {writeAtomic} from '../util/atomic-write.js';

const format = 'simplestreams-digests:1';

type FileEntry = FileIdentity & FileFacts;

/** Why a cache file was not used, in whole or in part (the pipeline's warning event). */
export type CacheWarning = {type: 'warning'; path: string; code: ReasonCode; message: string};

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

/** Entries of one kind, with the keys this run used: the others are pruned after a full run. */
class Tracked<V> {
	readonly entries = new Map<string, V>();
	private readonly used = new Set<string>();

	/** Take the valid entries of a loaded record; returns how many were not. */
	load(record: Record<string, unknown>, valid: (value: unknown) => value is V): number {
		let dropped = 0;
		// Object.keys, not Object.entries: no [key, value] array per entry (tens of thousands on a large tree).
		for (const key of Object.keys(record)) {
			const value = record[key];
			if (valid(value)) {
				this.entries.set(key, value);
			} else {
				dropped++;
			}
		}

		return dropped;
	}

	use(key: string): void {
		this.used.add(key);
	}

	set(key: string, value: V): void {
		this.entries.set(key, value);
		this.used.add(key);
	}

	/** Drop the entries not used since the last prune (or the load); whether any were. */
	prune(): boolean {
		let pruned = false;
		for (const key of this.entries.keys()) {
			if (!this.used.has(key)) {
				this.entries.delete(key);
				pruned = true;
			}
		}

		this.used.clear(); // See DigestCache.prune.
		return pruned;
	}

	/** `"name":{…}`, entries in key order, a few thousand at a time: never the whole file as one string. */
	* json(name: string): Generator<string> {
		const keys = [...this.entries.keys()].sort();
		yield `${JSON.stringify(name)}:{`;
		for (let index = 0; index < keys.length; index += 4096) {
			yield (index === 0 ? '' : ',') + keys.slice(index, index + 4096).map(key => `${JSON.stringify(key)}:${JSON.stringify(this.entries.get(key))}`).join(',');
		}

		yield '}';
	}
}

export class DigestCache {
	static async load(path: string, root: string, emit: (warning: CacheWarning) => void): Promise<DigestCache> {
		let text: string;
		try {
			// Bytes, then one decode: with an encoding, readFile decodes a large file 512 KiB at a time
			// through a StringDecoder and joins the pieces, which costs more on a large cache.
			text = (await readFile(path)).toString('utf8');
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				emit({type: 'warning', path, ...warning('cache-unreadable', String((error as NodeJS.ErrnoException).code))});
			}

			return new DigestCache(path, root);
		}

		const ignore = (why: string) => {
			emit({type: 'warning', path, ...warning('cache-ignored', why)});
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
		const dropped = cache.files.load(data.files, validEntry) + cache.pairs.load(data.combined, isHex64)
			+ (typeof data.deltas === 'object' && data.deltas !== null ? cache.deltas.load(data.deltas, validDelta) : 0);
		if (dropped > 0) {
			emit({type: 'warning', path, ...warning('cache-entries-dropped', dropped)});
		}

		return cache;
	}

	private readonly files = new Tracked<FileEntry>();
	private readonly pairs = new Tracked<string>();
	private readonly deltas = new Tracked<DeltaEntry>();
	private dirty = false;

	constructor(readonly path: string, readonly root: string) {}

	/** What is known of the file at `path` in this exact state. */
	lookup(path: string, identity: FileIdentity): FileFacts | undefined {
		const entry = this.files.entries.get(path);
		if (!entry || !sameIdentity(entry, identity)) {
			return undefined;
		}

		this.files.use(path);
		// Built field by field: conditional spreads cost four times as much, once per file of the tree.
		const {content, problem, sha256} = entry;
		const facts: FileFacts = {content};
		if (problem !== undefined) {
			facts.problem = problem;
		}

		if (sha256 !== undefined) {
			facts.sha256 = sha256;
		}

		return facts;
	}

	record(path: string, identity: FileIdentity, facts: FileFacts): void {
		this.files.set(path, {...identity, ...facts});
		this.dirty = true;
	}

	combined(pair: string): string | undefined {
		const combined = this.pairs.entries.get(pair);
		if (combined) {
			this.pairs.use(pair);
		}

		return combined;
	}

	recordCombined(pair: string, combined: string): void {
		this.pairs.set(pair, combined);
		this.dirty = true;
	}

	/** What is known of the delta file at `path` (relative to the root); the caller checks it still applies. */
	delta(path: string): DeltaEntry | undefined {
		const entry = this.deltas.entries.get(path);
		if (entry) {
			this.deltas.use(path);
		}

		return entry;
	}

	recordDelta(path: string, entry: DeltaEntry): void {
		this.deltas.set(path, entry);
		this.dirty = true;
	}

	/**
	 * Drop what was not used since the last prune (or the load), so the cache stays the size of the
	 * tree. The marks start again: a watcher prunes after every full scan, and what it removed from
	 * the tree must leave the cache at the next one, not stay for the life of the process.
	 */
	prune(): void {
		// Every map is pruned: no short-circuit.
		const pruned = [this.files.prune(), this.pairs.prune(), this.deltas.prune()];
		this.dirty ||= pruned.includes(true);
	}

	/** Write the cache if it changed; returns the number of entries or undefined when nothing was written. */
	async save(): Promise<number | undefined> {
		if (!this.dirty) {
			return undefined;
		}

		const {files, pairs, deltas, root} = this;
		const document = function * () {
			yield `{"format":${JSON.stringify(format)},"root":${JSON.stringify(root)},`;
			yield * files.json('files');
			yield ',';
			yield * pairs.json('combined');
			if (deltas.entries.size > 0) {
				yield ',';
				yield * deltas.json('deltas');
			}

			yield '}\n';
		};

		await mkdir(dirname(this.path), {recursive: true});
		await writeAtomic(this.path, document(), 0o600);
		this.dirty = false;
		return files.entries.size + pairs.entries.size + deltas.entries.size;
	}
}
