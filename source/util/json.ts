import {compareText, inOrder} from './compare.js';

/** Compact JSON with object keys sorted at every level, so the same data always gives the same bytes. */
export function stableJson(value: unknown): string {
	return sortedJson(value) + '\n';
}

/** The JSON of `value` as stableJson writes it inside a document: without the line end. */
export function sortedJson(value: unknown): string {
	return JSON.stringify(value, sortedKeys);
}

/**
 * Hands JSON.stringify each object with its keys in sorted order, as it reaches it: the object itself
 * when they already are (half of a catalog's objects: its versions, the items of its rootfs files),
 * else a sorted copy, which dies as soon as it is written, where a sorted deep copy made first
 * stayed whole until the end (slower on a large products file, and all of it in memory at once).
 */
function sortedKeys(_key: string, value: unknown): unknown {
	if (value === null || typeof value !== 'object' || Array.isArray(value)) {
		return value;
	}

	const keys = Object.keys(value);
	if (inOrder(keys, compareText)) {
		return value;
	}

	const sorted: Record<string, unknown> = {};
	for (const key of keys.sort()) {
		sorted[key] = (value as Record<string, unknown>)[key];
	}

	return sorted;
}
