// Stage 4 (pure): the products file and index both clients read, from planned versions and digests.
import {defaultAliases} from '../domain/aliases.js';
import {canonicalArchitecture} from '../domain/architectures.js';
import {because, warning} from '../domain/reasons.js';
import {clients, deltaFtype, deltaItemKey, deltaRootOf, fingerprintFields, isDeltaRoot, isMetaFtype, isRootFtype, isUnifiedFtype, itemKey, rootFtypes, type RootFtype} from '../streams/ftypes.js';
import {indexFile, productsFile, type Item, type Product, type ProductsFile, type PublishedIndex} from '../streams/model.js';
import type {Delta} from './delta.js';
import type {Emit, PipelineEvent} from './events.js';
import {pathPair, type Digests, type ImageFile, type ScannedProduct} from '../domain/tree.js';
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
 * Who owns what a client must see once, shared by all products in order, in one map a space: each
 * client's fingerprints (the path that claimed one), then aliases by `ALIAS\0ARCH\0TYPE` (the product
 * that claimed one). A fingerprint is its own key in its client's space: the very string the digests
 * hold, where a key of the client's name and the fingerprint was a new string for every one, which a
 * watcher's ledgers kept (bench/RESULTS.md).
 */
type Owners = Array<Map<string, string | undefined>>;

/** Which of the owners' maps a key is in: a client's (by its index in `clients`), or the aliases'. */
type Space = number;

const clientSpaces = new Map(clients.map((client, index) => [client, index]));
const aliasSpace: Space = clients.length;
const newOwners = (): Owners => Array.from({length: clients.length + 1}, () => new Map());

/** What cataloging a product does with the owners. */
type OwnersView = {get: (space: Space, key: string) => string | undefined; set: (space: Space, key: string, owner: string) => unknown};

const direct = (owners: Owners): OwnersView => ({
	get: (space, key) => owners[space]!.get(key),
	set: (space, key, owner) => owners[space]!.set(key, owner),
});

/**
 * What cataloging one product read from and wrote to the owners, in order, as flat triples: a read
 * (`key`, what it found), a write (`key`, the new owner), or a claim (`key` found unowned, then
 * written: the new owner), the one step of nearly every fingerprint and alias. A step is one number,
 * its kind and the key's space. A product whose inputs did not change gives the same entry again as
 * long as each of its reads finds what it found before.
 */
type Ledger = Array<number | string | undefined>;

const read = 0;
const wrote = 1;
const claimed = 2;
const stepOf = (kind: number, space: Space) => kind + (3 * space);
const kindOf = (step: number) => step % 3;
const spaceOf = (step: number) => Math.floor(step / 3);

/** The owners as one product's cataloging sees them, its reads and writes noted in `ledger`. */
function ledgered(owners: Owners, ledger: Ledger): OwnersView {
	return {
		get(space: Space, key: string): string | undefined {
			const owner = owners[space]!.get(key);
			ledger.push(stepOf(read, space), key, owner);
			return owner;
		},
		set(space: Space, key: string, owner: string): void {
			owners[space]!.set(key, owner);
			const last = ledger.length - 3;
			if (ledger[last] === stepOf(read, space) && ledger[last + 1] === key && ledger[last + 2] === undefined) {
				ledger[last] = stepOf(claimed, space);
				ledger[last + 2] = owner;
			} else {
				ledger.push(stepOf(wrote, space), key, owner);
			}
		},
	};
}

/** What `ledger` wrote before `end`, by space and key: what a product's own reads found of its own writes. */
function ownWrites(ledger: Ledger, end: number): Owners {
	const own = newOwners();
	for (let at = 0; at < end; at += 3) {
		const step = ledger[at] as number;
		if (kindOf(step) !== read) {
			own[spaceOf(step)]!.set(ledger[at + 1] as string, ledger[at + 2] as string | undefined);
		}
	}

	return own;
}

/**
 * The owner of `key` as a product's cataloging sees it: its own writes so far (`own`, once they are
 * looked at), else the owners. A function of its own, not a closure made at each step of a ledger: a
 * watcher checks every product's ledger at each regeneration, hundreds of thousands of steps on a
 * large tree, and each closure was an object and a context of its own (bench/RESULTS.md).
 */
