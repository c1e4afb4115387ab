// --deltas: delta files in the web root that are not published any more. A version's delta is from
// the version before it; when that one is removed (or another comes between), the file stays,
// unused, as big as a tenth of a rootfs. Found here; retired (or, in a dry run, pointed out) by
// retention/orphans.ts.
import {readdirSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {deltaName} from '../retention/files.js';
import type {Leftover} from '../retention/orphans.js';
import type {DeltaOptions} from './delta-options.js';
import type {DeltaJob} from './delta.js';
import type {PlannedProduct} from './plan.js';

/**
 * Each delta file of a published version that no delta wanted now (`jobs`) is: its base left. One
 * whose base is a version still settling (held) is not counted: it comes back.
 */
export function leftoverDeltas(planned: readonly PlannedProduct[], jobs: readonly DeltaJob[], root: string, options: DeltaOptions): Leftover[] {
	const wanted = new Set(jobs.map(job => job.path));
	const leftovers: Leftover[] = [];
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

				const size = statSync(join(root, path), {throwIfNoEntry: false})?.size ?? 0;
				const why = vm && !options.vm ? 'VM disk deltas are published with --vm-deltas only' : `${base} is not the version before ${version.name} any more`;
				leftovers.push({path, why, size});
			}
		}
	}

	return leftovers;
}
