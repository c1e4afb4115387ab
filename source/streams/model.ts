// The two streams files as the clients' Go types hold them (format notes §2-§6), in the manner of
// Incus's shared/simplestreams: the JSON type of each field once, the TypeScript types from it.
// verify checks files against these tables; catalog builds these types; readStreams decodes into them.
import {fingerprintFields} from './ftypes.js';
import {productsPath} from './paths.js';

/** The JSON a Go field of each kind decodes from. */
export type FieldKind = 'string' | 'boolean' | 'integer' | 'object' | 'strings' | 'string map';

type Decoded = {string: string; boolean: boolean; integer: number; object: Record<string, unknown>; strings: string[]; 'string map': Record<string, string>};

/** The fields of a table, each optional as in JSON (a missing field is the Go zero value). */
type Fields<T extends Record<string, FieldKind>> = {-readonly [K in keyof T]?: Decoded[T[K]]};

export const itemFields: Readonly<Record<string, FieldKind>> = {
	ftype: 'string', path: 'string', sha256: 'string', size: 'integer', md5: 'string', delta_base: 'string', combined_type: 'string',
	...Object.fromEntries(fingerprintFields.map(field => [field, 'string'])),
};

export const versionFields = {items: 'object', label: 'string', pubname: 'string'} as const satisfies Record<string, FieldKind>;

export const productFields = {
	aliases: 'string', arch: 'string', os: 'string', release: 'string', release_title: 'string', release_codename: 'string', version: 'string',
	variant: 'string', support_eol: 'string', supported: 'boolean', requirements: 'string map', lxd_requirements: 'string map', versions: 'object',
} as const satisfies Record<string, FieldKind>;

export const indexFields = {format: 'string', updated: 'string'} as const satisfies Record<string, FieldKind>;

export const indexEntryFields = {datatype: 'string', path: 'string', products: 'strings', format: 'string', updated: 'string'} as const satisfies Record<string, FieldKind>;

/** An item; on a delta item `delta_base` is the version (of the same product) whose rootfs it patches. */
export type Item = {
	ftype: string;
	path: string;
	sha256?: string;
	size: number;
	md5?: string;
	delta_base?: string;
	/** A fingerprint field (ftypes.ts), or `combined_type` on a unified tarball. */
	[combined: `combined_${string}`]: string | undefined;
};

export type Version = Omit<Fields<typeof versionFields>, 'items'> & {items: Record<string, Item>};

export type Product = Omit<Fields<typeof productFields>, 'versions'> & {arch: string; versions: Record<string, Version>};

export type ProductsFile = {content_id?: string; datatype?: string; format?: string; updated?: string; products: Record<string, Product>};

export type IndexEntry = Fields<typeof indexEntryFields>;

export type IndexFile = Fields<typeof indexFields> & {index: Record<string, IndexEntry>};

/** The index this program publishes: one entry, for its one products file. */
export type PublishedIndex = {format: string; index: {images: Required<Pick<IndexEntry, 'datatype' | 'path' | 'format' | 'products'>>}};

/** The only datatype the clients follow in the index. */
export const imageDownloads = 'image-downloads';

export function productsFile(products: Record<string, Product>): ProductsFile {
	return {content_id: 'images', datatype: imageDownloads, format: 'products:1.0', products};
}

/** The index of one products file, at productsPath, listing `ids`. */
export function indexFile(ids: string[]): PublishedIndex {
	return {format: 'index:1.0', index: {images: {datatype: imageDownloads, path: productsPath, format: 'products:1.0', products: ids}}};
}

/** The index entries a client follows: datatype image-downloads, a path and a non-empty products list. */
export function followedEntries(index: unknown): Array<{key: string; path: string; products: unknown[]}> {
	const entries = (index as {index?: unknown})?.index;
	if (typeof entries !== 'object' || entries === null) {
		return [];
	}

	return Object.entries(entries as Record<string, {datatype?: unknown; path?: unknown; products?: unknown}>)
		.filter(([, entry]) => entry?.datatype === imageDownloads && typeof entry.path === 'string' && Array.isArray(entry.products) && entry.products.length > 0)
		.map(([key, entry]) => ({key, path: entry.path as string, products: entry.products as unknown[]}));
}
