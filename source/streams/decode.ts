// A streams file against the Go types the clients decode it into (format notes §2-§6). One value of
// the wrong JSON type anywhere and json.Unmarshal fails: every command against the remote fails.
// JSON null decodes to the zero value in Go and is no type error.
import {itemFields, productFields, versionFields, type FieldKind, type Item, type Product, type ProductsFile, type Version} from './model.js';

/** A finding in a streams file, naming where it is: the file, and the product, version and item. */
export type StreamsProblem = {file: string; product?: string; version?: string; item?: string; message: string};

type Where = Omit<StreamsProblem, 'message'>;

export const kind = (value: unknown) => (Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`);

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function fits(value: unknown, expected: FieldKind): boolean {
	switch (expected) {
		case 'string': {
			return typeof value === 'string';
		}

		case 'boolean': {
			return typeof value === 'boolean';
		}

		case 'integer': {
			return typeof value === 'number' && Number.isSafeInteger(value);
		}

		case 'object': {
			return isObject(value);
		}

		case 'strings': {
			return Array.isArray(value) && value.every(v => typeof v === 'string' || v === null);
		}

		case 'string map': {
			return isObject(value) && Object.values(value).every(v => typeof v === 'string' || v === null);
		}
	}
}

const describe: Record<FieldKind, string> = {
	string: 'a string', boolean: 'a boolean', integer: 'a whole number', object: 'an object', strings: 'an array of strings', 'string map': 'an object of string values',
};

/**
 * Number literals Go cannot decode into an int64 (`1.5e9`, `1.0`): JSON.parse takes them as whole
 * numbers, so they are found in the text. Every number in a products file is a `size`.
 */
function fractionalNumbers(text: string): Array<{literal: string; line: number}> {
	const found: Array<{literal: string; line: number}> = [];
	let line = 1;
	for (let at = 0; at < text.length; at++) {
		const char = text[at]!;
		if (char === '\n') {
			line++;
		} else if (char === '"') {
			for (at++; at < text.length && text[at] !== '"'; at++) {
				at += text[at] === '\\' ? 1 : 0;
			}
		} else if (char === '-' || (char >= '0' && char <= '9')) {
			const literal = /^-?[\d.eE+-]+/.exec(text.slice(at, at + 64))![0];
			if (!/^-?\d+$/.test(literal)) {
				found.push({literal, line});
			}

			at += literal.length - 1;
		}
	}

	return found;
}

const rejected = 'LXD and Incus reject the whole products file';

/** Fields of `value` whose JSON type its Go type does not take. */
export function fieldTypeErrors(value: Record<string, unknown>, fields: Record<string, FieldKind>, where: Where, consequence = rejected): StreamsProblem[] {
	const problems: StreamsProblem[] = [];
	for (const [field, expected] of Object.entries(fields)) {
		const v = value[field];
		if (v !== undefined && v !== null && !fits(v, expected)) {
			// lxd_requirements is only decoded by LXD: Incus ignores the field.
			const who = field === 'lxd_requirements' ? 'LXD rejects the whole products file' : consequence;
			problems.push({...where, message: `${field} is ${kind(v)}${expected === 'string map' && isObject(v) ? ' with a value that is not a string' : ''}, not ${describe[expected]}: ${who}`});
		}
	}

	return problems;
}

/** Every JSON type error of a products file (`text` is what it was parsed from): one is enough for the clients to see nothing of it. */
export function productsTypeErrors(file: {path: string; text?: string; value?: unknown}): StreamsProblem[] {
	const at = {file: file.path};
	const problems: StreamsProblem[] = fractionalNumbers(file.text ?? '').map(({literal, line}) => ({
		...at, message: `line ${line}: the number ${literal} is not a whole number as Go reads one (a size must be an int64): ${rejected}`,
	}));
	const {value} = file;
	if (!isObject(value) || !isObject(value.products)) {
		problems.push({...at, message: `products is ${isObject(value) ? kind(value.products) : 'missing'}, not an object of products: the clients see nothing`});
		return problems;
	}

	for (const [product, body] of Object.entries(value.products)) {
		const where = {...at, product};
		if (!isObject(body)) {
			problems.push({...where, message: `the product is ${kind(body)}, not an object: ${rejected}`});
			continue;
		}

		problems.push(...fieldTypeErrors(body, productFields, where));
		for (const [version, entry] of Object.entries(isObject(body.versions) ? body.versions : {})) {
			const vwhere = {...where, version};
			if (!isObject(entry)) {
				problems.push({...vwhere, message: `the version is ${kind(entry)}, not an object: ${rejected}`});
				continue;
			}

			problems.push(...fieldTypeErrors(entry, versionFields, vwhere));
			for (const [item, itemBody] of Object.entries(isObject(entry.items) ? entry.items : {})) {
				problems.push(...(isObject(itemBody) ? fieldTypeErrors(itemBody, itemFields, {...vwhere, item})
					: [{...vwhere, item, message: `the item is ${kind(itemBody)}, not an object: ${rejected}`}]));
			}
		}
	}

	return problems;
}

/** A products file without type errors as Go holds it: missing and null fields are zero values. */
export function decode(value: unknown): ProductsFile {
	const products: ProductsFile['products'] = {};
	const present = (object: Record<string, unknown>) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== null));
	for (const [id, body] of Object.entries((value as {products: Record<string, Record<string, unknown>>}).products)) {
		const versions: Product['versions'] = {};
		for (const [name, version] of Object.entries((body.versions ?? {}) as Record<string, {items?: Record<string, Record<string, unknown>>}>)) {
			const items = Object.entries(version.items ?? {}).map(([key, item]) => [key, {...present(item), ftype: item.ftype ?? '', path: item.path ?? '', size: item.size ?? 0}]);
			versions[name] = {...present(version), items: Object.fromEntries(items) as Record<string, Item>} as Version;
		}

		products[id] = {...present(body), arch: (body.arch ?? '') as string, versions};
	}

	return {products};
}
