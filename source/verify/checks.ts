// Pure: what a type-correct products file can still get wrong for the clients: an index that does
// not list what the products file holds, one fingerprint twice, pairings and deltas clients drop.
import {deltaSource, pairedFingerprint, type ClientImage} from '../list/derive.js';
import {allClients, clientLabel, deltaBaseFtype, deltaRootOf, isDeltaRoot, isRootFtype, metaFtypeOf, rootFtypes, type ReadRootFtype} from '../streams/ftypes.js';
import type {ProductsFile} from '../streams/model.js';
import type {Problem} from './schema.js';

export type ProductsOf = {path: string; products: ProductsFile; listed: string[]};

/** The index entry's products and the products file's ids must be the same set. */
export function checkAgreement({path, products, listed}: ProductsOf, indexPath: string): Problem[] {
	const ids = new Set(Object.keys(products.products));
	const named = new Set(listed);
	return [
		...[...ids].filter(id => !named.has(id)).map(product => ({file: indexPath, product, message: `${path} holds this product but index.json does not list it`})),
		...[...named].filter(id => !ids.has(id)).map(product => ({file: indexPath, product, message: `index.json lists this product but ${path} does not hold it`})),
	];
}

/** A fingerprint a client sees twice makes every info, export and launch of either fail (§8). */
export function checkDuplicates(images: readonly ClientImage[], file: string): Problem[] {
	const problems: Problem[] = [];
	for (const client of allClients) {
		const first = new Map<string, ClientImage>();
		for (const image of images.filter(i => i.client === client)) {
			const owner = first.get(image.fingerprint);
			if (owner) {
				problems.push({file, product: image.product, version: image.version, item: image.files[0]!.key, message: `${clientLabel[client]} sees fingerprint ${image.fingerprint} twice (also ${owner.product} ${owner.version} ${owner.rootType}): "More than one match" for both`});
			} else {
				first.set(image.fingerprint, image);
			}
		}
	}

	return problems;
}

/** What is wrong for the clients, and what merely works otherwise than an operator may expect. */
export type Findings = {problems: Problem[]; warnings: Problem[]};

const short = (fingerprint: string) => fingerprint.slice(0, 12);

/**
 * Incus looks up the base of every delta by the base's combined_squashfs_sha256 (§12), also for a
 * VM disk's. LXD-only deltas (--vm-deltas) do not break the tree, but Incus either skips them or,
 * where the base version has a container too, patches that container's rootfs with them.
 */
function incusVmDelta(base: string, source: string | undefined): string {
	return source === undefined
		? `Incus ignores this VM delta: it looks every delta's base up by combined_squashfs_sha256, which ${base}'s incus.tar.xz item does not carry, so it downloads the whole disk (LXD uses the delta)`
		: `Incus applies this VM delta to the container image ${short(source)} of ${base} (it looks every delta's base up by combined_squashfs_sha256): an Incus host that has that container cached fails to download this VM, with no fallback to the whole disk. Publish VM deltas (--vm-deltas) only where the clients are LXD`;
}

/** Per version: rootfs items a client cannot pair, and delta items it would ignore (§7, §12, §18). */
export function checkVersions(products: ProductsFile, file: string): Findings {
	const problems: Problem[] = [];
	const warnings: Problem[] = [];
	for (const [product, body] of Object.entries(products.products)) {
		for (const [version, {items}] of Object.entries(body.versions)) {
			const where = {file, product, version};
			const entries = Object.entries(items);
			const roots = entries.filter(([, item]) => isRootFtype(item.ftype));
			for (const client of allClients) {
				const metas = entries.filter(([, item]) => item.ftype === metaFtypeOf[client]);
				if (metas.length === 0 && roots.length > 0) {
					problems.push({...where, message: `no ${metaFtypeOf[client]} item: ${clientLabel[client]} sees nothing of this version`});
				}

				for (const [key, meta] of metas) {
					for (const [, root] of roots.filter(([, r]) => !pairedFingerprint(meta, r.ftype))) {
						problems.push({...where, item: key, file: meta.path, message: `no ${rootFtypes[root.ftype as ReadRootFtype].fields[0]}: ${clientLabel[client]} hides the ${root.ftype} image`});
					}
				}
			}

			for (const [key, delta] of entries.filter(([, item]) => deltaRootOf(item.ftype) !== undefined)) {
				const root = deltaRootOf(delta.ftype)!;
				const dwhere = {...where, item: key, file: delta.path};
				const base = delta.delta_base === undefined ? undefined : body.versions[delta.delta_base];
				const why = !isDeltaRoot(root) ? `ftype ${delta.ftype} is not one the clients use`
					: delta.delta_base === undefined ? 'no delta_base'
						: !base ? `its base ${delta.delta_base} is not a version of this product`
							: !Object.values(base.items).some(item => item.ftype === root) ? `its base ${delta.delta_base} has no ${root} item`
								: !roots.some(([, item]) => item.ftype === root) ? `this version has no ${root} item for it to give` : undefined;
				if (why) {
					problems.push({...dwhere, message: `${why}: the clients ignore the delta`});
					continue;
				}

				for (const client of allClients) {
					const source = deltaSource(client, base, delta.ftype);
					if (deltaBaseFtype(client, root) !== root) {
						warnings.push({...dwhere, message: incusVmDelta(delta.delta_base!, source)});
					} else if (!source) {
						problems.push({...dwhere, message: `the base ${delta.delta_base}'s ${metaFtypeOf[client]} item gives no fingerprint to look it up by: ${clientLabel[client]} ignores the delta`});
					}
				}
			}
		}
	}

	return {problems, warnings};
}