const ownerNow = (owners: Owners, own: Owners | undefined, space: Space, key: string) => (own?.[space]!.has(key) ? own[space]!.get(key) : owners[space]!.get(key));

/**
 * Whether each read of `ledger` finds in `owners` what it found before (its own writes seen as they
 * were made). The product's own writes are looked at only when a read finds something else: a
 * product seldom reads a key it wrote.
 */
function stillHolds(ledger: Ledger, owners: Owners): boolean {
	let own: Owners | undefined;
	for (let at = 0; at < ledger.length; at += 3) {
		const step = ledger[at] as number;
		const kind = kindOf(step);
		const space = spaceOf(step);
		const key = ledger[at + 1] as string;
		const found = kind === read ? ledger[at + 2] : undefined;
		if (kind !== wrote && ownerNow(owners, own, space, key) !== found) {
			own ??= ownWrites(ledger, at);
			if (ownerNow(owners, own, space, key) !== found) {
				return false;
			}
		}

		if (own && kind !== read) {
			own[space]!.set(key, ledger[at + 2] as string | undefined);
		}
	}

	return true;
}

function replayWrites(ledger: Ledger, owners: Owners): void {
	for (let at = 0; at < ledger.length; at += 3) {
		const step = ledger[at] as number;
		if (kindOf(step) !== read) {
			owners[spaceOf(step)]!.set(ledger[at + 1] as string, ledger[at + 2] as string);
		}
	}
}

/** One product's share of the catalog: its entry (none when nothing of it is published) and what it adds to the counts. */
type ProductEntry = {product?: Product; versions: number; images: {lxd: number; incus: number}};

/** A product as cataloged before: from what, what it did to the owners, what it said, and its entry. */
type Remembered = {planned: PlannedProduct; digests: Array<string | undefined>; deltas: string; ledger: Ledger; events: PipelineEvent[]; entry: ProductEntry};

/**
 * The products as the last catalog made them, by id: kept between a watcher's regenerations so that a
 * product whose inputs did not move is not cataloged again (its entry is the same object, so the
 * text and page made of it are reused too). Its output is the same as without it, byte for byte.
 */
export type CatalogMemory = Map<string, Remembered>;

const sameFiles = (a: readonly ImageFile[] = [], b: readonly ImageFile[] = []) => a.length === b.length && a.every((file, at) => file === b[at]);

/** Whether two scans of a product are the very same objects where the product itself is concerned (the watcher keeps those of what it did not rescan). */
const sameProduct = (a: ScannedProduct, b: ScannedProduct) => a.ref === b.ref && a.requirements === b.requirements && a.aliases === b.aliases;

/** Whether two plans of a product hold the very same scanned objects. */
function samePlan(a: PlannedProduct, b: PlannedProduct): boolean {
	return sameProduct(a.product, b.product)
		// A held version is carried over from the streams before: cataloged again each time.
		&& !a.held?.length && !b.held?.length
		&& a.versions.length === b.versions.length
		&& a.versions.every((v, at) => {
			const w = b.versions[at]!;
			return v.version === w.version && sameFiles(v.metas, w.metas) && sameFiles(v.roots, w.roots) && sameFiles(v.unified, w.unified);
		});
}

/** Where each digest cataloging a product looks up lives, in order: the file digests, then the pairs. */
function * digestKeys({versions}: PlannedProduct, digests: Digests): Generator<[Map<string, string>, string]> {
	for (const {metas, roots, unified = []} of versions) {
		for (const file of [...metas, ...roots, ...unified]) {
			yield [digests.files, file.path];
		}

		for (const meta of metas) {
			for (const root of roots) {
				yield [digests.combined, pathPair(meta.path, root.path)];
			}
		}
	}
}

/** Every digest cataloging a product looks up, in order. */
const digestsFor = (planned: PlannedProduct, digests: Digests): Array<string | undefined> =>
	Array.from(digestKeys(planned, digests), ([map, key]) => map.get(key));

