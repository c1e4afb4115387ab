// Stage 4 (pure): the products file and index both clients read, from planned versions and digests.
import {defaultAliases} from '../domain/aliases.js';
import {canonicalArchitecture} from '../domain/architectures.js';
import {because, warning} from '../domain/reasons.js';
import {clients, deltaFtype, deltaItemKey, deltaRootOf, fingerprintFields, isDeltaRoot, isMetaFtype, isRootFtype, isUnifiedFtype, itemKey, rootFtypes, type RootFtype} from '../streams/ftypes.js';
import {indexFile, productsFile, type Item, type Product, type ProductsFile, type PublishedIndex} from '../streams/model.js';
import type {Delta} from './delta.js';
import type {Emit} from './events.js';
import {pathPair, type Digests, type ImageFile} from '../domain/tree.js';
import type {PlannedProduct, PlannedVersion} from './plan.js';

export type Catalog = {
	products: ProductsFile;
	index: PublishedIndex;
	images: {lxd: number; incus: number};
	versions: number;
};

/** The metadata (or unified) file a client reads: its own ftype when present, else the other one (same format). */
function fileFor(ftype: string, files: readonly ImageFile[]): ImageFile | undefined {
	return files.find(m => m.role.ftype === ftype) ?? files[0];
}

const rootFtype = (file: ImageFile) => file.role.ftype as RootFtype;

/** The images a version's items give a client: one per combined fingerprint on its meta item, and its unified tarball. */
function imagesIn(items: Record<string, Item>, client: typeof clients[number]): string[] {
	const meta = Object.values(items).find(item => item.ftype === client.meta);
	const unified = Object.values(items).find(item => item.ftype === client.unified)?.sha256;
	return [...new Set([...meta ? fingerprintFields.map(field => meta[field]) : [], unified].filter(value => value !== undefined))];
}

/**
 * Delta items, each in the version it leads to, only where a client can use one: its base is a
 * published version of the product with that rootfs, whose meta items carry the fingerprint
 * clients look the base image up by (§12). Items carried over from held versions are checked the
 * same way, since their base may have gone.
 */
function withDeltas(versions: Product['versions'], deltas: readonly Delta[]): Product['versions'] {
	const all = Object.values(versions).flatMap(v => Object.values(v.items));
	if (deltas.length === 0 && !all.some(item => item.delta_base !== undefined)) {
		return versions;
	}

	const usable = (base: string, root: string) => {
		const items = Object.values(versions[base]?.items ?? {});
		const field = isDeltaRoot(root) ? rootFtypes[root].fields[0] : undefined;
		const metas = items.filter(item => isMetaFtype(item.ftype));
		return field !== undefined && items.some(item => item.ftype === root) && metas.length > 0 && metas.every(item => item[field]);
	};

	return Object.fromEntries(Object.entries(versions).map(([name, version]) => {
		const items = Object.fromEntries(Object.entries(version.items).filter(([, item]) => item.delta_base === undefined || usable(item.delta_base, deltaRootOf(item.ftype)!)));
		for (const delta of deltas) {
			if (delta.version === name && items[itemKey[delta.root]] && usable(delta.base, delta.root)) {
				items[deltaItemKey(delta.root, delta.base)] = {ftype: deltaFtype(delta.root), path: delta.path, sha256: delta.sha256, size: delta.size, delta_base: delta.base};
			}
		}

		return [name, {...version, items}];
	}));
}

/**
 * `previous`: the products file published before, from which held versions are carried over unchanged.
 * `deltas`: checked deltas (delta.ts), published where a client can use them.
 */
