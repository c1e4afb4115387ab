// Reads the published streams as a client fetches them: streams/v1/index.json, then every products
// file its image-downloads entries name (format notes §1, §2). Nothing under images/ is opened. Each
// file is checked for what it is before it is read, and read only up to a bound (util/small-file.ts).
import {join} from 'node:path';
import {errorCode} from '../util/errors.js';
import {readBoundedFile, SmallFileProblem} from '../util/small-file.js';
import {decode, productsTypeErrors, type StreamsProblem} from './decode.js';
import {followedEntries, type ProductsFile} from './model.js';
import {indexPath, insideBase} from './paths.js';

/** One streams file: its text and parsed value, or why it has neither. */
export type StreamsFile = {path: string; text?: string; value?: unknown; problem?: string};

/** A products file, with its JSON type errors and, when it has none, what the clients decode. */
export type ReadProducts = StreamsFile & {typeErrors: StreamsProblem[]; decoded?: ProductsFile};

export type Streams = {index: StreamsFile; entries: ReturnType<typeof followedEntries>; products: ReadProducts[]};

/**
 * The largest streams file read: far above the products file of tens of thousands of versions,
 * and below the longest string Node can hold.
 */
export const maxStreamsBytes = 256 * 1024 * 1024;

async function load(root: string, path: string): Promise<StreamsFile> {
	let text: string;
	try {
		text = (await readBoundedFile(join(root, insideBase(path)), {limit: maxStreamsBytes})).toString('utf8');
	} catch (error) {
		return {path, problem: error instanceof SmallFileProblem ? error.why : `cannot be read (${errorCode(error)})`};
	}

	if (text.trim() === '') {
		return {path, text, problem: 'is empty: the clients fail with "No content"'};
	}

	try {
		return {path, text, value: JSON.parse(text) as unknown};
	} catch (error) {
		return {path, text, problem: `is not JSON (${(error as Error).message}): every client command fails`};
	}
}

/** One products file, read and decoded as readStreams does (the watcher reads back its own this way). */
export async function readProducts(root: string, path: string): Promise<ReadProducts> {
	const file = await load(root, path);
	if (file.problem) {
		return {...file, typeErrors: []};
	}

	const typeErrors = productsTypeErrors(file);
	return typeErrors.length === 0 ? {...file, typeErrors, decoded: decode(file.value)} : {...file, typeErrors};
}

export async function readStreams(root: string): Promise<Streams> {
	const index = await load(root, indexPath);
	const entries = followedEntries(index.value);
	const paths = [...new Set(entries.map(entry => entry.path))];
	return {index, entries, products: await Promise.all(paths.map(async path => readProducts(root, path)))};
}
