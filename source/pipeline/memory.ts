// What a watcher keeps from one regeneration to the next, so that one change costs the change: each
// product's catalog entry with what it depended on, each entry's text in images.json and its
// section of the page, the gzip of each large one, and the products it published. Reused only where what it was made of is
// the same, so a regeneration with it writes the bytes one without it would.
//
// Once written, an entry is kept as its text: its versions, the most of it, are read back from the
// text on the rare occasions they are wanted again (a held version's entry, the page when products
// share an alias, the versions that come and go of a product that changed), so the watcher does not
// hold each product twice, as objects and as text. A large entry's text, once published, is kept as
// where it lies in the images.json written (streams/published.ts), held open: the file holds it already.
import type {PageSections} from '../page/page.js';
import type {Product, ProductsFile} from '../streams/model.js';
import {packedAlone, pieceSize, type PackedPieces, type Piece} from '../streams/pack.js';
import {PublishedBytes, type PublishedFile} from '../streams/published.js';
import type {ProductTexts} from '../streams/write.js';
import {keptAs, type CatalogMemory} from './catalog.js';

export type RegenerationMemory = {
	catalog: CatalogMemory;
	texts: ProductTexts;
	sections: PageSections;
	/** Their gzips, piece by piece (streams/pack.ts). */
	packed: PackedPieces;
	/** What the last regeneration published: a held version keeps its entry from it (the file on disk, without reading it). */
	published?: ProductsFile;
	/** The images.json last written, which the large entries' texts are read from. */
	file?: PublishedFile;
};

export const regenerationMemory = (): RegenerationMemory => ({catalog: new Map(), texts: new WeakMap(), sections: new WeakMap(), packed: new WeakMap()});

/** Whether what `memory` keeps can still be taken: the file its texts lie in was not written to since. */
export const intact = (memory: RegenerationMemory) => memory.file?.intact ?? true;

/** Let `memory` go: the file it held is closed. */
export function forget(memory: RegenerationMemory): void {
	memory.file?.close();
}

/**
 * After images.json was written as `pieces` (streams/write.ts) into `file`: each large entry's text is
 * kept, from now on, as where it lies there. Large only: a shorter piece is packed with the pieces
 * beside it, and its text is not worth a read.
 */
export function keepPublished(memory: RegenerationMemory, file: PublishedFile, pieces: readonly Piece[]): void {
	let offset = 0;
	for (const piece of pieces) {
		const product = piece.of as Product | undefined;
		const text = product && memory.texts.get(product);
		const size = pieceSize(piece);
		if (text !== undefined && (typeof text !== 'string' || text.length >= packedAlone)) {
			const length = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
			memory.texts.set(product!, new PublishedBytes(file, offset + size - length, length));
		}

		offset += size;
	}

	memory.file?.close();
	memory.file = file;
}

/** The names of the versions of each entry kept as text: what the watcher asks of every entry that changed. */
const keptNames = new WeakMap<Product, readonly string[]>();

/** The names of `product`'s versions. */
export const versionNames = (product: Product): readonly string[] => keptNames.get(product) ?? Object.keys(product.versions);

/**
 * `product`, its versions read from `text` (its JSON) when they are asked for. Read once for a loop
 * that asks again and again: a WeakRef's target lives at least to the end of the job that read it,
 * and goes with the next collection after.
 */
function textBacked(product: Product, text: () => string): Product {
	const {versions, ...rest} = product;
	let read: WeakRef<Product['versions']> | undefined;
	const get = () => {
		const known = read?.deref();
		if (known) {
			return known;
		}

		const parsed = (JSON.parse(text()) as Product).versions;
		read = new WeakRef(parsed);
		return parsed;
	};

	const entry = Object.defineProperty(rest, 'versions', {enumerable: true, get}) as Product;
	keptNames.set(entry, Object.keys(versions));
	return entry;
}

/** After a write: each entry of `products` whose text `memory` keeps is held, from now on, as that text (in `products` too). */
export function keepAsText(memory: RegenerationMemory, products: ProductsFile): void {
	for (const [id, product] of Object.entries(products.products)) {
		const text = memory.texts.get(product);
		if (text === undefined || keptNames.has(product)) {
			continue;
		}

		const entry = textBacked(product, () => {
			const kept = memory.texts.get(entry)!;
			return typeof kept === 'string' ? kept : kept.text();
		});
		memory.texts.set(entry, text);
		const section = memory.sections.get(product);
		if (section) {
			memory.sections.set(entry, section);
		}

		const packed = memory.packed.get(product);
		if (packed) {
			memory.packed.set(entry, packed);
		}

		keptAs(memory.catalog, id, product, entry);
		products.products[id] = entry;
	}
}
