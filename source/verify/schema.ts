// Pure: the streams against the Go types the clients decode them into (format notes §2-§6). One
// value of the wrong JSON type anywhere and json.Unmarshal fails: every command against the remote
// fails, so each one is reported. JSON null decodes to the zero value in Go and is no type error.
import {clientArchitecture} from '../domain/architectures.js';
import {allClients, clientLabel, keptVersion, type StreamProduct, type StreamProducts, type StreamVersion} from '../list/derive.js';
import type {StreamsFile} from '../list/read.js';

/** A problem, naming where it is: the streams file or the image file, and the product, version and item. */
export type Problem = {file: string; product?: string; version?: string; item?: string; message: string};

type Where = Omit<Problem, 'message'>;

type Expected = 'string' | 'boolean' | 'integer' | 'object' | 'strings' | 'string map';

const kind = (value: unknown) => (Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function fits(value: unknown, expected: Expected): boolean {
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

const describe: Record<Expected, string> = {
	string: 'a string', boolean: 'a boolean', integer: 'a whole number', object: 'an object', strings: 'an array of strings', 'string map': 'an object of string values',
};

export const hex64 = /^[0-9a-f]{64}$/;

const productFields: Record<string, Expected> = {
	aliases: 'string', arch: 'string', os: 'string', release: 'string', release_title: 'string', release_codename: 'string', version: 'string',
	variant: 'string', support_eol: 'string', supported: 'boolean', requirements: 'string map', lxd_requirements: 'string map', versions: 'object',
};
const versionFields: Record<string, Expected> = {items: 'object', label: 'string', pubname: 'string'};
export const fingerprintFields = ['combined_sha256', 'combined_rootxz_sha256', 'combined_squashfs_sha256', 'combined_disk-kvm-img_sha256', 'combined_disk1-img_sha256', 'combined_uefi1-img_sha256'];
const itemFields: Record<string, Expected> = {
	ftype: 'string', path: 'string', sha256: 'string', size: 'integer', md5: 'string', delta_base: 'string', combined_type: 'string',
	...Object.fromEntries(fingerprintFields.map(field => [field, 'string' as const])),
};

/** Characters both clients put into a URL alike (§1.5). */
const safePath = /^[A-Za-z0-9._:/+-]+$/;

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

/** Problems found, and how many are type errors (the clients then cannot decode the file at all). */
type Found = {problems: Problem[]; typeErrors: number};

function checkFields(value: Record<string, unknown>, fields: Record<string, Expected>, where: Where, found: Found, consequence = 'LXD and Incus reject the whole products file'): void {
	const {problems} = found;
	for (const [field, expected] of Object.entries(fields)) {
		const v = value[field];
		if (v !== undefined && v !== null && !fits(v, expected)) {
			found.typeErrors++;
			// lxd_requirements is only decoded by LXD: Incus ignores the field.
			const who = field === 'lxd_requirements' ? 'LXD rejects the whole products file' : consequence;
			problems.push({...where, message: `${field} is ${kind(v)}${expected === 'string map' && isObject(v) ? ' with a value that is not a string' : ''}, not ${describe[expected]}: ${who}`});
		}
	}
}

function checkItem(item: unknown, where: Where, found: Found): void {
	const {problems} = found;
	if (!isObject(item)) {
		found.typeErrors++;
		problems.push({...where, message: `the item is ${kind(item)}, not an object: LXD and Incus reject the whole products file`});
		return;
	}

	checkFields(item, itemFields, where, found);
	const at = {...where, ...(typeof item.path === 'string' && item.path !== '' ? {file: item.path} : {})};
	if (typeof item.ftype !== 'string' || item.ftype === '') {
		problems.push({...at, message: 'the item has no ftype: the clients ignore it'});
	}

	if (typeof item.path !== 'string' || item.path === '') {
		problems.push({...at, message: 'the item has no path: the clients cannot download it'});
	} else if (!safePath.test(item.path) || /^\/|(^|\/)\.\.?(\/|$)/.test(item.path)) {
		problems.push({...at, message: `path "${item.path}" is not a plain relative path of A-Z a-z 0-9 . _ : / + -: LXD and Incus resolve it differently`});
	}

	if (typeof item.sha256 !== 'string' || !hex64.test(item.sha256)) {
		problems.push({...at, message: `sha256 ${JSON.stringify(item.sha256)} is not 64 lowercase hex characters: every download of it fails`});
	}

	if (typeof item.size !== 'number' || item.size <= 0) {
		problems.push({...at, message: `size ${JSON.stringify(item.size)} is not a positive whole number: LXD caps the download at it`});
	}

	for (const field of fingerprintFields) {
		const value = item[field];
		if (typeof value === 'string' && value !== '' && !hex64.test(value)) {
			problems.push({...at, message: `${field} "${value}" is not 64 lowercase hex characters: LXD rejects the fingerprint`});
		}
	}
}

/**
 * The products file: Go types, then what makes the clients hide a product or a version. `decodable`
 * when the clients can decode it at all (no type error anywhere).
 */
export function checkProducts(file: StreamsFile): Found & {decodable: boolean} {
	const found: Found = {problems: [], typeErrors: 0};
	const {problems} = found;
	const result = () => ({...found, decodable: found.typeErrors === 0});
	const at = {file: file.path};
	for (const {literal, line} of fractionalNumbers(file.text ?? '')) {
		found.typeErrors++;
		problems.push({...at, message: `line ${line}: the number ${literal} is not a whole number as Go reads one (a size must be an int64): LXD and Incus reject the whole products file`});
	}

	const value = file.value;
	if (!isObject(value) || !isObject(value.products)) {
		found.typeErrors++;
		problems.push({...at, message: `products is ${isObject(value) ? kind(value.products) : 'missing'}, not an object of products: the clients see nothing`});
		return result();
	}

	for (const [product, body] of Object.entries(value.products)) {
		const where = {...at, product};
		if (!isObject(body)) {
			found.typeErrors++;
			problems.push({...where, message: `the product is ${kind(body)}, not an object: LXD and Incus reject the whole products file`});
			continue;
		}

		checkFields(body, productFields, where, found);
		for (const client of allClients) {
			if (typeof body.arch !== 'string' || !clientArchitecture(body.arch, client)) {
				problems.push({...where, message: `arch ${JSON.stringify(body.arch)} is not an architecture ${clientLabel[client]} knows: it hides the product`});
			}
		}

		if (typeof body.aliases === 'string' && body.aliases.split(',').some(alias => alias === '' || alias.trim() !== alias)) {
			problems.push({...where, message: `aliases "${body.aliases}" has an empty alias or one with spaces around it: the clients register it as written`});
		}

		for (const [version, entry] of Object.entries(isObject(body.versions) ? body.versions : {})) {
			const vwhere = {...where, version};
			if (!isObject(entry)) {
				found.typeErrors++;
				problems.push({...vwhere, message: `the version is ${kind(entry)}, not an object: LXD and Incus reject the whole products file`});
				continue;
			}

			checkFields(entry, versionFields, vwhere, found);
			if (!keptVersion(version)) {
				problems.push({...vwhere, message: 'the version name does not start with a real date YYYYMMDD (or is shorter than 8 characters): the clients hide it'});
			}

			for (const [item, itemBody] of Object.entries(isObject(entry.items) ? entry.items : {})) {
				checkItem(itemBody, {...vwhere, item}, found);
			}
		}
	}

	return result();
}

/** A decodable products file as Go holds it: missing and null fields are zero values. */
export function decode(value: unknown): StreamProducts {
	const products: StreamProducts['products'] = {};
	const present = (object: Record<string, unknown>) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== null));
	for (const [id, body] of Object.entries((value as {products: Record<string, Record<string, unknown>>}).products)) {
		const versions: StreamProduct['versions'] = {};
		for (const [name, version] of Object.entries((body.versions ?? {}) as Record<string, {items?: Record<string, Record<string, unknown>>}>)) {
			const items = Object.entries(version.items ?? {}).map(([key, item]) => [key, {...present(item), ftype: item.ftype ?? '', path: item.path ?? '', size: item.size ?? 0}]);
			versions[name] = {...present(version), items: Object.fromEntries(items) as StreamVersion['items']};
		}

		products[id] = {...present(body), arch: (body.arch ?? '') as string, versions};
	}

	return {products};
}

