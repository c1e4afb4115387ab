// The one writer of what the web root serves: streams/v1/images.json, then index.json, then the page
// (index.html), each compact JSON (or HTML) with its gzip beside it (X.gz) for servers that send it as
// is to clients that accept gzip (nginx gzip_static). A file whose bytes would not change is left
// alone (same bytes, same mtime).
//
// A .gz is never of another version than the file beside it, at any instant and after a crash at
// any point: everything that changes is staged (written and synced under a temporary name) before
// anything is placed, so a failed write leaves the published files as they were; then, for each
// file, the old .gz goes first, the file is renamed over, and its new .gz follows. A reader sees the
// old pair, the old or new file alone (served plain), or the new pair.
import {closeSync, constants, openSync} from 'node:fs';
import {lstat, mkdir, open, unlink, type FileHandle} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {promisify} from 'node:util';
import {createGunzip, gunzip, gzip, gzipSync} from 'node:zlib';
import {compareText} from '../util/compare.js';
import {discard, place, settle, stage, type Staged} from '../util/atomic-write.js';
import {errorCode, systemReason, UsageError} from '../util/errors.js';
import {sortedJson, stableJson} from '../util/json.js';
import {readFully} from '../util/read-fully.js';
import {readBoundedFile} from '../util/small-file.js';
import {outsideHeap} from '../util/outside-heap.js';
import {utf8Slices} from '../util/slices.js';
import type {IndexFile, Product, ProductsFile} from './model.js';
import {gzipPath, indexPath, pageMarker, pagePath, productsPath} from './paths.js';
import {packedAtOnce, pieceParts, pieceSize, packPieces, type PackedPieces, type Piece} from './pack.js';
import {PublishedFile, PublishedFileChanged, type PublishedBytes} from './published.js';
import {maxStreamsBytes} from './read.js';

/**
 * What a publish writes, as the bytes published: the same data always gives the same text. The
 * page may be given as a function that makes it, called once the gzip of the products file (if it
 * changes) has started: the two then take the two cores at once (bench/RESULTS.md).
 */
export type StreamsText = {
	/** The products text, joined when read; the write takes `productsPieces` and never joins it. */
	products: string;
	index: string;
	page?: ServedText | (() => ServedText);
	/** The products text as the pieces it is joined from (pack.ts). */
	productsPieces: readonly Piece[];
	/** Pieces packed before (a watcher's), by what they were made of. */
	packed?: PackedPieces;
};

/** A served file's text, or the pieces it is joined from, packed piece by piece (pack.ts). */
export type ServedText = string | readonly Piece[];

const joined = (served: ServedText) => (typeof served === 'string' ? served : served.map(piece => piece.text + (piece.bytes?.text() ?? '')).join(''));

/** What a served text is written from, in order (bytes read from a published file valid until the next step). */
function * texts(served: ServedText): Generator<string | Uint8Array> {
	if (typeof served === 'string') {
		yield served;
		return;
	}

	for (const piece of served) {
		yield * pieceParts(piece);
	}
}

/** The bytes of a served text in UTF-8. */
const servedSize = (served: ServedText) => (typeof served === 'string' ? Buffer.byteLength(served) : served.reduce((sum, piece) => sum + pieceSize(piece), 0));

/**
 * The text of each product entry, by the entry: kept by a watcher, so that an entry kept from the
 * last regeneration is not written out again; once published, as where it lies in images.json.
 */
export type ProductTexts = WeakMap<Product, string | PublishedBytes>;

/** What sortedJson writes of `{"": 0, [id]: entry}` before the entry's id: `{"":0,`. */
const entryHead = 6;

/**
 * `,"ID":ENTRY` (`first`: without the comma) as a run of one string JSON.stringify made flat. Made as
 * a prefix joined to the entry's own JSON, V8 would copy the piece whole the first time it is
 * written, hashed or measured, one more copy of every entry (tens of MB on a large tree). The key ""
 * sorts first, and no id is an array index (each holds colons), which an object would put first.
 */
function entryPiece(id: string, product: Product, first: boolean): string {
	return sortedJson({'': 0, [id]: product}).slice(first ? entryHead : entryHead - 1, -1);
}

/**
 * stableJson of the products file, as pieces: a product's entry a piece of its own. The text of an
 * entry in `texts` is taken as it is (the same bytes: keys sorted at every level, the ids too).
 */
