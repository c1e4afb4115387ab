// Pure: the images each client derives from a products file (ToLXD/ToAPI, applyAliases; format
// notes §7, §9, §11, §12). `list` shows them, `verify` checks their fingerprints and deltas.
import {clientArchitecture} from '../domain/architectures.js';
import {isCalendarDate} from '../domain/naming.js';
import {deltaBaseFtype, deltaRootOf, isDeltaRoot, isRootFtype, metaFtypeOf, rootFtypes, unifiedFtypeOf, unifiedRootType, type Client, type ImageType} from '../streams/ftypes.js';
import type {Item, Product, ProductsFile, Version} from '../streams/model.js';
import {clientOrder} from '../streams/sort.js';

export type ItemRef = {key: string; item: Item};

/** A delta a client would use for the image: applied to the base image's rootfs, it gives this one's. */
export type ImageDelta = ItemRef & {base: string; sourceFingerprint: string};

export type ClientImage = {
	client: Client;
	product: string;
	version: string;
	fingerprint: string;
	type: ImageType;
	/** The `type` property: the rootfs ftype, or "tar.gz" for a unified image. */
	rootType: string;
	/** As written in the product, and as the client normalises it. */
	arch: string;
	architecture: string;
	os: string;
	release: string;
	variant: string;
	size: number;
	/** [meta, rootfs] for a split image, [unified] otherwise. */
	files: ItemRef[];
	deltas: ImageDelta[];
	requirements: Record<string, string>;
	/** The aliases this image ends up owning for its client (the first image to claim one wins). */
	aliases: string[];
};

/** Versions the clients keep: at least 8 characters, the first 8 a date (both clients parse them so). */
export const keptVersion = (name: string) => name.length >= 8 && isCalendarDate(name.slice(0, 8));

/** The fingerprint a meta item gives a rootfs of `ftype`: the first non-empty field the clients read. */
export function pairedFingerprint(meta: Item, ftype: string): string | undefined {
	if (!isRootFtype(ftype)) {
		return undefined;
	}

	for (const field of rootFtypes[ftype].fields) {
		const value = meta[field];
		if (typeof value === 'string' && value !== '') {
			return value;
		}
	}

	return undefined;
}

/** The fingerprint a client looks a delta's base image up by (§12). */
export function deltaSource(client: Client, base: Version | undefined, deltaFtype: string): string | undefined {
	const meta = Object.values(base?.items ?? {}).find(item => item.ftype === metaFtypeOf[client]);
	return meta && pairedFingerprint(meta, deltaBaseFtype(client, deltaRootOf(deltaFtype) ?? deltaFtype));
}

/** What every image of a version shares. */
type Common = Pick<ClientImage, 'client' | 'product' | 'version' | 'arch' | 'architecture' | 'os' | 'release' | 'variant' | 'requirements'>;

/**
 * An image with its fields written out: V8 builds `{...common, fingerprint, …}` on a slow path, and
 * a tree has tens of thousands of images.
 */
const imageOf = (common: Common, own: Pick<ClientImage, 'fingerprint' | 'type' | 'rootType' | 'size' | 'files' | 'deltas'>): ClientImage => ({
	client: common.client, product: common.product, version: common.version, arch: common.arch, architecture: common.architecture,
	os: common.os, release: common.release, variant: common.variant, requirements: common.requirements, aliases: [],
	fingerprint: own.fingerprint, type: own.type, rootType: own.rootType, size: own.size, files: own.files, deltas: own.deltas,
});

/** The deltas in `version` a client would use for its rootfs `root` (§12). */
function deltasOf(client: Client, product: Product, version: Version, root: string): ImageDelta[] {
	const deltas: ImageDelta[] = [];
	if (!isDeltaRoot(root)) {
		return deltas;
	}

	for (const key of Object.keys(version.items)) {
		const item = version.items[key]!;
		const sourceFingerprint = deltaRootOf(item.ftype) === root && item.delta_base !== undefined ? deltaSource(client, product.versions[item.delta_base], item.ftype) : undefined;
		if (sourceFingerprint) {
			deltas.push({key, item, base: item.delta_base!, sourceFingerprint});
		}
	}

	return deltas;
}

/**
 * The images `client` derives, in its sort order (§9), each with the aliases it owns. A tree has
 * tens of thousands of images: a version's items are walked by key rather than copied into lists
 * for each question asked of them.
 */
export function clientImages(products: ProductsFile, client: Client): ClientImage[] {
	const images: ClientImage[] = [];
	// The aliases each product claims, by its id.
	const claimsOf = new Map<string, string[]>();
	for (const id of Object.keys(products.products)) {
		const product = products.products[id]!;
		const architecture = clientArchitecture(product.arch, client);
		if (!architecture) {
			continue;
		}

		const requirements = (client === 'lxd' ? product.lxd_requirements ?? product.requirements : product.requirements) ?? {};
		claimsOf.set(id, product.aliases === undefined ? [] : product.aliases.split(','));
		for (const name of Object.keys(product.versions)) {
			if (!keptVersion(name)) {
				continue;
			}

			const version = product.versions[name]!;
			const common: Common = {client, product: id, version: name, arch: product.arch, architecture, os: product.os ?? '', release: product.release ?? '', variant: product.variant ?? '', requirements};
			const keys = Object.keys(version.items);
			for (const key of keys) {
				const item = version.items[key]!;
				if (item.ftype === unifiedFtypeOf[client] && item.sha256) {
					const vm = client === 'incus' && item.combined_type === 'virtual-machine';
					images.push(imageOf(common, {fingerprint: item.sha256, type: vm ? 'virtual-machine' : 'container', rootType: unifiedRootType, size: item.size, files: [{key, item}], deltas: []}));
				}
			}

			for (const metaKey of keys) {
				const meta = version.items[metaKey]!;
				if (meta.ftype !== metaFtypeOf[client]) {
					continue;
				}

				for (const rootKey of keys) {
					const root = version.items[rootKey]!;
					const fingerprint = pairedFingerprint(meta, root.ftype);
					if (!fingerprint) {
						continue; // The clients drop the pairing silently.
					}

					images.push(imageOf(common, {
						fingerprint, type: rootFtypes[root.ftype as keyof typeof rootFtypes].type, rootType: root.ftype, size: meta.size + root.size,
						files: [{key: metaKey, item: meta}, {key: rootKey, item: root}], deltas: deltasOf(client, product, version, root.ftype),
					}));
				}
			}
		}
	}

	images.sort(clientOrder);
	// An alias is keyed by name, image type and architecture; the first image in that order to claim it owns it.
	const owned = new Set<string>();
	// The claims (a product's) of which every alias is owned, by image type, for these architectures:
	// owned stays owned, so each later image with them owns none, and is not looked at alias by alias.
	const spent = new Map<string[], Map<ImageType, Set<string>>>();
	for (const image of images) {
		const claims = claimsOf.get(image.product)!;
		if (claims.length === 0 || spent.get(claims)?.get(image.type)?.has(image.architecture)) {
			continue;
		}

		const kind = `${image.type}\0${image.architecture}`;
		image.aliases = claims.flatMap(alias => [alias, `${alias}/${image.arch}`]).filter(alias => {
			const key = `${alias}\0${kind}`;
			return !owned.has(key) && Boolean(owned.add(key));
		});
		const spentKinds = spent.get(claims) ?? new Map<ImageType, Set<string>>();
		spent.set(claims, spentKinds.set(image.type, (spentKinds.get(image.type) ?? new Set()).add(image.architecture)));
	}

	return images;
}