/** index.json: its Go types, and entries the clients would skip or read twice. */
export function checkIndex(file: StreamsFile): Problem[] {
	const found: Found = {problems: [], typeErrors: 0};
	const {problems} = found;
	const at = {file: file.path};
	const value = file.value;
	if (!isObject(value) || !isObject(value.index)) {
		problems.push({...at, message: `index is ${isObject(value) ? kind(value.index) : 'missing'}, not an object: the clients see nothing`});
		return problems;
	}

	checkFields(value, {format: 'string', updated: 'string'}, at, found, 'the clients reject the index');
	const paths = new Map<string, string>();
	for (const [key, entry] of Object.entries(value.index)) {
		const where = {...at, product: `index entry ${key}`};
		if (!isObject(entry)) {
			problems.push({...where, message: `the entry is ${kind(entry)}, not an object: the clients reject the index`});
			continue;
		}

		checkFields(entry, {datatype: 'string', path: 'string', products: 'strings', format: 'string', updated: 'string'}, where, found, 'the clients reject the index');
		if (entry.datatype !== 'image-downloads') {
			problems.push({...where, message: `datatype ${JSON.stringify(entry.datatype)} is not "image-downloads": the clients skip the entry`});
		} else if (!Array.isArray(entry.products) || entry.products.length === 0) {
			problems.push({...where, message: 'products is empty or missing: the clients skip the entry'});
		} else if (typeof entry.path === 'string') {
			const other = paths.get(entry.path);
			if (other !== undefined) {
				problems.push({...where, message: `path ${entry.path} is listed by index entry ${other} too: every image in it would be seen twice ("More than one match")`});
			}

			paths.set(entry.path, key);
		}
	}

	if (paths.size === 0) {
		problems.push({...at, message: 'no entry the clients follow (datatype image-downloads, a path and products): they see no images'});
	}

	return problems;
}
