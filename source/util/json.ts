/** Compact JSON with object keys sorted at every level, so the same data always gives the same bytes. */
export function stableJson(value: unknown): string {
	return sortedJson(value) + '\n';
}

/** The JSON of `value` as stableJson writes it inside a document: without the line end. */
export function sortedJson(value: unknown): string {
	return JSON.stringify(value, sortedKeys);
}

/**
 * Hands JSON.stringify each object as a copy with its keys in sorted order, as it reaches it: the
 * copies die as soon as they are written, where a sorted deep copy made first stayed whole until
 * the end (slower on a large products file, and all of it in memory at once).
 */
function sortedKeys(_key: string, value: unknown): unknown {
	if (value === null || typeof value !== 'object' || Array.isArray(value)) {
		return value;
	}

	const sorted: Record<string, unknown> = {};
	for (const key of Object.keys(value).sort()) {
		sorted[key] = (value as Record<string, unknown>)[key];
	}

	return sorted;
}