function productsPieces(file: ProductsFile, texts?: ProductTexts): Piece[] {
	const fields = Object.entries(file).filter(([, value]) => value !== undefined).sort(([a], [b]) => compareText(a, b));
	const pieces: Piece[] = [{text: '{'}];
	for (const [at, [key, value]] of fields.entries()) {
		const before = `${at === 0 ? '' : ','}${JSON.stringify(key)}:`;
		if (key !== 'products') {
			pieces.push({text: before + sortedJson(value)});
			continue;
		}

		pieces.push({text: `${before}{`});
		for (const [index, id] of Object.keys(file.products).sort().entries()) {
			const product = file.products[id]!;
			if (!texts) {
				pieces.push({text: entryPiece(id, product, index === 0), of: product});
				continue;
			}

			let text = texts.get(product);
			if (text === undefined) {
				text = outsideHeap(sortedJson(product));
				texts.set(product, text);
			}

			const head = `${index === 0 ? '' : ','}${JSON.stringify(id)}:`;
			pieces.push(typeof text === 'string' ? {text: head + text, of: product} : {text: head, bytes: text, of: product});
		}

		pieces.push({text: '}'});
	}

	pieces.push({text: '}\n'});
	return pieces;
}

/**
 * Compact: the clients never read the indentation, and a server sends every byte of it at each fetch.
 * The products text is joined only when asked for (a dry run prints it, a bucket is sent it): the
 * write takes it in pieces, and a large tree's whole text (tens of MB) is one more copy of it.
 */
export function streamsText(products: ProductsFile, index: IndexFile, texts?: ProductTexts): StreamsText {
	const pieces = productsPieces(products, texts);
	return {
		get products() {
			return joined(pieces);
		},
		productsPieces: pieces,
		index: stableJson(index),
	};
}

/** The gzip of a served file. Its header holds no name and no time, so the same text gives the same bytes. */
export const gzipped = async (text: string): Promise<Buffer> => (text.length <= packedAtOnce ? gzipSync(text, {level: 9}) : promisify(gzip)(text, {level: 9}));

/** What a gzip of a served file holds, unpacked no further than a streams file may be. */
export const unpacked = async (packed: Buffer): Promise<Buffer> => promisify(gunzip)(packed, {maxOutputLength: maxStreamsBytes});

/** Told of each file once it is published (`changed` false when it already held these bytes). */
export type Written = (event: {type: 'written'; path: string; changed: boolean}) => void;

export type WriteOptions = {
	/** Told of each file whose bytes change, before anything is written. */
	replacing?: (path: string) => Promise<void>;
	/** Told, before anything is written, why the page at the root is left alone: it is not one this program wrote. */
	pageKept?: (why: string) => void;
	/** A file to hold open once placed: `take` is given the file as written (not told when it is left as it was). */
	held?: {path: string; take: (file: PublishedFile) => void};
};

/** Characters of the text compared per step (at most 3 bytes each in UTF-8). */
const step = 256 * 1024;

/**
 * Whether `chunks`, bytes as they arrive in pieces of any size, are exactly `text`: compared as they
 * come, a step of the text at a time, and nothing past the text's length is asked for.
 */
async function holds(chunks: AsyncIterable<Buffer>, text: ServedText): Promise<boolean> {
	const expected = utf8Slices(texts(text), step);
	// The step of the text compared so far, and how far.
	let wanted: Uint8Array = new Uint8Array(0);
	let at = 0;
	for await (const chunk of chunks) {
		for (let offset = 0; offset < chunk.length;) {
			if (at === wanted.length) {
				const next = expected.next();
				if (next.done) {
					return false;
				}

				wanted = next.value;
				at = 0;
				continue;
			}

			const length = Math.min(chunk.length - offset, wanted.length - at);
			if (!chunk.subarray(offset, offset + length).equals(wanted.subarray(at, at + length))) {
				return false;
			}

			offset += length;
			at += length;
		}
	}

	if (at < wanted.length) {
		return false;
	}

	for (let next = expected.next(); !next.done; next = expected.next()) {
		if (next.value.length > 0) {
			return false;
		}
	}

	return true;
}

