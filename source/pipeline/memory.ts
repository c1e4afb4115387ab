// What a watcher keeps from one regeneration to the next, so that one change costs the change: each
// product's catalog entry with what it depended on, each entry's text in images.json and its
// section of the page, the gzip of each large one, and the products it published. Reused only where what it was made of is
// the same, so a regeneration with it writes the bytes one without it would.
import type {PageSections} from '../page/page.js';
import type {ProductsFile} from '../streams/model.js';
import type {PackedPieces} from '../streams/pack.js';
import type {ProductTexts} from '../streams/write.js';
import type {CatalogMemory} from './catalog.js';

export type RegenerationMemory = {
	catalog: CatalogMemory;
	texts: ProductTexts;
	sections: PageSections;
	/** Their gzips, piece by piece (streams/pack.ts). */
	packed: PackedPieces;
	/** What the last regeneration published: a held version keeps its entry from it (the file on disk, without reading it). */
	published?: ProductsFile;
};

export const regenerationMemory = (): RegenerationMemory => ({catalog: new Map(), texts: new WeakMap(), sections: new WeakMap(), packed: new WeakMap()});
