// The watcher for log shippers: one JSON object per event, on one line each.
import type {Writable} from 'node:stream';
import type {WatchEmit, WatchEvent} from '../../watch/events.js';
import {jsonLine} from '../printable.js';

/** Per-file progress is for screens; logs get the outcome. */
const unlogged = new Set<WatchEvent['type']>(['progress', 'queued', 'found', 'scan-started', 'cached', 'delta-progress', 'delta-queued']);

export function jsonLog(out: Writable): WatchEmit {
	return event => {
		if (!unlogged.has(event.type)) {
			out.write(jsonLine({time: new Date().toISOString(), ...event}));
		}
	};
}
