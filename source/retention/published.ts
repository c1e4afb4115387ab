// The fingerprints a `remove` TARGET may name: those of the images the published streams offer, as
// either client derives them, each with the version directory it comes from.
import {clientImages} from '../list/derive.js';
import type {Tree} from '../domain/tree.js';
import {allClients} from '../streams/ftypes.js';
import type {ProductsFile} from '../streams/model.js';
import {readStreams} from '../streams/read.js';
import type {Fingerprinted} from './targets.js';

/** Streams that cannot be read give no fingerprints: products and versions can still be named. */
export async function publishedImages(tree: Tree): Promise<Fingerprinted[]> {
	const streams = await readStreams(tree.root);
	const merged: ProductsFile = {products: {}};
	for (const file of streams.products) {
		Object.assign(merged.products, file.decoded?.products);
	}

	const paths = new Map(tree.products.map(p => [p.ref.id, p.ref.path]));
	return allClients.flatMap(client => clientImages(merged, client)).flatMap(image => {
		const product = paths.get(image.product);
		return product ? [{product: image.product, path: `${product}/${image.version}`, fingerprint: image.fingerprint}] : [];
	});
}
