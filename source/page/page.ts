// The page people read at the web root (index.html), written with every publish: the images the
// streams offer, as the clients derive them (list/derive.ts), one section of a table a product,
// newest version first. Plain HTML and a little CSS: it reads without JavaScript. Every text that
// comes from the tree (names, aliases, requirements) is escaped: directory names are hostile input.
import {clientImages, type ClientImage} from '../list/derive.js';
import {allClients, clientLabel, type Client} from '../streams/ftypes.js';
import type {Product, ProductsFile} from '../streams/model.js';
import type {Piece} from '../streams/pack.js';
import {pageMarker} from '../streams/paths.js';
import {clientOrder} from '../streams/sort.js';
import {formatBytes} from '../util/format.js';
import {outsideHeap} from '../util/outside-heap.js';

const entities: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;'};

/** Text made safe for an element's content and for a quoted attribute value; most has nothing to escape, and is not copied. */
const escapeHtml = (text: string) => (/["&'<>]/.test(text) ? text.replaceAll(/["&'<>]/g, char => entities[char]!) : text);

/**
 * One row of the page: an image, with the clients that see it (the same fingerprint for both when
 * they share a metadata file). `next`: the row made before it of another image with the same
 * fingerprint (another version or product), so rows are found by the fingerprint string the
 * products already hold rather than by a key string made for each image.
 */
type Row = {image: ClientImage; clients: readonly Client[]; allAliases: readonly string[]; next?: Row};

/** A row's clients, shared by every row seen by the same ones. */
const seenBy = new Map<Client, readonly Client[]>(allClients.map(client => [client, [client]]));

/** The clients of a row seen by `clients` and now by `client` too: the same list for each row seen by both. */
const alsoSeenBy = (clients: readonly Client[], client: Client): readonly Client[] =>
	(clients === seenBy.get(allClients[0]!) && client === allClients[1] ? allClients : [...clients, client]);

const labels = (clients: readonly Client[]) => clients.map(client => clientLabel[client]).join(', ');
const sharedLabels = new Map([...seenBy.values(), allClients].map(clients => [clients, labels(clients)]));

const typeLabel = {container: 'container', 'virtual-machine': 'VM'} as const;

/** A version's name as a date and time: the clients show it as the image's upload date. */
function published(version: string): string {
	const time = /^\d{8}[_T-]?(\d{2}):?(\d{2})/.exec(version);
	return `${version.slice(0, 4)}-${version.slice(4, 6)}-${version.slice(6, 8)}${time ? ` ${time[1]!}:${time[2]!}` : ''}`;
}

/** The rows of each product, in the clients' order. `aliasKeys`: told the key of each alias an image owns. */
function rows(products: ProductsFile, aliasKeys?: string[]): Map<string, Row[]> {
	const byFingerprint = new Map<string, Row>();
	// Appended in place: a copy of the list per row was quadratic in a product's versions.
	const byProduct = new Map<string, Row[]>();
	for (const client of allClients) {
		for (const image of clientImages(products, client)) {
			if (aliasKeys) {
				for (const alias of image.aliases) {
					aliasKeys.push(`${client}\0${alias}\0${image.type}\0${image.architecture}`);
				}
			}

			const first = byFingerprint.get(image.fingerprint);
			let row = first;
			while (row && (row.image.product !== image.product || row.image.version !== image.version)) {
				row = row.next;
			}

			if (row) {
				row.clients = alsoSeenBy(row.clients, client);
				if (image.aliases.length > 0) {
					// A set, not includes(): a product's .aliases may list tens of thousands, which each image carries.
					const known = new Set(row.allAliases);
					const added = image.aliases.filter(alias => !known.has(alias));
					if (added.length > 0) {
						row.allAliases = [...row.allAliases, ...added];
					}
				}
			} else {
				const made: Row = {image, clients: seenBy.get(client)!, allAliases: image.aliases, next: first};
				byFingerprint.set(image.fingerprint, made);
				const list = byProduct.get(image.product);
				if (list) {
					list.push(made);
				} else {
					byProduct.set(image.product, [made]);
				}
			}
		}
	}

	return byProduct;
}

const style = [
	'body{font:15px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#1d1d1f}',
	'h1{font-size:1.5em;margin:0 0 .2em}p{margin:.2em 0 1em;color:#555}',
	'table{border-collapse:collapse;width:100%}th,td{padding:.25em .7em;text-align:left;vertical-align:top}',
	'thead th{border-bottom:2px solid #ccc;font-size:.85em;color:#555}',
	'tbody th{background:#eef2f7;padding-top:.7em;font-weight:normal}tbody th b{font-size:1.05em}',
	'.n{text-align:right;white-space:nowrap}code{font-size:.9em}small{color:#555}',
].join('');

function productHeading(id: string, products: ProductsFile): string {
	const product = products.products[id]!;
	const requirements = Object.entries(product.requirements ?? {}).map(([key, value]) => `${key}=${value}`);
	return `<tr><th colspan="7"><b>${escapeHtml([product.os, product.release, product.variant].filter(Boolean).join(' '))}</b> ${escapeHtml(product.arch)}`
		+ ` <small>${escapeHtml(id)}</small>`
		+ (product.aliases ? ` · aliases <code>${escapeHtml(product.aliases.split(',').join(', '))}</code>` : '')
		+ (requirements.length > 0 ? ` · requires ${escapeHtml(requirements.join(', '))}` : '');
}

function imageRow(row: Row): string {
	const {image} = row;
	return `<tr><td>${escapeHtml(image.version)}<td>${typeLabel[image.type]}<td class="n">${formatBytes(image.size)}<td><code>${escapeHtml(image.fingerprint.slice(0, 12))}</code>`
		+ `<td>${escapeHtml(row.allAliases.join(', '))}<td>${sharedLabels.get(row.clients) ?? labels(row.clients)}<td class="n">${escapeHtml(published(image.version))}`;
}

/** A product's part of the page: its heading and rows, and what the page's head counts of it. */
type Section = {html: string; images: number; versions: number};

/** The section of a product whose rows are `list`. */
function section(id: string, products: ProductsFile, list: readonly Row[]): Section {
	const parts = ['<tbody>', productHeading(id, products), '\n'];
	for (const row of list) {
		parts.push(imageRow(row), '\n');
	}

	parts.push('</tbody>\n');
	const versions = new Set<string>();
	for (const {image} of list) {
		versions.add(image.version);
	}

	return {html: parts.join(''), images: list.length, versions: versions.size};
}

/**
 * A product's section made from its entry alone, with what places it on the page: the image the
 * page lists it by (its first LXD image in the clients' order, else its first Incus one), and the
 * keys of the aliases its images claim. Alone is how the whole page shows it whenever no other
 * product's images claim one of those keys.
 */
type Alone = Section & {first?: Row; aliasKeys: string[]};

/** Each product's section, by its entry, kept by a watcher between regenerations: an entry that did not change is not laid out again. */
export type PageSections = WeakMap<Product, Alone>;

function alone(id: string, products: ProductsFile, sections?: PageSections): Alone {
	const product = products.products[id]!;
	const kept = sections?.get(product);
	if (kept) {
		return kept;
	}

	// Alone, each of its images' aliases is owned by the first of them to claim it.
	const aliasKeys: string[] = [];
	const list = rows({products: {[id]: product}}, aliasKeys).get(id) ?? [];
	const made = {...section(id, products, list), first: list[0], aliasKeys};
	if (sections) {
		made.html = outsideHeap(made.html);
		sections.set(product, made);
	}

	return made;
}

/** Products listed by their first LXD image in the clients' order, then those only Incus sees by their first image. */
const pageOrder = (a: Row, b: Row) => Number(a.clients[0] !== allClients[0]) - Number(b.clients[0] !== allClients[0]) || clientOrder(a.image, b.image);

/** The sections of the page in its order: each product's made alone, unless products claim the same alias, when the clients' order across them decides. */
function sectionsOf(products: ProductsFile, sections?: PageSections): Section[] {
	const each = Object.keys(products.products).map(id => alone(id, products, sections));
	const keys = new Set<string>();
	if (each.some(made => made.aliasKeys.some(key => keys.has(key) || !keys.add(key)))) {
		return [...rows(products)].map(([id, list]) => section(id, products, list));
	}

	return each.filter(made => made.first !== undefined).sort((a, b) => pageOrder(a.first!, b.first!));
}

/**
 * The page of `products` as pieces, a product's section a piece of its own (streams/pack.ts): the
 * same products always give the same bytes. `sections`: those made before, reused for the entries
 * they were made of.
 */
export function pagePieces(products: ProductsFile, sections?: PageSections): Piece[] {
	const parts = sectionsOf(products, sections);
	const images = parts.reduce((sum, part) => sum + part.images, 0);
	const versions = parts.reduce((sum, part) => sum + part.versions, 0);
	const head = [
		'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">', pageMarker,
		'<meta name="viewport" content="width=device-width, initial-scale=1"><title>Images</title><style>', style, '</style></head>\n<body>\n',
		`<h1>Images</h1>\n<p>${parts.length} products, ${versions} versions, ${images} images. Add this server to LXD or Incus as a remote:`
		+ ' <code>incus remote add NAME https://THIS-HOST --protocol=simplestreams --public</code> (or <code>lxc remote add</code>).</p>\n',
		'<table>\n<thead><tr><th>Version<th>Type<th class="n">Size<th>Fingerprint<th>Aliases<th>Clients<th class="n">Published</thead>\n',
	].join('');
	return [{text: head}, ...parts.map(part => ({text: part.html, of: part})), {text: '</table>\n</body></html>\n'}];
}
