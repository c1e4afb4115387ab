// An import's plan, settled from metadata.yaml and the given fields, or with the operator (the
// wizard, handed in as `choose`): what the library's planImport returns (source/index.ts).
import {realpath, rm} from 'node:fs/promises';
import type {Requirements} from '../domain/requirements.js';
import type {ScannedProduct} from '../domain/tree.js';
import type {ToldScan} from '../pipeline/rescan.js';
import {printable} from '../util/printable.js';
import type {Lock} from '../util/lock.js';
import {settleMetadata} from './bare.js';
import {findImage} from './find.js';
import type {Found} from './found.js';
import type {ImportPlan} from './plan.js';
import {fieldNames, fieldProblem, missingFields, propose, type Choices, type FieldName, type Fields} from './propose.js';
import {preparePlan, type PrepareOptions} from './prepare.js';

export type ChooseContext = {
	found: Found;
	products: ScannedProduct[];
	root: string;
	/** What metadata.yaml and the given fields propose. */
	given: {fields: Partial<Fields>; requirements: Requirements; aliases: string[]};
	/** The plan for some choices against the tree as it is now. */
	prepare: (choices: Choices) => Promise<ImportPlan>;
};

export type PlanImportOptions = {
	/** The directory a build left the image in. */
	source: string;
	root: string;
	/** Fields given instead of taken from metadata.yaml. */
	fields: Partial<Fields>;
	requirements: Requirements;
	aliases: string[];
	/** Copy the files and keep them in `source` (default: move them). */
	copy: boolean;
	/** Replace the version if it exists. */
	force: boolean;
	/** Settles the choices with the operator; without it metadata.yaml and `fields` must. The plan, or undefined when the operator left. */
	choose?: (context: ChooseContext) => Promise<ImportPlan | undefined>;
	/** The plan is to be carried out (importImage): made under the root's lock, which it holds from then on. */
	write?: boolean;
};

/**
 * What a plan to be carried out holds: the root's lock, taken before the scan the plan is made from
 * and kept to the end of the import's publish (none beside a watcher, which holds it), and that scan,
 * which the publish goes on from.
 */
export type HeldRoot = {lock?: Lock; scanned: ToldScan};

/**
 * A planned import of a unified or bare image holds the files made for it in plan.found.scratch, a
 * dot-directory in the root: they are moved into place by importImage, and the directory is the
 * caller's to remove when it is done (or does not import).
 */
export type PlanImportResult =
	| {outcome: 'planned'; plan: ImportPlan; held?: HeldRoot}
	/** Fields neither the image (`from`, printable) nor the given fields tell. */
	| {outcome: 'missing'; fields: FieldName[]; from: string}
	/** `fields`: a field is invalid; `plan`: the plan refuses (a version that exists, a taken alias …). */
	| {outcome: 'refused'; why: 'fields' | 'plan'; problems: string[]}
	| {outcome: 'cancelled'};

/**
 * The plan against `products`, the root's as the scan found them. The root must exist (util/root.ts
 * checks it first): an import files into a web root, it does not make one.
 */
export async function settleImport(options: PlanImportOptions, products: ScannedProduct[]): Promise<PlanImportResult> {
	const root = await realpath(options.root);
	const found = await findImage(options.source, {scratchIn: root});
	let result: PlanImportResult | undefined;
	try {
		result = await settle(found, root, products, options);
		return result;
	} finally {
		if (result?.outcome !== 'planned' && found.scratch) {
			await rm(found.scratch, {recursive: true, force: true});
		}
	}
}

async function settle(found: Found, root: string, products: ScannedProduct[], options: PlanImportOptions): Promise<PlanImportResult> {
	const prepareOptions: PrepareOptions = {root, products, copy: options.copy, force: options.force};
	const prepare = async (choices: Choices) => preparePlan(await settleMetadata(found, choices.fields), choices, prepareOptions);
	if (options.choose) {
		const plan = await options.choose({found, products, root, given: {fields: propose(found, options.fields), requirements: options.requirements, aliases: options.aliases}, prepare});
		return plan ? {outcome: 'planned', plan} : {outcome: 'cancelled'};
	}

	const proposed = propose(found, options.fields);
	const missing = missingFields(proposed);
	if (missing.length > 0) {
		return {outcome: 'missing', fields: missing, from: found.meta.written ? `the bare image in ${printable(found.dir)}` : printable(found.meta.origin ?? found.meta.name)};
	}

	const fields = proposed as Fields;
	const problems = fieldNames.map(name => fieldProblem(name, fields[name], found)).filter(p => p !== undefined);
	if (problems.length > 0) {
		return {outcome: 'refused', why: 'fields', problems};
	}

	const plan = await prepare({fields, requirements: options.requirements, aliases: options.aliases});
	return plan.problems.length > 0 ? {outcome: 'refused', why: 'plan', problems: plan.problems} : {outcome: 'planned', plan};
}
