// The one writer of the streams: images.json goes first, then index.json, each replaced atomically;
// a file whose bytes would not change is left alone (same bytes, same mtime).
import {mkdir, open, type FileHandle} from 'node:fs/promises';
import {readFully} from '../util/read-fully.js';
import {dirname, join} from 'node:path';
import {writeAtomic} from '../util/atomic-write.js';
import {systemReason, UsageError} from '../util/errors.js';
import {stableJson} from '../util/json.js';
import {slices} from '../util/slices.js';
import type {IndexFile, ProductsFile} from './model.js';
import {indexPath, productsPath} from './paths.js';

/** The streams as the bytes published: the same data always gives the same text. */
export type StreamsText = {products: string; index: string};

export const streamsText = (products: ProductsFile, index: IndexFile): StreamsText => ({products: stableJson(products), index: stableJson(index)});

type StreamFile = {path: string; text: string};

/** Told of each file once it is published: `changed` false when it already held these bytes. */
export type Written = (event: {type: 'written'; path: string; changed: boolean}) => void;

/** Characters of the text compared per step (at most 3 bytes each in UTF-8). */
const step = 256 * 1024;

/**
 * Whether the file holds exactly the bytes `text` encodes to. Compared a step at a time: the products
 * file of a large tree is tens of MB, and reading it whole as a string (next to the new text) was
 * the peak memory of a no-change run. A size that differs answers without reading anything.
 */
async function same(path: string, text: string): Promise<boolean> {
	let handle: FileHandle;
	try {
		handle = await open(path, 'r');
	} catch {
		return false;
	}

	try {
		if ((await handle.stat()).size !== Buffer.byteLength(text)) {
			return false;
		}

		const encoder = new TextEncoder();
		const expected = Buffer.allocUnsafe((step + 1) * 3);
		const actual = Buffer.allocUnsafe((step + 1) * 3);
		let position = 0;
		for (const slice of slices(text, step)) {
			const {written} = encoder.encodeInto(slice, expected);
			if (await readFully(handle, actual, written, position) !== written || !actual.subarray(0, written).equals(expected.subarray(0, written))) {
				return false;
			}

			position += written;
		}

		return true;
	} catch {
		return false;
	} finally {
		await handle.close();
	}
}

/**
 * A write that failed (no space, no permission): what is published is said, since the files are
 * replaced one after the other and a failure may come between them.
 */
function writeFailed(file: StreamFile, replaced: readonly string[], error: unknown): UsageError {
	const published = replaced.length === 0 ? 'the published streams are as they were'
		: `${replaced.join(' and ')} ${replaced.length === 1 ? 'is' : 'are'} new, the rest as it was: run again once it can be written`;
	return new UsageError(`cannot write ${file.path} (${systemReason(error)}); ${published}`);
}

export async function writeStreams(root: string, text: StreamsText, emit: Written): Promise<void> {
	const replaced: string[] = [];
	for (const file of [{path: productsPath, text: text.products}, {path: indexPath, text: text.index}]) {
		const absolute = join(root, file.path);
		if (await same(absolute, file.text)) {
			emit({type: 'written', path: file.path, changed: false});
			continue;
		}

		try {
			await mkdir(dirname(absolute), {recursive: true});
			await writeAtomic(absolute, file.text);
		} catch (error) {
			// Replaced all the same when only the directory's fsync failed, after the rename.
			if (await same(absolute, file.text)) {
				replaced.push(file.path);
			}

			throw writeFailed(file, replaced, error);
		}

		replaced.push(file.path);
		emit({type: 'written', path: file.path, changed: true});
	}
}
