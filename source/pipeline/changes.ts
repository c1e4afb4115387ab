// What a run changes in what clients list: the versions it publishes (or a dry run would) that the
// streams on disk do not, and those they hold that it drops, each named `product version`.
import type {Product} from '../streams/model.js';
import {productsPath} from '../streams/paths.js';
import {readProducts} from '../streams/read.js';
import type {Emit} from './events.js';
import {versionNames} from './memory.js';
import type {GenerateResult} from './stages.js';

/**
 * A products file as far as what changes is concerned: each product's entry, or, for the file on
 * disk, only the names of its versions (its entries, parsed, are hundreds of MB of a large tree's).
 */
export type Listed = {readonly products: Readonly<Record<string, Product | readonly string[]>>};

const namesOf = (listed: Product | readonly string[]): readonly string[] => ('versions' in listed ? versionNames(listed) : listed);

/** The names of the versions of each product in the products file on disk, if it can be read. */
export async function publishedVersions(root: string): Promise<Listed | undefined> {
	const {decoded} = await readProducts(root, productsPath);
	return decoded && {products: Object.fromEntries(Object.entries(decoded.products).map(([id, product]) => [id, versionNames(product)]))};
}

/** The versions of `products` that `other` lacks; a product that is the same entry in both (a watcher keeps those it did not rebuild) is not looked into. */
function missing(products: Listed | undefined, other: Listed | undefined): string[] {
	return Object.entries(products?.products ?? {}).flatMap(([id, product]) => {
		const there = other?.products[id];
		if (there === product) {
			return [];
		}

		const theirs = new Set(there ? namesOf(there) : []);
		return namesOf(product).filter(version => !theirs.has(version)).map(version => `${id} ${version}`);
	});
}

export function versionChanges(before?: Listed, after?: Listed): {added: string[]; removed: string[]} {
	return {added: missing(after, before), removed: missing(before, after)};
}

/**
 * The products file on disk as it was before a run: read and decoded only when the run replaces it
 * (or, dry, would), which is told by `replacing`; otherwise it publishes what the run does.
 */
export class PublishedBefore {
	private replaced = false;
	private before?: Listed;

	constructor(private readonly root: string) {}

	async replacing(): Promise<void> {
		this.replaced = true;
		this.before = await publishedVersions(this.root);
	}

	changes(after: Listed): {added: string[]; removed: string[]} {
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
