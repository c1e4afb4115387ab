// What a `-N` run published, from which tree: so that the next run over an unchanged tree stops
// right after the scan. The streams are a function of the scanned tree (names, requirements,
// aliases, and the identity of every image file: digests are only trusted while it holds), of the
// version of this program, and of nothing else. A receipt pins all of these by one key and pins what
// the run left behind (the two streams and the digest cache) by their identities. When all of it
// still holds, regenerating would write the same bytes: the run replays the events that run
// reported instead, and a tree of 10,000 versions costs its scan and no more.
//
// With --deltas the delta options are part of the key and the published delta files are pinned
// beside the streams; the run's delta events are kept as a run that finds them all made reports
// them (reused, or not worth it).
//
// Runs that depend on more than that do not write a receipt: the watcher (settling depends on the
// clock), a run that could not read some file (it may be readable next time), and one whose delta
// could not be made (xdelta3 missing or failing: it may work next time).
import {createHash, type Hash} from 'node:crypto';
import {readFileSync, statSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {identityNumbers, identityOf, putIdentity, sameIdentity, type FileFacts, type FileIdentity} from '../domain/file.js';
import {isReasonCode} from '../domain/reasons.js';
import {servedFiles} from '../streams/paths.js';
import {writeAtomic} from '../util/atomic-write.js';
import type {DeltaOptions} from './delta-options.js';
import {validProducts, type Listings, type StoredListings} from './listings.js';
import type {Emit, PipelineEvent, Scope} from './events.js';
import {visitFiles, type Digests, type FileSeen, type Tree} from '../domain/tree.js';

const format = 'simplestreams-receipt:3';

/** The events of a run that are not from the scan, as a no-change run would emit them again. */
export type Replayed = Extract<PipelineEvent, {type: 'skipped' | 'warning' | 'cataloged' | 'delta-reused' | 'delta-skipped'}>;

export type Receipt = {
	format: typeof format;
	tree: string;
	/** Absolute paths of what the run left behind, with their identities then. */
	outputs: Array<{path: string; identity: FileIdentity}>;
	/** Scanned files whose digest the cache did not hold: all others are reported as reused. */
	uncached: string[];
	events: Replayed[];
	/** The scan's version directories' listings fit to reuse while they hold (listings.ts); checked one by one as the next scan asks. */
	listings?: StoredListings;
};

/**
 * A receipt as its file holds it: this as one line of JSON, then the listings' numbers, in this
 * machine's byte order (a receipt lies beside its cache; one of another byte order would hold
 * numbers no directory's stat matches, so none of its listings would be reused).
 */
type ReceiptText = Omit<Receipt, 'listings'> & {listings?: StoredListings['products']};

/** Where the receipt of the runs using a digest cache lives: beside it, outside the web root. */
export const receiptPath = (cachePath: string) => `${cachePath.replace(/\.json$/, '')}.published.json`;

/** This copy of the program (the file it runs from): another version may publish differently. */
function programIdentity(): string {
	const {ino, size, mtimeMs} = statSync(fileURLToPath(import.meta.url));
	return `${ino}:${size}:${mtimeMs}`;
}

/**
 * One digest over everything the streams are made from: NUL-separated fields (no path or JSON text
 * holds a NUL), a product's and a version's tagged so that no file's fields (which start `images/`)
 * can pass for either. Where each file is read is part of it: a link inside the root may lead
 * elsewhere tomorrow. The files' identities go as numbers into a digest of their own, which ends
 * the text: the text says how many there are, and a string made of every number cost more than the
 * rest of the key (bench/RESULTS.md).
 */
export function treeKey(tree: Tree, deltas?: DeltaOptions): string {
	const hash = createHash('sha256').update(`${format}\0${programIdentity()}\0${tree.root}\0${JSON.stringify(deltas ?? null)}\n`);
	const identities = createHash('sha256');
	const numbers = new Float64Array(identityNumbers * 4096);
	let count = 0;
	const fields: string[] = [];
	const take = ({path, identity}: FileSeen, target: string | undefined) => {
		// Where a file is read, when a link says: any other is read under the root, which the key holds.
		fields.push(path, target ?? '');
		if (count === numbers.length) {
			identities.update(numbers);
			count = 0;
		}

		putIdentity(numbers, count, identity);
		count += identityNumbers;
	};

	for (const {ref, requirements, aliases, versions} of tree.products) {
		fields.push(`P${JSON.stringify([ref.id, ref.path, requirements, aliases])}`);
		// Versions by index, here and in replay and scannedTotals: loops run once a run are mostly run
		// before V8 optimises them, and there a for-of makes an object a step (bench/RESULTS.md).
		for (let v = 0; v < versions.length; v++) {
			const version = versions[v]!;
			fields.push(`V${version.path}`);
			visitFiles(version, take);
			// Hashed a piece at a time: the whole text of a large tree is megabytes. A piece of 1,024
			// fields of paths of usual lengths stays below V8's large objects (128 KiB), which only a full
			// collection frees: larger pieces stayed, and raised the peak (bench/RESULTS.md).
			if (fields.length > 1024) {
				hashFields(hash, fields);
				fields.length = 0;
			}
		}
	}

	identities.update(numbers.subarray(0, count));
	return hashFields(hash, fields).update(identities.digest()).digest('hex');
}

/**
 * `fields`, each ended by a NUL. The last NUL is a hash input of its own: added to the joined text,
 * it made a concatenation that the hash flattens into a copy of the whole piece first.
 */
const hashFields = (hash: Hash, fields: readonly string[]) => hash.update(fields.join('\0')).update('\0');

function identityAt(path: string): FileIdentity | undefined {
	try {
		return identityOf(statSync(path));
	} catch {
		return undefined;
	}
}

const scopes = new Set<Scope>(['tree', 'product', 'version', 'file']);
const isString = (value: unknown): value is string => typeof value === 'string';
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function validEvent(event: unknown): event is Replayed {
	const e = event as Replayed;
	if (typeof e !== 'object' || e === null) {
		return false;
	}

	switch (e.type) {
		case 'skipped': {
			return scopes.has(e.scope) && isString(e.path) && isReasonCode(e.code) && isString(e.reason);
		}

		case 'warning': {
			return isString(e.path) && isReasonCode(e.code) && isString(e.message);
		}

		case 'cataloged': {
			return isCount(e.products) && isCount(e.versions) && typeof e.images === 'object' && e.images !== null && isCount(e.images.lxd) && isCount(e.images.incus);
		}

		case 'delta-reused': {
			return isString(e.path) && isCount(e.size) && typeof e.fraction === 'number';
		}

		case 'delta-skipped': {
			return isString(e.path) && isReasonCode(e.code) && isString(e.reason) && e.problem === false;
		}

		default: {
			return false;
		}
	}
}

function validReceipt(data: unknown): data is ReceiptText {
	const r = data as ReceiptText;
	return typeof r === 'object' && r !== null && r.format === format && isString(r.tree)
		&& Array.isArray(r.outputs) && r.outputs.every(o => isString(o?.path) && typeof o.identity === 'object' && o.identity !== null)
		&& Array.isArray(r.uncached) && r.uncached.every(isString)
		&& Array.isArray(r.events) && r.events.every(validEvent) && r.events.at(-1)?.type === 'cataloged'
		&& (r.listings === undefined || validProducts(r.listings));
}

/** Where a run's receipt lives, the key (treeKey) of the tree that run scanned, and the listings its scan kept. */
export type ReceiptTarget = {path: string; key: string; listings?: Listings};

/**
 * The receipt at `path` as the last -N run left it. Anything else (none, unreadable, another
 * format) is none: the scan lists every directory and the pipeline runs, which is always right; so
 * it is not worth a warning.
 */
export function lastReceipt(path: string): Receipt | undefined {
	try {
		const bytes = readFileSync(path);
		// JSON.stringify writes no line break: the first one ends the text.
		const end = bytes.indexOf(0x0A);
		const data: unknown = end === -1 ? undefined : JSON.parse(bytes.toString('utf8', 0, end));
		if (!validReceipt(data)) {
			return undefined;
		}

		const {listings, ...receipt} = data;
		const numbers = bytes.subarray(end + 1);
		// A copy: a Float64Array's bytes must start at a multiple of 8.
		return listings && numbers.length % 8 === 0 ? {...receipt, listings: {products: listings, numbers: new Float64Array(numbers.buffer.slice(numbers.byteOffset, numbers.byteOffset + numbers.length))}} : receipt;
	} catch {
		return undefined;
	}
}

/** Whether `receipt` shows that the streams were published from the tree of `key` and are still as that run left them. */
export function stillPublished(receipt: Receipt | undefined, key: string): receipt is Receipt {
	return receipt?.tree === key && receipt.outputs.every(o => {
		const identity = identityAt(o.path);
		return identity !== undefined && sameIdentity(identity, o.identity);
	});
}

/** Emit what the run that wrote `receipt` reported, as a run that found nothing to do would. */
export function replay(receipt: Receipt, tree: Tree, emit: Emit): void {
	// Usually none: then no path is looked up.
	const uncached = receipt.uncached.length > 0 ? new Set(receipt.uncached) : undefined;
	const report = ({path}: FileSeen) => {
		if (!uncached?.has(path)) {
			emit({type: 'cached', path});
		}
	};

	for (const {versions} of tree.products) {
		for (let v = 0; v < versions.length; v++) {
			visitFiles(versions[v]!, report);
		}
	}

	for (const event of receipt.events) {
		emit(event);
	}

	for (const path of servedFiles) {
		emit({type: 'written', path, changed: false});
	}
}

/**
 * Gathers, from the events of the stages after the scan, what a no-change run reports again (skips,
 * warnings, counts, deltas: one made now is one the next run finds made), and notices what may go
 * otherwise next time (a transient skip or warning, a delta that failed to be made or checked):
 * then the run leaves no receipt. Every event is passed on.
 */
export class Recorder {
	private readonly events: Replayed[] = [];
	private unsettled = false;
	/** Scanned files whose digest the cache did not hold, once the digests are all in; undefined while they are not, or when the probe could not read some file. */
	private uncached?: string[];

	constructor(private readonly target: ReceiptTarget, private readonly next: Emit) {}

	readonly emit: Emit = event => {
		if ((event.type === 'skipped' || event.type === 'warning') && event.transient) {
			this.unsettled = true;
		} else if (event.type === 'delta-skipped' && event.problem) {
			this.unsettled = true;
		} else if (event.type === 'delta-made') {
			this.events.push({type: 'delta-reused', path: event.path, size: event.size, fraction: event.fraction});
		} else if (event.type === 'skipped' || event.type === 'warning' || event.type === 'cataloged' || event.type === 'delta-reused' || event.type === 'delta-skipped') {
			this.events.push(event);
		}

		this.next(event);
	};

	/**
	 * Note what the receipt says of the files of `tree`, once every digest is in: taken before the
	 * write so that the tree, the facts and the digests need not be held through it.
	 */
	files(tree: Tree, facts: ReadonlyMap<string, FileFacts>, digests: Digests): void {
		const files = tree.products.flatMap(p => p.versions.flatMap(v => v.files));
		// Reported as reused by the next run: the digests the cache held, and those this run added.
		this.uncached = files.every(f => facts.has(f.path)) ? files.filter(f => !facts.get(f.path)?.sha256 && !digests.files.has(f.path)).map(f => f.path) : undefined;
	}

	/**
	 * Leave the receipt of a run that published the tree of `files`, unless something may go
	 * otherwise next time or the probe could not read a file. `outputs` are absolute paths; a missing
	 * one (the cache could not be saved) leaves no receipt, as does a failure to write it: the next
	 * run then does the whole job.
	 */
	async record(outputs: readonly string[]): Promise<void> {
		if (this.unsettled || this.uncached === undefined) {
			return;
		}

		const identities = outputs.map(output => ({path: output, identity: identityAt(output)}));
		if (identities.some(o => o.identity === undefined)) {
			return;
		}

		await writeReceipt(this.target.path, {format, tree: this.target.key, outputs: identities as Receipt['outputs'], uncached: this.uncached, events: this.events}, this.target.listings?.stored());
	}
}

/** Write a receipt: `receipt` as its JSON line, then the numbers of `listings`. A failure leaves none, or the one before: the next run does the whole job, or reads the directories again. */
async function writeReceipt(path: string, receipt: Omit<ReceiptText, 'listings'>, listings: StoredListings | undefined): Promise<void> {
	const text: ReceiptText = {...receipt, listings: listings?.products};
	const bytes = Buffer.concat([Buffer.from(`${JSON.stringify(text)}\n`), new Uint8Array(listings?.numbers.buffer ?? new ArrayBuffer(0))]);
	// Not synced: a receipt lost or damaged in a crash is none, and the next run publishes again;
	// what it pins (the streams, the cache) was synced before it is written.
	await writeAtomic(path, bytes, 0o600, false).catch(() => undefined);
}

/**
 * After a run that `receipt` stopped: when its scan read version directories that the receipt
 * holds no listing of, or none that still holds, and kept theirs (settled since the run that
 * published, or never kept: an import's run scans no listings), the receipt is written again with
 * the listings this scan has, the rest of it as it was. A run the receipt stops writes nothing
 * else, so without this every later run over the same tree would read those directories again.
 */
export async function relist(path: string, receipt: Receipt, listings: Listings): Promise<void> {
	if (listings.learned) {
		await writeReceipt(path, receipt, listings.stored());
	}
}
