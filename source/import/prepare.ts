// An import's plan for the operator's choices against the web root as it is now: what the
// destination holds (destination.ts), then the pure plan (plan.ts).
import type {ScannedProduct} from '../domain/tree.js';
import {inspectDestination, takenAliases} from './destination.js';
import type {Found} from './found.js';
import {planImport, type ImportPlan} from './plan.js';
import {productId, type Choices} from './propose.js';

export type PrepareOptions = {root: string; products: readonly ScannedProduct[]; copy: boolean; force: boolean};

/** The plan for these choices against the tree as it is now. */
export async function preparePlan(found: Found, choices: Choices, options: PrepareOptions): Promise<ImportPlan> {
	const destination = await inspectDestination(options.root, choices.fields);
	const existingVersions = options.products.find(p => p.ref.id === productId(choices.fields))?.versions.map(v => v.name) ?? [];
	return planImport(found, choices, destination, {...options, existingVersions, taken: takenAliases(options.products, choices.fields)});
}