export function catalog(planned: readonly PlannedProduct[], digests: Digests, emit: Emit, previous?: ProductsFile, deltas: readonly Delta[] = []): Catalog {
	const products: Record<string, Product> = {};
	const images = {lxd: 0, incus: 0};
	let versions = 0;
	// A fingerprint a client sees twice breaks both images for it: the first one published keeps it.
	const owners = {lxd: new Map<string, string>(), incus: new Map<string, string>()};

	const itemOf = (file: ImageFile, ftype: string): Item | undefined => {
		const sha256 = digests.files.get(file.path);
		return sha256 ? {ftype, path: file.path, sha256, size: file.identity.size} : undefined;
	};

	/** A fingerprint this client has not seen yet is taken for `path`; a second one is skipped and named. */
	const claim = (client: typeof clients[number], fingerprint: string, path: string): boolean => {
		const owner = owners[client.name].get(fingerprint);
		if (owner) {
			emit({type: 'skipped', scope: 'file', path, ...because('duplicate-fingerprint', client.label, fingerprint, owner)});
			return false;
		}

		owners[client.name].set(fingerprint, path);
		return true;
	};

	const versionItems = ({version, metas, roots, unified = []}: PlannedVersion): Record<string, Item> | undefined => {
		const items: Record<string, Item> = {};
		const pairedRoots = new Set<ImageFile>();
		let wholes = 0;
		for (const client of clients) {
			// A unified tarball is its own fingerprint; one file serves both clients, as a metadata tarball does.
			const whole = fileFor(client.unified, unified);
			const wholeItem = whole && itemOf(whole, client.unified);
			if (whole && wholeItem && claim(client, wholeItem.sha256!, whole.path)) {
				items[client.unified] = wholeItem;
				images[client.name]++;
				wholes++;
			}

			const meta = fileFor(client.meta, metas);
			const item = meta && itemOf(meta, client.meta);
			if (!meta || !item) {
				continue;
			}

			let pairings = 0;
			for (const root of roots) {
				const fingerprint = digests.combined.get(pathPair(meta.path, root.path));
				if (!fingerprint || !digests.files.has(root.path) || !claim(client, fingerprint, root.path)) {
					continue;
				}

				for (const field of rootFtypes[rootFtype(root)].fields) {
					item[field] = fingerprint;
				}

				pairedRoots.add(root);
				pairings++;
			}

			if (pairings > 0) {
				items[itemKey[client.meta]] = item;
				images[client.name] += pairings;
			}
		}

		for (const root of roots) {
			if (pairedRoots.has(root)) {
				items[itemKey[rootFtype(root)]] = itemOf(root, rootFtype(root))!;
			}
		}

		if (pairedRoots.size === 0 && wholes === 0) {
			emit({type: 'skipped', scope: 'version', path: version.path, ...because('no-image-published')});
			return undefined;
		}

		return items;
	};

	// Clients give an alias claimed twice for one architecture to whichever image sorts first, silently.
	// Keyed by alias, architecture and image type: containers and VMs have separate alias namespaces.
	const aliasOwners = new Map<string, string>();
	const claimAliases = ({ref, aliases}: PlannedProduct['product'], versions: Product['versions']): string[] => {
		const arch = canonicalArchitecture(ref.arch) ?? ref.arch;
		const types = new Set(Object.values(versions).flatMap(v => Object.values(v.items))
			.flatMap(item => (isRootFtype(item.ftype) ? [rootFtypes[item.ftype].type] : isUnifiedFtype(item.ftype) ? ['container'] : [])));
		const defaults = defaultAliases(ref.os, ref.release, ref.variant);
		return [...new Set([...defaults, ...aliases])].filter(alias => {
			const owner = [...types].map(type => aliasOwners.get(`${alias}\0${arch}\0${type}`)).find(o => o !== undefined);
			if (owner) {
				const path = defaults.includes(alias) ? ref.path : `${ref.path}/.aliases`;
				emit({type: 'warning', path, ...warning('alias-taken', alias, owner, arch)});
				return false;
			}

			for (const type of types) {
				aliasOwners.set(`${alias}\0${arch}\0${type}`, ref.id);
			}

			return true;
		});
	};

	const deltasOf = new Map<string, Delta[]>();
	for (const delta of deltas) {
		const list = deltasOf.get(delta.product) ?? [];
		list.push(delta);
		deltasOf.set(delta.product, list);
	}

	for (const {product, versions: productVersions, held} of planned) {
		const {ref} = product;
		const published: Product['versions'] = {};
		for (const version of productVersions) {
			const items = versionItems(version);
			if (items) {
				published[version.version.name] = {items};
				versions++;
			}
		}

		for (const version of held ?? []) {
			const before = previous?.products[ref.id]?.versions[version.name];
			if (before) {
				published[version.name] = before;
				versions++;
				for (const client of clients) {
					const fingerprints = imagesIn(before.items, client);
					images[client.name] += fingerprints.length;
					for (const fingerprint of fingerprints) {
						owners[client.name].set(fingerprint, version.path);
					}
				}
			}
		}

		if (Object.keys(published).length === 0) {
			emit({type: 'skipped', scope: 'product', path: ref.path, ...because('no-publishable-version')});
			continue;
		}

		const aliases = claimAliases(product, published);
		products[ref.id] = {
			// An empty string would register the alias "" (and "/ARCH"): leave the field out instead.
			...(aliases.length > 0 ? {aliases: aliases.join(',')} : {}),
			arch: ref.arch,
			os: ref.os,
			release: ref.release,
			release_title: ref.release,
			variant: ref.variant,
			requirements: product.requirements,
			// An empty lxd_requirements would hide `requirements` from LXD: write it only when it says something.
			...(Object.keys(product.requirements).length > 0 ? {lxd_requirements: product.requirements} : {}),
			versions: withDeltas(published, deltasOf.get(ref.id) ?? []),
		};
	}

	return {
		products: productsFile(products),
		index: indexFile(Object.keys(products).sort()),
		images,
		versions,
	};
}
