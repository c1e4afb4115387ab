// What to mirror (pure): the upstream products the filters select, the newest --keep versions of
// each, and for every version the files to fetch under this project's names in
// images/OS/RELEASE/ARCH/VARIANT/VERSION/, with the fingerprints upstream gives them. What cannot be
// mirrored (deltas, unknown ftypes, names the clients would hide) is skipped and named.
import {aliasProblem} from '../domain/aliases.js';
import {architectureProblem} from '../domain/architectures.js';
import {fileNameOf} from '../domain/ftypes.js';
import {productSegmentProblem, versionNameProblem} from '../domain/naming.js';
import {because, type ReasonCode} from '../domain/reasons.js';
import {deltaRootOf, isMetaFtype, isRootFtype, isUnifiedFtype, rootFtypes, type RootFtype} from '../streams/ftypes.js';
import type {Item} from '../streams/model.js';
import {insideBase} from '../streams/paths.js';
import type {UpstreamProduct} from './read.js';

export const filterKeys = ['os', 'release', 'arch', 'variant', 'type'] as const;

export type FilterKey = typeof filterKeys[number];

/** Values of one key are alternatives; filters of different keys must all hold. `type`: container or vm. */
export type Filters = Partial<Record<FilterKey, string[]>>;

/** One file to fetch: `name` in the version directory, serving every upstream item in `ftypes`. */
export type MirrorFile = {name: string; ftypes: string[]; path: string; sha256: string; size: number};

/** A combined fingerprint upstream gives: sha256(meta ‖ root) of two of the version's files. */
export type Pairing = {meta: string; root: string; fingerprint: string};

export type MirrorVersion = {product: string; name: string; dir: string; files: MirrorFile[]; pairings: Pairing[]};

export type MirrorProduct = {
	id: string;
	/** images/OS/RELEASE/ARCH/VARIANT */
	dir: string;
	aliases: string[];
	requirements: Record<string, string>;
	lxdRequirements?: Record<string, string>;
	versions: MirrorVersion[];
};

export type Skip = {where: string; code: ReasonCode; reason: string};

/** Why something upstream is left out: a code and its text (domain/reasons.ts). */
type Why = Omit<Skip, 'where'>;

export type MirrorPlan = {products: MirrorProduct[]; skipped: Skip[]};

const sha256Pattern = /^[\da-f]{64}$/;

const matches = (filters: Filters, key: FilterKey, value: string) =>
	filters[key] === undefined || filters[key].some(wanted => wanted.toLowerCase() === value.toLowerCase());

/** Whether an item's image is of a type the filters take (`type=container` or `type=vm`). */
function typeWanted(filters: Filters, ftype: string, item: Item): boolean {
	const vm = (isRootFtype(ftype) && rootFtypes[ftype].type === 'virtual-machine') || item.combined_type === 'virtual-machine';
	return matches(filters, 'type', vm ? 'vm' : 'container');
}

