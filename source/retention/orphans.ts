// Delta files nobody publishes (pipeline/delta-leftovers.ts finds them) retire like a version: a -N
// run records each with its grace when it is first seen, and retain.ts deletes it once that has
// passed. One published again (its base back, --deltas on again) leaves the record. A dry run only
// says what -N would retire.
import {warning} from '../domain/reasons.js';
import {formatBytes} from '../util/format.js';
import type {RetentionEmit} from './events.js';
import {fileAt} from './files.js';
import {nextDeletion, planRetention} from './plan.js';
import {readRecord, writeRecord} from './record.js';
import {defaultGraceMs} from './retain.js';

/** A delta file no delta of this run is: relative to the web root, why, and its size. */
export type Leftover = {path: string; why: string; size: number};

/**
 * `leftovers`: the delta files not published now; `published`: those that are. `write`: the caller
 * holds the root's lock. Returns when the first one retired now falls due (epoch ms), if any did.
 */
export async function retireLeftovers(root: string, leftovers: readonly Leftover[], published: readonly string[], options: {write: boolean; graceMs?: number; now?: number}, emit: RetentionEmit): Promise<number | undefined> {
	const record = await readRecord(root);
	// Held by the record as an entry or as a file of one (a delta whose base version retired).
	const recorded = new Set(record.retired.flatMap(entry => [entry.path, ...entry.files.map(file => file.path)]));
	const fresh = leftovers.filter(leftover => !recorded.has(leftover.path));
	if (!options.write) {
		for (const {path, why, size} of fresh) {
			emit({type: 'warning', path, ...warning('delta-leftover', why, formatBytes(size))});
		}

		return undefined;
	}

	const again = new Set(published);
	const back = record.retired.filter(entry => entry.kind === 'orphan' && again.has(entry.path));
	const kept = record.retired.filter(entry => !back.includes(entry));
	const retiring = fresh.flatMap(({path, why}) => {
		const file = fileAt(root, path);
		return file ? [{kind: 'orphan' as const, path, why, files: [file]}] : [];
	});
	const {retire} = planRetention({...record, retired: kept}, retiring, options.now ?? Date.now(), options.graceMs ?? defaultGraceMs);
	if (back.length === 0 && retire.length === 0) {
		return undefined;
	}

	await writeRecord(root, {...record, retired: [...kept, ...retire]});
	for (const entry of back) {
		emit({type: 'restored', path: entry.path});
	}

	for (const entry of retire) {
		emit({type: 'retired', path: entry.path, why: entry.why, bytes: entry.files[0]!.size, deleteAfter: entry.deleteAfter});
	}

	return nextDeletion({later: retire});
}
