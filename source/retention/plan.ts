// The retention plan (pure): what leaves the streams now, what is deleted now, what later and when.
// It knows nothing of where the files are (a directory here, a bucket for `--to`); act.ts carries it
// out on a directory.
import type {RetiredFile, Retired, RetirementRecord} from './record.js';

/** Something to retire now, with the files that are to be deleted after the grace. */
export type Retiring = Pick<Retired, 'kind' | 'path' | 'product' | 'why' | 'files'>;

export type RetentionPlan = {
	/** Leave the streams now (new entries of the record). */
	retire: Retired[];
	/** Past their grace: their files are deleted now. */
	deleteNow: Retired[];
	/** Retired, deleted after their grace. */
	later: Retired[];
	/** The record once the plan is carried out: deleteNow entries gone (until a deletion fails). */
	record: RetirementRecord;
};

export const bytesOf = (files: readonly RetiredFile[]) => files.reduce((sum, file) => sum + file.size, 0);

/**
 * `retiring` joins the record with `graceMs` to go; one already retired keeps the sooner of its own
 * deletion time and that one (so `remove --grace 0` deletes a version retired yesterday at once).
 */
export function planRetention(record: RetirementRecord, retiring: readonly Retiring[], now: number, graceMs: number): RetentionPlan {
	const deleteAfter = new Date(now + graceMs).toISOString();
	const entries = new Map(record.retired.map(entry => [entry.path, entry]));
	const retire: Retired[] = [];
	for (const item of retiring) {
		const known = entries.get(item.path);
		if (known) {
			entries.set(item.path, Date.parse(deleteAfter) < Date.parse(known.deleteAfter) ? {...known, deleteAfter} : known);
			continue;
		}

		const entry: Retired = {...item, retiredAt: new Date(now).toISOString(), deleteAfter};
		entries.set(item.path, entry);
		retire.push(entry);
	}

	const all = [...entries.values()];
	const due = (entry: Retired) => Date.parse(entry.deleteAfter) <= now;
	return {
		retire,
		deleteNow: all.filter(due),
		later: all.filter(entry => !due(entry)),
		record: {...record, retired: all.filter(entry => !due(entry))},
	};
}

/** When the next entry falls due (epoch ms), if any is waiting. */
export function nextDeletion(plan: Pick<RetentionPlan, 'later'>): number | undefined {
	const times = plan.later.map(entry => Date.parse(entry.deleteAfter));
	return times.length > 0 ? Math.min(...times) : undefined;
}

/** Product (`images/os/release/arch/variant`) or version paths: their entries leave the record. */
export function restore(record: RetirementRecord, paths: readonly string[]): {record: RetirementRecord; restored: Retired[]} {
	const matches = (entry: Retired) => paths.some(path => entry.path === path || entry.path.startsWith(`${path}/`));
	return {record: {...record, retired: record.retired.filter(entry => !matches(entry))}, restored: record.retired.filter(entry => matches(entry))};
}
