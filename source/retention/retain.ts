// Retention between the scan and the rest of the pipeline, for every run over a directory root:
// versions in the retirement record are left out of the tree (they stay out of the streams although
// their files are there), what a policy or `remove` retires joins the record, and what is past its
// grace is deleted. A dry run reports the same plan and changes nothing.
import {lastWritten, type ScannedVersion, type Tree} from '../domain/tree.js';
import {UsageError} from '../util/errors.js';
import {deleteRetired} from './act.js';
import {versionFiles} from './files.js';
import {bytesOf, nextDeletion, planRetention, restore, type Retiring} from './plan.js';
import {chooseRetirements, hasPolicy, type Choice, type Policy} from './policy.js';
import {readRecord, writeRecord, type Retired} from './record.js';
import {publishedImages} from './published.js';
import {resolveTargets} from './targets.js';
import type {RetentionEmit} from './events.js';

export const defaultGraceMs = 6 * 3_600_000;

export type RetentionOptions = {
	policy?: Policy;
	/** How long retired files stay (default 6 h). */
	graceMs?: number;
	/** `remove`: products, versions or fingerprints (prefixes) to retire. */
	remove?: string[];
	/** `restore`: product or version paths whose retirement is undone. */
	restore?: string[];
};

export type Retained = {
	/** The tree without retired versions: what the rest of the pipeline publishes. */
	tree: Tree;
	/** When the next retired entry falls due for deletion (epoch ms). */
	nextDeletion?: number;
};

/** A version's files are complete enough to count for a policy: metadata and a rootfs (or a unified tarball) by their names, and at rest. */
const counts = (version: ScannedVersion, now: number, settleMs: number) =>
	((version.files.some(f => f.role.kind === 'meta') && version.files.some(f => f.role.kind === 'root')) || version.files.some(f => f.role.kind === 'unified'))
	&& now - lastWritten(version) >= settleMs;

async function choose(tree: Tree, options: RetentionOptions, now: number, settleMs: number): Promise<Choice[]> {
	const versions = tree.products.flatMap(p => p.versions);
	const chosen = hasPolicy(options.policy)
		? chooseRetirements(versions.filter(v => counts(v, now, settleMs)).map(v => ({product: v.product.id, name: v.name, path: v.path})), options.policy, now)
		: [];
	if (options.remove) {
		const {chosen: removed, problems} = resolveTargets(options.remove, versions.map(v => ({product: v.product.id, path: v.path})), await publishedImages(tree));
		if (problems.length > 0) {
			throw new UsageError(`nothing removed: ${problems.join('; ')}`);
		}

		chosen.push(...removed.filter(r => !chosen.some(c => c.path === r.path)));
	}

	return chosen;
}

const without = (tree: Tree, paths: ReadonlySet<string>): Tree => ({
	...tree,
	products: tree.products.map(product => ({...product, versions: product.versions.filter(v => !paths.has(v.path))})),
});

/**
 * `write`: the caller holds the root's lock; the record is written and due files deleted. `settleMs`:
 * versions written more recently do not count for a policy (the watcher's settle window).
 */
export async function retain(tree: Tree, options: {write: boolean; retention?: RetentionOptions; settleMs?: number; now?: number}, emit: RetentionEmit): Promise<Retained> {
	const now = options.now ?? Date.now();
	const retention = options.retention ?? {};
	let record = await readRecord(tree.root);
	let restored: Retired[] = [];
	if (retention.restore) {
		({record, restored} = restore(record, retention.restore));
		if (restored.length === 0) {
			throw new UsageError(`nothing restored: no retired version under ${retention.restore.join(', ')}`);
		}
	}

	const retired = new Set(record.retired.map(entry => entry.path));
	const live = without(tree, retired);
	const retiring: Retiring[] = (await choose(live, retention, now, options.settleMs ?? 0)).map(choice => {
		const product = tree.products.find(p => p.ref.id === choice.product)!;
		return {kind: 'version', path: choice.path, product: choice.product, why: choice.why, files: versionFiles(tree.root, product, choice.path)};
	});
	const plan = planRetention(record, retiring, now, retention.graceMs ?? defaultGraceMs);
	for (const entry of restored) {
		emit({type: 'restored', path: entry.path});
	}

	for (const entry of plan.retire) {
		emit({type: 'retired', path: entry.path, why: entry.why, bytes: bytesOf(entry.files), deleteAfter: entry.deleteAfter});
	}

	for (const entry of plan.later.filter(e => !plan.retire.includes(e))) {
		emit({type: 'retirement-pending', path: entry.path, bytes: bytesOf(entry.files), deleteAfter: entry.deleteAfter});
	}

	const changed = restored.length > 0 || plan.retire.length > 0 || plan.deleteNow.length > 0
		|| plan.later.some(entry => record.retired.find(e => e.path === entry.path)?.deleteAfter !== entry.deleteAfter);
	const left = new Set([...plan.later, ...plan.deleteNow].map(entry => entry.path));
	if (!options.write) {
		for (const entry of plan.deleteNow) {
			emit({type: 'deleted', path: entry.path, files: entry.files.length, bytes: bytesOf(entry.files)});
		}

		return {tree: without(tree, left), nextDeletion: nextDeletion(plan)};
	}

	if (changed) {
		// Recorded before anything is deleted: a run killed halfway leaves every version retired.
		await writeRecord(tree.root, {...plan.record, retired: [...plan.later, ...plan.deleteNow]});
		const failed: Retired[] = [];
		for (const entry of plan.deleteNow) {
			const rest = await deleteRetired(tree.root, entry, emit);
			if (rest) {
				failed.push(rest);
			}
		}

		if (plan.deleteNow.length > 0) {
			await writeRecord(tree.root, {...plan.record, retired: [...plan.later, ...failed]});
		}
	}

	return {tree: without(tree, left), nextDeletion: nextDeletion(plan)};
}
