// Digests already known, so unchanged files are never read again. A file entry holds only while the
// file's device, inode, size, mtime and ctime are what they were when it was hashed; combined
// fingerprints are keyed by the two file digests, so they hold whatever the files are called.
// A delta entry says which two rootfs digests a delta file was made from, so it is never made twice.
//
// On disk: a snapshot (the JSON document) and beside it a journal of what changed since, one JSON
// line per entry set or dropped, appended at each save. A watcher over a large tree changes a few
// entries per regeneration, so it appends a few lines instead of rewriting the whole cache. The
// journal is folded into a new snapshot (written atomically, then the journal removed) once it is
// a good part of the snapshot's size. Replaying a journal over the snapshot it was folded into
// gives the same entries, so a crash between the two steps loses nothing; a line cut short by a
// crash (the tail) is ignored, and what it held is hashed again. Every entry is checked as it is
// read, from either file.
import {appendFile, mkdir, stat, truncate, unlink} from 'node:fs/promises';
import {homedir} from 'node:os';
import {createHash} from 'node:crypto';
import {dirname, join} from 'node:path';
import {millisecondsOf, sameIdentity, type FileFacts, type FileIdentity} from '../domain/file.js';
import type {Content} from '../domain/ftypes.js';
import {warning, type ReasonCode} from '../domain/reasons.js';
import {removeLeftovers, writeAtomic} from '../util/atomic-write.js';
import {errorCode} from '../util/errors.js';
import {readBoundedFile, SmallFileProblem} from '../util/small-file.js';

const format = 'simplestreams-digests:2';

/**
 * The format before identities were numbers (dev, ino and nanosecond times as decimal strings):
 * still read, each identity made the one Node's stats give for it now, and written again in
 * the current format by the next save.
 */
const firstFormat = 'simplestreams-digests:1';

/** A file's entry as the cache's files hold it. */
type WrittenEntry = FileIdentity & FileFacts;

/**
 * A file's entry in memory: its identity is the very object the scan made for the file when the
 * cache was last asked about it, rather than a copy of its own: a watcher keeps its tree and its
 * cache for its life, a copy for each file in both (bench/RESULTS.md).
 */
type FileEntry = FileFacts & {identity: FileIdentity};

/** A journal line: an entry of `kind` set to `value`, or dropped (no value). */
type JournalLine = [kind: Kind, key: string, value?: unknown];

type Kind = 'file' | 'combined' | 'delta';

/** Entries of a snapshot's text made into one string at a time: a file's entry is 200-400 characters. */
const entriesAPiece = 256;

/** The journal's size at which it is folded into the snapshot: a share of the snapshot, but not for every few lines of a small one. */
const compactAt = (snapshotBytes: number) => Math.max(1 << 20, snapshotBytes / 2);

/** A journal larger than this for its snapshot was not written by this program's saves: not read. */
const journalLimit = (snapshotBytes: number) => (2 * compactAt(snapshotBytes)) + (1 << 20);

/**
 * The largest snapshot read: about a million files' entries, and a string this long
 * still fits in Node.
 */
const maxCacheBytes = 256 * 1024 * 1024;

/** The journal beside a cache file. */
export const journalPath = (path: string) => `${path.replace(/\.json$/, '')}.journal`;

/** Why a cache file was not used, in whole or in part (the pipeline's warning event). */
export type CacheWarning = {type: 'warning'; path: string; code: ReasonCode; message: string};

