// Pure: the images each client derives from a products file (ToLXD/ToAPI, applyAliases; format
// notes §7, §9, §11, §12). `list` shows them, `verify` checks their fingerprints and deltas.
import {clientArchitecture} from '../domain/architectures.js';
import {isCalendarDate} from '../domain/naming.js';
import {deltaBaseFtype, deltaRootOf, isDeltaRoot, isRootFtype, metaFtypeOf, rootFtypes, unifiedFtypeOf, unifiedRootType, type Client, type ImageType} from '../streams/ftypes.js';
import type {Item, ProductsFile, Version} from '../streams/model.js';
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
	return isRootFtype(ftype) ? rootFtypes[ftype].fields.map(field => meta[field]).find(v => typeof v === 'string' && v !== '') : undefined;
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

/** The images `client` derives, in its sort order (§9), each with the aliases it owns. */
export function clientImages(products: ProductsFile, client: Client): ClientImage[] {
	const images: Array<{image: ClientImage; claims: string[]}> = [];
	for (const [id, product] of Object.entries(products.products)) {
		const architecture = clientArchitecture(product.arch, client);
		if (!architecture) {
			continue;
		}

		const requirements = (client === 'lxd' ? product.lxd_requirements ?? product.requirements : product.requirements) ?? {};
		const claims = product.aliases === undefined ? [] : product.aliases.split(',');
		for (const [name, version] of Object.entries(product.versions)) {
			if (!keptVersion(name)) {
				continue;
			}

			const common: Common = {client, product: id, version: name, arch: product.arch, architecture, os: product.os ?? '', release: product.release ?? '', variant: product.variant ?? '', requirements};
			const items = Object.entries(version.items).map(([key, item]) => ({key, item}));
			for (const unified of items.filter(({item}) => item.ftype === unifiedFtypeOf[client] && item.sha256)) {
				const vm = client === 'incus' && unified.item.combined_type === 'virtual-machine';
				images.push({image: imageOf(common, {fingerprint: unified.item.sha256!, type: vm ? 'virtual-machine' : 'container', rootType: unifiedRootType, size: unified.item.size, files: [unified], deltas: []}), claims});
			}

			for (const meta of items.filter(({item}) => item.ftype === metaFtypeOf[client])) {
				for (const root of items.filter(({item}) => isRootFtype(item.ftype))) {
					const fingerprint = pairedFingerprint(meta.item, root.item.ftype);
					if (!fingerprint) {
						continue; // The clients drop the pairing silently.
					}

					const deltas = items.filter(({item}) => deltaRootOf(item.ftype) === root.item.ftype && isDeltaRoot(root.item.ftype))
						.flatMap(delta => {
							const sourceFingerprint = delta.item.delta_base === undefined ? undefined : deltaSource(client, product.versions[delta.item.delta_base], delta.item.ftype);
							return sourceFingerprint ? [{...delta, base: delta.item.delta_base!, sourceFingerprint}] : [];
						});
					images.push({image: imageOf(common, {fingerprint, type: rootFtypes[root.item.ftype as keyof typeof rootFtypes].type, rootType: root.item.ftype, size: meta.item.size + root.item.size, files: [meta, root], deltas}), claims});
				}
			}
		}
	}

	images.sort((a, b) => clientOrder(a.image, b.image));
	// An alias is keyed by name, image type and architecture; the first image in that order to claim it owns it.
	const owned = new Set<string>();
	// The claims (a product's) of which every alias is owned for an image type and architecture:
	// owned stays owned, so each later image with them owns none, and is not looked at alias by alias.
	const spent = new Map<string[], Set<string>>();
	return images.map(({image, claims}) => {
		const kind = `${image.type}\0${image.architecture}`;
		if (claims.length === 0 || spent.get(claims)?.has(kind)) {
			return image;
		}

		image.aliases = claims.flatMap(alias => [alias, `${alias}/${image.arch}`]).filter(alias => {
			const key = `${alias}\0${kind}`;
			return !owned.has(key) && Boolean(owned.add(key));
		});
		const spentKinds = spent.get(claims) ?? new Set();
		spent.set(claims, spentKinds.add(kind));
		return image;
	});
}