/** A file's bytes from its start, a block at a time into one Buffer (the one yielded, valid until the next). */
async function * contents(handle: FileHandle): AsyncGenerator<Buffer> {
	const buffer = Buffer.allocUnsafe(step * 3);
	for (let position = 0; ;) {
		const {bytesRead} = await handle.read(buffer, 0, buffer.length, position);
		if (bytesRead === 0) {
			return;
		}

		position += bytesRead;
		yield buffer.subarray(0, bytesRead);
	}
}

/**
 * Whether the file holds exactly `text`. Compared a step at a time: the products file of a large tree
 * is tens of MB, and reading it whole as a string (next to the new text) was the peak memory of a
 * no-change run. A size that differs answers without reading anything.
 */
export async function same(path: string, text: ServedText): Promise<boolean> {
	let handle: FileHandle;
	try {
		handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
	} catch {
		return false;
	}

	try {
		const stats = await handle.stat();
		if (!stats.isFile() || stats.size !== servedSize(text)) {
			return false;
		}

		return await holds(contents(handle), text);
	} catch {
		return false;
	} finally {
		await handle.close();
	}
}

/** Bytes of the page read to find the mark of this program. */
const pageHead = 4096;

/**
 * Whether index.html at the web root may be written: it is missing, or a page this program wrote
 * (its mark in the head). Anything else is the operator's own and is left alone, its .gz too.
 */