type CacheFile = {
	format: typeof format | typeof firstFormat;
	root: string;
	files: Record<string, WrittenEntry>;
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

/**
 * A file's entry: every field at once, so every entry has one shape, its fields inside the object.
 * A spread takes V8's slow path, once per new file.
 */
const fileEntry = (identity: FileIdentity, {content, problem, sha256}: FileFacts): FileEntry => ({identity, content, problem, sha256});

/** A file's entry as it is written: its fields in this order (JSON leaves an undefined one out). */
const writtenEntry = ({identity: {dev, ino, size, mtimeMs, ctimeMs}, content, problem, sha256}: FileEntry): WrittenEntry =>
	({dev, ino, size, mtimeMs, ctimeMs, content, problem, sha256});

const isDecimal = (value: unknown): value is string => typeof value === 'string' && /^-?\d+$/.test(value);

/** A file's identity as either format holds it. */
function readIdentity(value: unknown): FileIdentity | undefined {
	const e = value as Record<keyof FileIdentity | 'mtimeNs' | 'ctimeNs', unknown>;
	if (typeof e !== 'object' || e === null || !Number.isSafeInteger(e.size)) {
		return undefined;
	}

	if (typeof e.dev === 'number' && typeof e.ino === 'number' && typeof e.mtimeMs === 'number' && typeof e.ctimeMs === 'number') {
		return e as FileIdentity;
	}

	// Number() of a decimal inode or device is the double Node's stats give for it: both round to nearest.
	return isDecimal(e.dev) && isDecimal(e.ino) && isDecimal(e.mtimeNs) && isDecimal(e.ctimeNs)
		? {dev: Number(e.dev), ino: Number(e.ino), size: e.size as number, mtimeMs: millisecondsOf(e.mtimeNs), ctimeMs: millisecondsOf(e.ctimeNs)}
		: undefined;
}

function readDelta(value: unknown): DeltaEntry | undefined {
	const e = value as DeltaEntry;
	if (typeof e !== 'object' || e === null || !isHex64(e.source) || !isHex64(e.target) || !Number.isSafeInteger(e.size)) {
		return undefined;
	}

	if (e.sha256 === undefined) {
		return e.identity === undefined ? e : undefined;
	}

	const identity = readIdentity(e.identity);
	return isHex64(e.sha256) && identity ? {...e, identity} : undefined;
}

function readEntry(value: unknown): FileEntry | undefined {
	const e = value as WrittenEntry;
	if (typeof e !== 'object' || e === null || !contents.has(e.content)
		|| (e.sha256 !== undefined && !isHex64(e.sha256)) || (e.problem !== undefined && typeof e.problem !== 'string')) {
		return undefined;
	}

	// The object read serves as the identity until the scan's is there to take its place (lookup).
	const identity = readIdentity(e);
	return identity && fileEntry(identity, e);
}

const readPair = (value: unknown) => (isHex64(value) ? value : undefined);

/** Entries of one kind, with the keys this run used: the others are pruned after a full run. */
class Tracked<V> {
	readonly entries = new Map<string, V>();
	private readonly used = new Set<string>();
	/** Keys set or dropped since the last save: what the journal is told. */
	readonly changed = new Set<string>();
	/**
	 * `journaled`: whether changes are noted for the journal, which is only while there is a snapshot to
	 * append them to. Without one the next save writes every entry, and a cold run would note each of
	 * them for nothing. `written`: an entry as the cache's files hold it.
	 */
	constructor(readonly kind: Kind, private readonly read: (value: unknown) => V | undefined, private readonly journaled: () => boolean, private readonly written: (value: V) => unknown = value => value) {}

	/** Take the valid entries of a loaded record; returns how many were not. */
	load(record: Record<string, unknown>): number {
		let dropped = 0;
		// Object.keys, not Object.entries: no [key, value] array per entry (tens of thousands on a large tree).
		for (const key of Object.keys(record)) {
			const value = this.read(record[key]);
			if (value !== undefined) {
				this.entries.set(key, value);
			} else {
				dropped++;
			}
		}

		return dropped;
	}

	/** Replay one journal line of this kind; whether it was valid. */
	replay(key: string, value: unknown, dropping: boolean): boolean {
		if (dropping) {
			this.entries.delete(key);
			return true;
		}

		const entry = this.read(value);
		if (entry === undefined) {
			return false;
		}

		this.entries.set(key, entry);
		return true;
	}

	use(key: string): void {
		this.used.add(key);
	}

	set(key: string, value: V): void {
		this.entries.set(key, value);
		this.used.add(key);
		if (this.journaled()) {
			this.changed.add(key);
		}
	}

	/** Drop the entries not used since the last prune (or the load); whether any were. */
	prune(): boolean {
		let pruned = false;
		for (const key of this.entries.keys()) {
			if (!this.used.has(key)) {
				this.entries.delete(key);
				if (this.journaled()) {
					this.changed.add(key);
				}

				pruned = true;
			}
		}

		this.used.clear(); // See DigestCache.prune.
		return pruned;
	}

	/**
	 * `"name":{…}`, entries in key order, a few hundred at a time: never the whole file as one string,
	 * and no piece as large as V8 places in its large-object space (128 KB), which only a full
	 * collection frees; a smaller piece dies young, in a scavenge, once written.
	 */
	* json(name: string): Generator<string> {
		const keys = [...this.entries.keys()].sort();
		yield `${JSON.stringify(name)}:{`;
		for (let index = 0; index < keys.length; index += entriesAPiece) {
			yield (index === 0 ? '' : ',') + keys.slice(index, index + entriesAPiece).map(key => `${JSON.stringify(key)}:${JSON.stringify(this.written(this.entries.get(key)!))}`).join(',');
		}

		yield '}';
	}

	/** The journal lines of what changed since the last save. */
	journal(): string {
		let text = '';
		for (const key of this.changed) {
			const value = this.entries.get(key);
			const line: JournalLine = value === undefined ? [this.kind, key] : [this.kind, key, this.written(value)];
			text += JSON.stringify(line) + '\n';
		}

		return text;
	}
}

export class DigestCache {
	static async load(path: string, root: string, emit: (warning: CacheWarning) => void): Promise<DigestCache> {
		const cache = new DigestCache(path, root);
		const ignore = (why: string) => {
			emit({type: 'warning', path, ...warning('cache-ignored', why)});
			return new DigestCache(path, root);
		};

		let text: string;
		try {
			// Bytes, then one decode: decoding a large file piece by piece and joining the pieces costs more.
			const bytes = await readBoundedFile(path, {limit: maxCacheBytes});
			cache.snapshotBytes = bytes.length;
			text = bytes.toString('utf8');
		} catch (error) {
			if (error instanceof SmallFileProblem) {
				// Not written by this program's saves (a FIFO would stall the run, a huge file fill its memory); the next save replaces it.
				return ignore(`it ${error.why}`);
			}

			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				emit({type: 'warning', path, ...warning('cache-unreadable', errorCode(error))});
			}

			// A journal without its snapshot is a leftover: the next save writes both anew.
			return cache;
		}

		let data: CacheFile;
		try {
			data = JSON.parse(text) as CacheFile;
		} catch {
			return ignore('not valid JSON');
		}

		if ((data?.format !== format && data?.format !== firstFormat) || typeof data.files !== 'object' || typeof data.combined !== 'object' || data.files === null || data.combined === null) {
			return ignore(`not a ${format} file`);
		}

		if (data.root !== root) {
			return ignore(`it belongs to ${String(data.root)}`);
		}

		const dropped = cache.files.load(data.files) + cache.pairs.load(data.combined)
			+ (typeof data.deltas === 'object' && data.deltas !== null ? cache.deltas.load(data.deltas) : 0)
			+ await cache.replay(emit);
		if (dropped > 0) {
			emit({type: 'warning', path, ...warning('cache-entries-dropped', dropped)});
		}

		if (data.format === firstFormat) {
			// Written again whole in this format, the journal folded in: none of the first format's lines is appended to.
			cache.snapshotBytes = undefined;
			cache.dirty = true;
		}

		return cache;
	}

	private readonly journaled = () => this.snapshotBytes !== undefined;
	private readonly files = new Tracked<FileEntry>('file', readEntry, this.journaled, writtenEntry);
	private readonly pairs = new Tracked<string>('combined', readPair, this.journaled);
	private readonly deltas = new Tracked<DeltaEntry>('delta', readDelta, this.journaled);
	private readonly kinds = new Map<Kind, Tracked<unknown>>([this.files, this.pairs, this.deltas].map(t => [t.kind, t as Tracked<unknown>]));
	private dirty = false;
	/** The snapshot's size on disk, undefined while there is none this cache can build on. */
	private snapshotBytes?: number;
	/** The journal's size on disk (0: none). */
	private journalBytes = 0;
	/** Whether the journal ends in a line cut short (after journalBytes): the next append cuts it off first. */
	private tornTail = false;

	constructor(readonly path: string, readonly root: string) {}

	/** The cache's files on disk, as a save left them: the snapshot, and the journal if there is one. */
	get paths(): string[] {
		return this.journalBytes > 0 ? [this.path, journalPath(this.path)] : [this.path];
	}

	/** Apply the journal to the snapshot just loaded; returns how many of its lines were not valid. */
	private async replay(emit: (warning: CacheWarning) => void): Promise<number> {
		const path = journalPath(this.path);
		let bytes: Buffer;
		try {
			// Bounded: a journal is folded into the snapshot long before it reaches this.
			bytes = await readBoundedFile(path, {limit: journalLimit(this.snapshotBytes!)});
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				emit({type: 'warning', path, ...(error instanceof SmallFileProblem ? warning('cache-ignored', `the journal ${error.why}`) : warning('cache-unreadable', errorCode(error)))});
				// Whatever it held is unknown: the next save writes a snapshot without it.
				this.dirty = true;
				this.snapshotBytes = undefined;
			}

			return 0;
		}

		const lines = bytes.toString('utf8').split('\n');
		// The text after the last newline is a line whose append was cut short: ignored.
		const tail = lines.pop()!;
		this.tornTail = tail !== '';
		this.journalBytes = bytes.length - Buffer.byteLength(tail);
		let dropped = 0;
		for (const text of lines) {
			let line: unknown;
			try {
				line = JSON.parse(text);
			} catch {
				dropped++;
				continue;
			}

			const [kind, key, value] = Array.isArray(line) ? line as JournalLine : [];
			const tracked = typeof kind === 'string' ? this.kinds.get(kind) : undefined;
			if (!tracked || typeof key !== 'string' || !tracked.replay(key, value, (line as unknown[]).length === 2)) {
				dropped++;
			}
		}

		return dropped;
	}

	/** What is known of the file at `path` in this exact state. */
	lookup(path: string, identity: FileIdentity): FileFacts | undefined {
		const entry = this.files.entries.get(path);
		if (!entry || !sameIdentity(entry.identity, identity)) {
			return undefined;
		}

		// The same state: the caller's identity, the one its tree keeps, is the one kept here too.
		entry.identity = identity;
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
		const {content, problem, sha256} = facts;
		const entry = this.files.entries.get(path);
		if (entry && sameIdentity(entry.identity, identity)) {
			// The same state of the file, known better (its digest, once hashed): one entry a file
			// rather than a second one for each file a cold run hashes.
			entry.identity = identity;
			entry.content = content;
			entry.problem = problem;
			entry.sha256 = sha256;
			this.files.set(path, entry);
		} else {
			this.files.set(path, fileEntry(identity, facts));
		}

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

	/**
	 * Write what changed: appended to the journal, or a new snapshot when there is none yet or the
	 * journal has grown large. Returns the number of entries, or undefined when nothing was written.
	 */
	async save(): Promise<number | undefined> {
		if (!this.dirty) {
			return undefined;
		}

		const {files, pairs, deltas} = this;
		await mkdir(dirname(this.path), {recursive: true});
		if (this.snapshotBytes === undefined) {
			// A journal left beside no snapshot (or one that was not used) is no part of this cache.
			await this.removeJournal();
			await this.writeSnapshot();
		} else {
			// Only here: a first save (every entry changed) would build the journal's text for nothing.
			const changes = files.journal() + pairs.journal() + deltas.journal();
			const appended = Buffer.byteLength(changes);
			if (appended > 0) {
				if (this.tornTail) {
					await truncate(journalPath(this.path), this.journalBytes);
					this.tornTail = false;
				}

				await appendFile(journalPath(this.path), changes, {mode: 0o600});
				this.journalBytes += appended;
				// As a snapshot's write does: a snapshot's write killed before its rename left one.
				await removeLeftovers(this.path);
			}

			// The journal holds every change up to now, so replaying it over the new snapshot (after a
			// crash before it is removed) changes nothing.
			if (this.journalBytes > compactAt(this.snapshotBytes)) {
				await this.writeSnapshot();
				await this.removeJournal();
			}
		}

		for (const tracked of [files, pairs, deltas]) {
			tracked.changed.clear();
		}

		this.dirty = false;
		return files.entries.size + pairs.entries.size + deltas.entries.size;
	}

	/** Every entry, in one document written atomically. */
	private async writeSnapshot(): Promise<void> {
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

		await writeAtomic(this.path, document(), 0o600);
		this.snapshotBytes = (await stat(this.path)).size;
	}

	private async removeJournal(): Promise<void> {
		await unlink(journalPath(this.path)).catch((error: unknown) => {
			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				throw error;
			}
		});
		this.journalBytes = 0;
		this.tornTail = false;
	}
}
