// What a run changes in what clients list: the versions it publishes (or a dry run would) that the
// streams on disk do not, and those they hold that it drops, each named `product version`.
import type {ProductsFile} from '../streams/model.js';
import {productsPath} from '../streams/paths.js';
import {readProducts} from '../streams/read.js';
import type {Emit} from './events.js';
import type {GenerateResult} from './stages.js';

/** Every version the products file publishes, as `product version`. */
export const versionsOf = (products?: ProductsFile) => new Set(Object.entries(products?.products ?? {}).flatMap(([id, product]) =>
	Object.keys(product.versions).map(version => `${id} ${version}`)));

export function versionChanges(before?: ProductsFile, after?: ProductsFile): {added: string[]; removed: string[]} {
	const was = versionsOf(before);
	const is = versionsOf(after);
	return {added: [...is].filter(v => !was.has(v)), removed: [...was].filter(v => !is.has(v))};
}

/** `run` (a one-shot dry run, or a -N the receipt did not stop), then what it changes against the streams on disk before it. */
export async function reportingChanges(root: string, emit: Emit, run: () => Promise<GenerateResult>): Promise<GenerateResult> {
	const before = (await readProducts(root, productsPath)).decoded;
	const result = await run();
	emit({type: 'versions-changed', ...versionChanges(before, result.catalog.products)});
	return result;
}
