// --deltas: delta files in the web root that are not published any more. A version's delta is from
// the version before it; when that one is removed (or another comes between), the file stays,
// unused, as big as a tenth of a rootfs. Pointed out, never removed: deleting is the operator's
// call.
import {readdirSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {warning} from '../domain/reasons.js';
import {formatBytes} from '../util/format.js';
import type {DeltaOptions} from './delta-options.js';
import type {DeltaJob} from './delta.js';
import type {Emit} from './events.js';
import type {PlannedProduct} from './plan.js';

/** `delta-BASE.vcdiff` (squashfs) and `delta-BASE.qcow2.vcdiff` (VM disk), as delta.ts names them. */
const deltaName = /^delta-(.+?)(\.qcow2)?\.vcdiff$/;

/**
 * Warn of each delta file of a published version that no delta wanted now (`jobs`) is: its base
 * left. One whose base is a version still settling (held) is not counted: it comes back. Returns
 * their absolute paths (a receipt pins them: removing one changes what a run reports).
 */
export function leftoverDeltas(planned: readonly PlannedProduct[], jobs: readonly DeltaJob[], root: string, options: DeltaOptions, emit: Emit): string[] {
	const wanted = new Set(jobs.map(job => job.path));
	const leftovers: string[] = [];
	for (const {versions, held} of planned) {
		const settling = new Set(held?.map(version => version.name));
		for (const {version} of versions) {
			let names: string[];
			try {
				names = readdirSync(join(root, version.path)).sort();
			} catch {
				continue; // Gone since the scan: the next run sees that.
			}

			for (const name of names) {
				const [, base, vm] = deltaName.exec(name) ?? [];
				const path = `${version.path}/${name}`;
				if (base === undefined || wanted.has(path) || settling.has(base)) {
					continue;
				}

				const absolute = join(root, path);
				const size = statSync(absolute, {throwIfNoEntry: false})?.size ?? 0;
				const why = vm && !options.vm ? 'VM disk deltas are published with --vm-deltas only' : `${base} is not the version before ${version.name} any more`;
				emit({type: 'warning', path, ...warning('delta-leftover', why, formatBytes(size))});
				leftovers.push(absolute);
			}
		}
	}

	return leftovers;
}
