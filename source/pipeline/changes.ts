// What a run changes in what clients list: the versions it publishes (or a dry run would) that the
// streams on disk do not, and those they hold that it drops, each named `product version`.
import type {ProductsFile} from '../streams/model.js';
import {productsPath} from '../streams/paths.js';
import {readProducts} from '../streams/read.js';
import type {Emit} from './events.js';
import {versionNames} from './memory.js';
import type {GenerateResult} from './stages.js';

/** The versions of `products` that `other` lacks; a product that is the same entry in both (a watcher keeps those it did not rebuild) is not looked into. */
function missing(products: ProductsFile | undefined, other: ProductsFile | undefined): string[] {
	return Object.entries(products?.products ?? {}).flatMap(([id, product]) => {
		const there = other?.products[id];
		if (there === product) {
			return [];
		}

		const theirs = new Set(there ? versionNames(there) : []);
		return versionNames(product).filter(version => !theirs.has(version)).map(version => `${id} ${version}`);
	});
}

export function versionChanges(before?: ProductsFile, after?: ProductsFile): {added: string[]; removed: string[]} {
	return {added: missing(after, before), removed: missing(before, after)};
}

/**
 * The products file on disk as it was before a run: read and decoded only when the run replaces it
 * (or, dry, would), which is told by `replacing`; otherwise it publishes what the run does.
 */
export class PublishedBefore {
	private replaced = false;
	private before?: ProductsFile;

	constructor(private readonly root: string) {}

	async replacing(): Promise<void> {
		this.replaced = true;
		this.before = (await readProducts(this.root, productsPath)).decoded;
	}

	changes(after: ProductsFile): {added: string[]; removed: string[]} {
		return this.replaced ? versionChanges(this.before, after) : {added: [], removed: []};
	}
}

/** `run` (a one-shot dry run, or a -N the receipt did not stop), then what it changes against the streams on disk before it. */
export async function reportingChanges(root: string, emit: Emit, run: (before: PublishedBefore) => Promise<GenerateResult>): Promise<GenerateResult> {
	const before = new PublishedBefore(root);
	// Not awaited here: `run` holds what the run was given (a scanned tree), which the stages let go before their write.
	return run(before).then(result => {
		emit({type: 'versions-changed', ...before.changes(result.catalog.products)});
		return result;
	});
}