const sameDigests = (a: ReadonlyArray<string | undefined>, b: ReadonlyArray<string | undefined>) => a === b || (a.length === b.length && a.every((d, at) => d === b[at]));

/** Put a remembered product's digests back where cataloging it again looks them up. */
function restoreDigests({planned, digests: found}: Remembered, digests: Digests): void {
	let at = 0;
	for (const [map, key] of digestKeys(planned, digests)) {
		const digest = found[at++];
		if (digest !== undefined) {
			map.set(key, digest);
		}
	}
}

/** The entry remembered for `id`, if it is `product`, is `replacement` from now on (the same entry, held otherwise: memory.ts). */
export function keptAs(memory: CatalogMemory, id: string, product: Product, replacement: Product): void {
	const entry = memory.get(id)?.entry;
	if (entry?.product === product) {
		entry.product = replacement;
	}
}

/**
 * The products of `scanned` that need no probe and no plan: the very scanned objects of a product
 * remembered (the watcher keeps those it did not rescan), every file of which was published or
 * paired (a file left out may be read otherwise next time), none held back. Their plans are the
 * remembered ones; the digest cache answered for their files before and would again.
 */
export function unmovedProducts(scanned: readonly ScannedProduct[], memory: CatalogMemory): Map<ScannedProduct, PlannedProduct> {
	const unmoved = new Map<ScannedProduct, PlannedProduct>();
	for (const product of scanned) {
		const planned = memory.get(product.ref.id)?.planned;
		if (planned && sameProduct(planned.product, product)
			&& !planned.held?.length && planned.versions.length === product.versions.length
			&& planned.versions.every(({version, metas, roots, unified = []}, at) => version === product.versions[at] && metas.length + roots.length + unified.length === version.files.length)) {
			unmoved.set(product, planned);
		}
	}

	return unmoved;
}

/**
 * `previous`: the products file published before, from which held versions are carried over unchanged.
 * `deltas`: checked deltas (delta.ts), published where a client can use them. `memory`: the products
 * as cataloged the last time, reused where nothing they depend on moved, and updated.
 */
export function catalog(planned: readonly PlannedProduct[], digests: Digests, emit: Emit, previous?: ProductsFile, deltas: readonly Delta[] = [], memory?: CatalogMemory): Catalog {
	const products: Record<string, Product> = {};
	const images = {lxd: 0, incus: 0};
	let versions = 0;
	const owners = newOwners();
	const deltasOf = new Map<string, Delta[]>();
	for (const delta of deltas) {
		const list = deltasOf.get(delta.product) ?? [];
		list.push(delta);
		deltasOf.set(delta.product, list);
	}

	const remembered: CatalogMemory = new Map();
	for (const plannedProduct of planned) {
		const {ref} = plannedProduct.product;
		const productDeltas = deltasOf.get(ref.id) ?? [];
		let entry: ProductEntry;
		const before = memory?.get(ref.id);
		// The very plan remembered: its product was not planned again (unmoved), its digests are those remembered.
		const kept = before?.planned === plannedProduct;
		const found = kept ? before.digests : memory && digestsFor(plannedProduct, digests);
		const deltaKey = memory ? JSON.stringify(productDeltas) : '';
		const same = before && found && (kept || samePlan(before.planned, plannedProduct)) && sameDigests(before.digests, found) && before.deltas === deltaKey;
		const holds = same && stillHolds(before.ledger, owners);
		if (kept && !holds) {
			restoreDigests(before, digests);
		}

		if (before && holds) {
			replayWrites(before.ledger, owners);
			for (const event of before.events) {
				emit(event);
			}

			({entry} = before);
			remembered.set(ref.id, before);
		} else if (memory) {
			const ledger: Ledger = [];
			const events: PipelineEvent[] = [];
			entry = catalogProduct(plannedProduct, digests, ledgered(owners, ledger), event => {
				events.push(event);
				emit(event);
			}, previous, productDeltas);
			remembered.set(ref.id, {planned: plannedProduct, digests: found!, deltas: deltaKey, ledger, events, entry});
		} else {
			entry = catalogProduct(plannedProduct, digests, direct(owners), emit, previous, productDeltas);
		}

		versions += entry.versions;
		images.lxd += entry.images.lxd;
		images.incus += entry.images.incus;
		if (entry.product) {
			products[ref.id] = entry.product;
		}
	}

	if (memory) {
		memory.clear();
		for (const [id, product] of remembered) {
			memory.set(id, product);
		}
	}

	return {
		products: productsFile(products),
		index: indexFile(Object.keys(products).sort()),
		images,
		versions,
	};
}

