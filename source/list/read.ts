// Reads the published streams as a client fetches them: streams/v1/index.json, then every products
// file its image-downloads entries name (§1, §2). Nothing under images/ is opened.
import {readFile} from 'node:fs/promises';
import {join, posix} from 'node:path';
import {indexPath} from '../pipeline/streams.js';
import {errorCode} from '../util/errors.js';

/** One streams file: its text and parsed value, or why it has neither. */
export type StreamsFile = {path: string; text?: string; value?: unknown; problem?: string};

export type Streams = {index: StreamsFile; products: StreamsFile[]};

/** A path the clients resolve inside BASE (a leading / and `..` are normalised away, §1.5). */
export const insideBase = (path: string) => posix.normalize(`/${path}`).slice(1);

async function load(root: string, path: string): Promise<StreamsFile> {
	let text: string;
	try {
		text = await readFile(join(root, insideBase(path)), 'utf8');
	} catch (error) {
		return {path, problem: `cannot be read (${errorCode(error)})`};
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

/** The index entries a client follows: datatype image-downloads, a path and a non-empty products list. */
export function followedEntries(index: unknown): Array<{key: string; path: string; products: unknown[]}> {
	const entries = (index as {index?: unknown})?.index;
	if (typeof entries !== 'object' || entries === null) {
		return [];
	}

	return Object.entries(entries as Record<string, {datatype?: unknown; path?: unknown; products?: unknown}>)
		.filter(([, entry]) => entry?.datatype === 'image-downloads' && typeof entry.path === 'string' && Array.isArray(entry.products) && entry.products.length > 0)
		.map(([key, entry]) => ({key, path: entry.path as string, products: entry.products as unknown[]}));
}

export async function readStreams(root: string): Promise<Streams> {
	const index = await load(root, indexPath);
	const paths = [...new Set(followedEntries(index.value).map(entry => entry.path))];
	return {index, products: await Promise.all(paths.map(async path => load(root, path)))};
}