async function pageIsOurs(root: string): Promise<{ours: true} | {ours: false; why: string}> {
	for (const path of [pagePath, gzipPath(pagePath)]) {
		const stats = await lstat(join(root, path)).catch((error: unknown) => errorCode(error));
		if (stats === 'ENOENT') {
			continue;
		}

		if (typeof stats === 'string' || !stats.isFile()) {
			return {ours: false, why: typeof stats === 'string' ? `${path} cannot be read (${stats})` : `${path} is not a regular file`};
		}

		if (path === pagePath) {
			const handle = await open(join(root, path), constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
			const head = Buffer.alloc(pageHead);
			const read = handle ? await readFully(handle, head, pageHead, 0).finally(async () => handle.close()).catch(() => 0) : 0;
			if (!head.subarray(0, read).toString('utf8').includes(pageMarker)) {
				return {ours: false, why: `${path} is not a page simplestreams wrote`};
			}
		}
	}

	return {ours: true};
}

/** The largest page read back to be sent on: far above that of tens of thousands of images. */
const maxPageBytes = 64 * 1024 * 1024;

/** The page a publish wrote at the web root, to send on (publish/), or undefined when there is none of ours. */
export async function publishedPage(root: string): Promise<string | undefined> {
	if (!(await pageIsOurs(root)).ours) {
		return undefined;
	}

	const handle = await open(join(root, pagePath), constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
	if (!handle) {
		return undefined;
	}

	try {
		const size = (await handle.stat()).size;
		const buffer = Buffer.alloc(Math.min(size, maxPageBytes));
		return size > maxPageBytes ? undefined : buffer.toString('utf8', 0, await readFully(handle, buffer, buffer.length, 0));
	} finally {
		await handle.close();
	}
}

/**
 * Whether the file at `path` is a gzip of exactly `text`. Unpacking costs a fraction of packing at
 * level 9, which every regeneration paid for an unchanged products file of tens of MB
 * (bench/RESULTS.md). Unpacked a chunk at a time and compared as it comes: unpacked whole, the text
 * was a Buffer of its own beside zlib's chunks joined into it (twice its size outside the heap, at
 * the end of a cold run's write: bench/RESULTS.md), and nothing past the text's length is unpacked.
 */
async function holdsGzipOf(path: string, text: ServedText): Promise<boolean> {
	let packed: Buffer;
	try {
		packed = await readBoundedFile(path, {limit: maxStreamsBytes});
	} catch {
		return false;
	}

	const unpacking = createGunzip();
	unpacking.end(packed);
	try {
		return await holds(unpacking as AsyncIterable<Buffer>, text);
	} catch {
		return false;
	}
}

/** `packing`: the gzip of the text (or its parts, in order), started as soon as it is known to be wanted. */
type Plan = {path: string; absolute: string; text: ServedText; file: boolean; packing?: Promise<Buffer | Buffer[]>; staged: Staged[]};

/**
 * A write that failed (no space, no permission): what is published is said, since the files are
 * placed one after the other and a failure may come between them.
 */
function writeFailed(path: string, replaced: readonly string[], error: unknown): Error {
	// Not this write's failure: the published file its text was read from changed under it (a watcher's).
	if (error instanceof PublishedFileChanged) {
		return error;
	}

	const published = replaced.length === 0 ? 'the published streams are as they were'
		: `${replaced.join(' and ')} ${replaced.length === 1 ? 'is' : 'are'} new, the rest as it was: run again once it can be written`;
	return new UsageError(`cannot write ${path} (${systemReason(error)}); ${published}`);
}

/** Publish `streams` under `root`. Returns the paths (relative to the root, with the gzips) it wrote or found already right. */
export async function writeStreams(root: string, streams: StreamsText, emit: Written, {replacing, pageKept, held}: WriteOptions = {}): Promise<string[]> {
	const plans: Plan[] = [];
	const add = async (path: string, text: ServedText) => {
		const absolute = join(root, path);
		const file = !(await same(absolute, text));
		const packing = file || !(await holdsGzipOf(gzipPath(absolute), text)) ? (typeof text === 'string' ? gzipped(text) : packPieces(text, streams.packed)) : undefined;
		// Awaited when staged; a write that fails before then leaves it unawaited, and that is no error.
		packing?.catch(() => undefined);
		plans.push({path, absolute, text, file, packing, staged: []});
	};

	await add(productsPath, streams.productsPieces);
	await add(indexPath, streams.index);
	if (streams.page !== undefined) {
		const page = await pageIsOurs(root);
		if (page.ours) {
			const served = typeof streams.page === 'function' ? streams.page() : streams.page;
			await add(pagePath, served);
		} else {
			pageKept?.(page.why);
		}
	}

	for (const plan of plans.filter(plan => plan.file)) {
		await replacing?.(plan.path);
	}

	// Staged all at once: each staging ends in an fsync, and the disk syncs several files in about the
	// time of one; one after the other, the syncs were most of the write (bench/RESULTS.md).
	const staging = plans.filter(plan => plan.file || plan.packing);
	const outcomes = await Promise.allSettled(staging.map(async plan => {
		await mkdir(dirname(plan.absolute), {recursive: true});
		const parts = await Promise.allSettled([
			plan.file ? stage(plan.absolute, texts(plan.text)) : undefined,
			plan.packing?.then(async packed => stage(gzipPath(plan.absolute), packed)),
		]);
		// The file before its gzip, as they are placed.
		plan.staged = parts.flatMap(part => (part.status === 'fulfilled' && part.value ? [part.value] : []));
		for (const part of parts) {
			if (part.status === 'rejected') {
				throw part.reason;
			}
		}
	}));
	const failed = outcomes.findIndex(outcome => outcome.status === 'rejected');
	if (failed >= 0) {
		await Promise.all(plans.flatMap(plan => plan.staged).map(discard));
		throw writeFailed(staging[failed]!.path, [], (outcomes[failed] as PromiseRejectedResult).reason);
	}

	const replaced: string[] = [];
	for (const [at, plan] of plans.entries()) {
		// Opened while staged, before its name is the published one: what is held is what was written.
		const kept = plan.file && plan.path === held?.path ? openSync(plan.staged[0]!.temporary, 'r') : undefined;
		try {
			if (plan.file) {
				// Gone before the file changes: a server then sends the file itself, never the old gzip.
				await unlink(gzipPath(plan.absolute)).catch((error: unknown) => {
					if (errorCode(error) !== 'ENOENT') {
						throw error;
					}
				});
			}

			for (const staged of plan.staged) {
				await place(staged);
			}
		} catch (error) {
			if (kept !== undefined) {
				closeSync(kept);
			}

			await Promise.all(plans.slice(at).flatMap(p => p.staged).map(discard));
			throw writeFailed(plan.path, replaced, error);
		}

		if (plan.file) {
			replaced.push(plan.path);
		}

		if (kept !== undefined) {
			held!.take(new PublishedFile(plan.absolute, kept));
		}

		try {
			await settle(dirname(plan.absolute), [basename(plan.absolute), basename(gzipPath(plan.absolute))], plan.staged.length > 0);
		} catch (error) {
			// Placed all the same: only making the renames durable failed.
			await Promise.all(plans.slice(at + 1).flatMap(p => p.staged).map(discard));
			throw writeFailed(plan.path, replaced, error);
		}

		emit({type: 'written', path: plan.path, changed: plan.file});
	}

	return plans.flatMap(plan => [plan.path, gzipPath(plan.path)]);
}