/** One product's entry, given what the products before it own. */
function catalogProduct({product, versions: productVersions, held}: PlannedProduct, digests: Digests, owners: OwnersView, emit: Emit, previous: ProductsFile | undefined, deltas: readonly Delta[]): ProductEntry {
	const images = {lxd: 0, incus: 0};
	let versions = 0;

	const itemOf = (file: ImageFile, ftype: string): Item | undefined => {
		const sha256 = digests.files.get(file.path);
		return sha256 ? {ftype, path: file.path, sha256, size: file.identity.size} : undefined;
	};

	// A fingerprint a client sees twice breaks both images for it: the first one published keeps it.
	/** A fingerprint this client has not seen yet is taken for `path`; a second one is skipped and named. */
	const claim = (client: typeof clients[number], fingerprint: string, path: string): boolean => {
		const space = clientSpaces.get(client)!;
		const owner = owners.get(space, fingerprint);
		if (owner) {
			emit({type: 'skipped', scope: 'file', path, ...because('duplicate-fingerprint', client.label, fingerprint, owner)});
			return false;
		}

		owners.set(space, fingerprint, path);
		return true;
	};

	const versionItems = ({version, metas, roots, unified = []}: PlannedVersion): Record<string, Item> | undefined => {
		const items: Record<string, Item> = {};
		const pairedRoots = new Set<ImageFile>();
		let wholes = 0;
		// Both clients read one metadata file where a version has only one: the fingerprints of its
		// pairings are looked up once (a key made and hashed a pairing), not once a client.
		let paired: ImageFile | undefined;
		let fingerprints: Array<string | undefined> = [];
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

			if (meta !== paired) {
				paired = meta;
				fingerprints = roots.map(root => (digests.files.has(root.path) ? digests.combined.get(pathPair(meta.path, root.path)) : undefined));
			}

			let pairings = 0;
			for (let index = 0; index < roots.length; index++) {
				const root = roots[index]!;
				const fingerprint = fingerprints[index];
				if (!fingerprint || !claim(client, fingerprint, root.path)) {
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
	const claimAliases = ({ref, aliases}: PlannedProduct['product'], versions: Product['versions']): string[] => {
		const arch = canonicalArchitecture(ref.arch) ?? ref.arch;
		const types = new Set(Object.values(versions).flatMap(v => Object.values(v.items))
			.flatMap(item => (isRootFtype(item.ftype) ? [rootFtypes[item.ftype].type] : isUnifiedFtype(item.ftype) ? ['container'] : [])));
		const defaults = defaultAliases(ref.os, ref.release, ref.variant);
		return [...new Set([...defaults, ...aliases])].filter(alias => {
			const owner = [...types].map(type => owners.get(aliasSpace, `${alias}\0${arch}\0${type}`)).find(o => o !== undefined);
			if (owner) {
				const path = defaults.includes(alias) ? ref.path : `${ref.path}/.aliases`;
				emit({type: 'warning', path, ...warning('alias-taken', alias, owner, arch)});
				return false;
			}

			for (const type of types) {
				owners.set(aliasSpace, `${alias}\0${arch}\0${type}`, ref.id);
			}

			return true;
		});
	};

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
					owners.set(clientSpaces.get(client)!, fingerprint, version.path);
				}
			}
		}
	}

	if (Object.keys(published).length === 0) {
		emit({type: 'skipped', scope: 'product', path: ref.path, ...because('no-publishable-version')});
		return {versions, images};
	}

	const aliases = claimAliases(product, published);
	return {versions, images, product: {
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
		versions: withDeltas(published, deltas),
	}};
}
