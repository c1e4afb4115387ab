// Pure: the streams against the Go types the clients decode them into (streams/decode.ts), then what
// makes the clients hide a product, a version or an item. Each problem is reported.
import {clientArchitecture} from '../domain/architectures.js';
import {keptVersion} from '../list/derive.js';
import {fieldTypeErrors, isObject, kind, type StreamsProblem} from '../streams/decode.js';
import {allClients, clientLabel, fingerprintFields} from '../streams/ftypes.js';
import {imageDownloads, indexEntryFields, indexFields} from '../streams/model.js';
import type {ReadProducts, StreamsFile} from '../streams/read.js';

/** A problem, naming where it is: the streams file or the image file, and the product, version and item. */
export type Problem = StreamsProblem;

const hex64 = /^[0-9a-f]{64}$/;

/** Characters both clients put into a URL alike (§1.5). */
const safePath = /^[A-Za-z0-9._:/+-]+$/;

function checkItem(item: Record<string, unknown>, where: Omit<Problem, 'message'>): Problem[] {
	const problems: Problem[] = [];
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

	return problems;
}

/**
 * The products file: its JSON type errors (readStreams found them), then what makes the clients
 * hide a product, a version or an item.
 */
export function checkProducts(file: ReadProducts): Problem[] {
	const problems: Problem[] = [...file.typeErrors];
	const {value} = file;
	const products = isObject(value) && isObject(value.products) ? value.products : {};
	for (const [product, body] of Object.entries(products)) {
		if (!isObject(body)) {
			continue;
		}

		const where = {file: file.path, product};
		for (const client of allClients) {
			if (typeof body.arch !== 'string' || !clientArchitecture(body.arch, client)) {
				problems.push({...where, message: `arch ${JSON.stringify(body.arch)} is not an architecture ${clientLabel[client]} knows: it hides the product`});
			}
		}

		if (typeof body.aliases === 'string' && body.aliases.split(',').some(alias => alias === '' || alias.trim() !== alias)) {
			problems.push({...where, message: `aliases "${body.aliases}" has an empty alias or one with spaces around it: the clients register it as written`});
		}

		for (const [version, entry] of Object.entries(isObject(body.versions) ? body.versions : {})) {
			if (!isObject(entry)) {
				continue;
			}

			const vwhere = {...where, version};
			if (!keptVersion(version)) {
				problems.push({...vwhere, message: 'the version name does not start with a real date YYYYMMDD (or is shorter than 8 characters): the clients hide it'});
			}

			for (const [item, itemBody] of Object.entries(isObject(entry.items) ? entry.items : {})) {
				problems.push(...(isObject(itemBody) ? checkItem(itemBody, {...vwhere, item}) : []));
			}
		}
	}

	return problems;
}

/** index.json: its Go types, and entries the clients would skip or read twice. */
export function checkIndex(file: StreamsFile): Problem[] {
	const problems: Problem[] = [];
	const at = {file: file.path};
	const value = file.value;
	if (!isObject(value) || !isObject(value.index)) {
		problems.push({...at, message: `index is ${isObject(value) ? kind(value.index) : 'missing'}, not an object: the clients see nothing`});
		return problems;
	}

	const rejected = 'the clients reject the index';
	problems.push(...fieldTypeErrors(value, indexFields, at, rejected));
	const paths = new Map<string, string>();
	for (const [key, entry] of Object.entries(value.index)) {
		const where = {...at, product: `index entry ${key}`};
		if (!isObject(entry)) {
			problems.push({...where, message: `the entry is ${kind(entry)}, not an object: ${rejected}`});
			continue;
		}

		problems.push(...fieldTypeErrors(entry, indexEntryFields, where, rejected));
		if (entry.datatype !== imageDownloads) {
			problems.push({...where, message: `datatype ${JSON.stringify(entry.datatype)} is not "${imageDownloads}": the clients skip the entry`});
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
