/** JSON with object keys sorted at every level, so the same data always gives the same bytes. */
export function stableJson(value: unknown, indent = 1): string {
	return JSON.stringify(sortKeys(value), undefined, indent) + '\n';
}

function sortKeys(value: unknown): unknown {
	if (Array.isArray(value)) {
		return value.map(entry => sortKeys(entry));
	}

	if (value !== null && typeof value === 'object') {
		const sorted: Record<string, unknown> = {};
		for (const key of Object.keys(value).sort()) {
			sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
		}

		return sorted;
	}

	return value;
}
