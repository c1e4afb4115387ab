// Product requirements from `.lxd_requirements` / `.requirements` files at any level under images/:
// the nearest file wins per key. Values must be JSON strings: a bool or number makes LXD reject the
// whole products file.

export const requirementFiles = ['.lxd_requirements', '.requirements'] as const;

/** A handful of keys in practice: anything larger is not a requirements file. */
export const maxRequirementsBytes = 64 * 1024;

export type Requirements = Record<string, string>;

/** Parse one requirements file's text; throws an Error saying what is wrong. */
export function parseRequirements(text: string): Requirements {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (error) {
		throw new Error(`is not valid JSON (${(error as Error).message})`);
	}

	if (value === null || typeof value !== 'object' || Array.isArray(value)) {
		throw new Error('must be a JSON object of string values, like {"secureboot": "false"}');
	}

	const requirements: Requirements = {};
	for (const [key, entry] of Object.entries(value)) {
		if (typeof entry !== 'string') {
			throw new TypeError(`has ${JSON.stringify(key)}: ${JSON.stringify(entry)}; values must be strings (write "${String(entry)}")`);
		}

		if (key === '') {
			throw new Error('has an empty key');
		}

		if (key === '__proto__') {
			throw new Error('has the key "__proto__", which no client reads');
		}

		requirements[key] = entry;
	}

	return requirements;
}

/** Merge from the outermost level inwards: nearer levels override per key. */
export function mergeRequirements(levels: readonly Requirements[]): Requirements {
	const merged: Requirements = {};
	for (const level of levels) {
		Object.assign(merged, level);
	}

	return merged;
}
