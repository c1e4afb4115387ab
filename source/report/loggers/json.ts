// The watcher for log shippers: one JSON object per event, on one line each. A problem that
// persists is logged once, not again at every regeneration (as the plain log does).
import type {Writable} from 'node:stream';
import type {WatchEmit, WatchEvent} from '../../watch/events.js';
import {jsonLine} from '../../util/printable.js';

/** Per-file progress is for screens; logs get the outcome. */
const unlogged = new Set<WatchEvent['type']>(['progress', 'upload-progress', 'queued', 'found', 'scan-started', 'cached', 'delta-progress', 'delta-queued']);

/** Events that say what is wrong with the tree: the same ones come at every regeneration until it is fixed. */
const problems = new Set<WatchEvent['type']>(['skipped', 'warning', 'delta-skipped', 'settling']);

/** Durations in whole milliseconds: the rest is noise to a log. */
const rounded = (key: string, value: unknown) => (key === 'milliseconds' && typeof value === 'number' ? Math.round(value) : value);

export function jsonLog(out: Writable): WatchEmit {
	let reported = new Set<string>();
	let current = new Set<string>();
	return event => {
		if (event.type === 'regenerating') {
			current = new Set();
		} else if (event.type === 'regenerated') {
			reported = current;
		}

		if (unlogged.has(event.type)) {
			return;
		}

		if (problems.has(event.type)) {
			const key = JSON.stringify(event.type === 'settling' ? {type: event.type, path: event.path} : event);
			current.add(key);
			if (reported.has(key)) {
				return;
			}
		}

		out.write(jsonLine({time: new Date().toISOString(), ...event}, rounded));
	};
}