/** The files of one upstream version under local names, or why it cannot be mirrored. */
function versionFiles(id: string, name: string, items: Record<string, Item>, filters: Filters, skip: (where: string, why: Why) => void): {files: MirrorFile[]; pairings: Pairing[]} | undefined {
	const where = `${id} ${name}`;
	const files: MirrorFile[] = [];
	const add = (key: string, item: Item, local: string): MirrorFile | undefined => {
		if (!sha256Pattern.test(item.sha256 ?? '') || item.size < 0 || item.path === '') {
			skip(`${where} ${key}`, because('item-unusable'));
			return undefined;
		}

		const same = files.find(f => f.sha256 === item.sha256 && f.size === item.size);
		if (same) {
			same.ftypes.push(item.ftype);
			return same;
		}

		if (files.some(f => f.name === local)) {
			skip(`${where} ${key}`, because('item-repeated', item.ftype));
			return undefined;
		}

		const file = {name: local, ftypes: [item.ftype], path: insideBase(item.path), sha256: item.sha256!, size: item.size};
		files.push(file);
		return file;
	};

	let filteredOut = false;
	const wanted = (ftype: string, item: Item) => {
		const yes = typeWanted(filters, ftype, item);
		filteredOut ||= !yes;
		return yes;
	};

	const metas: Array<{file: MirrorFile; item: Item}> = [];
	const roots: Array<{file: MirrorFile; ftype: RootFtype}> = [];
	// Metadata first: a rootfs is only worth fetching with metadata to pair it with.
	const ordered = Object.entries(items).sort(([, a], [, b]) => Number(isMetaFtype(b.ftype)) - Number(isMetaFtype(a.ftype)));
	for (const [key, item] of ordered) {
		const {ftype} = item;
		if (deltaRootOf(ftype) !== undefined) {
			skip(`${where} ${key}`, because('delta-not-mirrored'));
		} else if (isMetaFtype(ftype)) {
			const file = add(key, item, fileNameOf(ftype)!);
			if (file) {
				metas.push({file, item});
			}
		} else if (isUnifiedFtype(ftype)) {
			// Kept whole: its sha256 is its fingerprint, which must stay.
			if (item.combined_type === 'virtual-machine') {
				skip(`${where} ${key}`, because('unified-vm'));
			} else if (wanted(ftype, item)) {
				add(key, item, fileNameOf(ftype)!);
			}
		} else if (isRootFtype(ftype) && fileNameOf(ftype) !== undefined) {
			if (wanted(ftype, item)) {
				const file = add(key, item, fileNameOf(ftype)!);
				if (file && !roots.some(r => r.file === file)) {
					roots.push({file, ftype: ftype as RootFtype});
				}
			}
		} else {
			skip(`${where} ${key}`, because('ftype-not-mirrored', ftype));
		}
	}

	const pairings: Pairing[] = [];
	for (const {file: meta, item} of metas) {
		for (const {file: root, ftype} of roots) {
			const fingerprint = rootFtypes[ftype].fields.map(field => item[field]).find(value => value !== undefined && value !== '');
			if (fingerprint !== undefined && !pairings.some(p => p.meta === meta.name && p.root === root.name)) {
				pairings.push({meta: meta.name, root: root.name, fingerprint});
			}
		}
	}

	const unified = files.some(f => f.ftypes.some(t => isUnifiedFtype(t)));
	if (!unified && (metas.length === 0 || roots.length === 0)) {
		// A version with only images of a type the filters leave out is no problem.
		if (!(filteredOut && roots.length === 0)) {
			skip(where, because(metas.length === 0 ? 'no-metadata-item' : 'no-rootfs-item'));
		}

		return undefined;
	}

	// Without a split image, metadata items serve nothing: only the unified tarball is fetched.
	return {files: roots.length > 0 ? files : files.filter(f => f.ftypes.some(t => isUnifiedFtype(t))), pairings};
}

const stringsOnly = (value?: Record<string, string>) => Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => typeof v === 'string'));

export function planMirror(upstream: readonly UpstreamProduct[], options: {filters: Filters; keep?: number}): MirrorPlan {
	const skipped: Skip[] = [];
	const skip = (where: string, why: Why) => skipped.push({where, ...why});
	const products: MirrorProduct[] = [];
	const dirs = new Map<string, string>();
	for (const {id, product} of upstream) {
		const segments = {os: product.os ?? '', release: product.release ?? '', arch: product.arch, variant: product.variant || 'default'};
		if (!filterKeys.every(key => key === 'type' || matches(options.filters, key, segments[key]))) {
			continue;
		}

		const segmentProblem = [segments.os, segments.release, segments.variant].map(s => productSegmentProblem(s)).find(Boolean);
		const archProblem = architectureProblem(segments.arch);
		if (segmentProblem || archProblem) {
			skip(id, segmentProblem ? because('bad-name', segmentProblem) : because('arch-unpublishable', archProblem!));
			continue;
		}

		const dir = `images/${segments.os}/${segments.release}/${segments.arch}/${segments.variant}`;
		const other = dirs.get(dir);
		if (other !== undefined) {
			skip(id, because('product-taken', other, dir));
			continue;
		}

		dirs.set(dir, id);
		const versions: MirrorVersion[] = [];
		const newestFirst = Object.keys(product.versions).sort().reverse();
		for (const name of newestFirst) {
			if (options.keep !== undefined && versions.length >= options.keep) {
				break;
			}

			const bad = versionNameProblem(name);
			if (bad) {
				skip(`${id} ${name}`, because('bad-name', bad));
				continue;
			}

			const found = versionFiles(id, name, product.versions[name]!.items, options.filters, skip);
			if (found) {
				versions.push({product: id, name, dir: `${dir}/${name}`, ...found});
			}
		}

		if (versions.length > 0) {
			const aliases = (product.aliases ?? '').split(',').filter(alias => alias !== '' && aliasProblem(alias) === undefined);
			products.push({
				id, dir, aliases, requirements: stringsOnly(product.requirements), versions,
				...(product.lxd_requirements === undefined ? {} : {lxdRequirements: stringsOnly(product.lxd_requirements)}),
			});
		}
	}

	return {products, skipped};
}
