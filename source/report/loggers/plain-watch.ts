// The watcher for a service or a pipe: timestamped plain lines, one per regeneration, plus each
// new problem once.
import type {Writable} from 'node:stream';
import {formatBytes, formatDuration} from '../../util/format.js';
import type {WatchEmit} from '../../watch/events.js';
import {changeLine} from '../changes.js';
import {isPublishEvent} from '../event-kinds.js';
import {lineWriter} from '../../util/printable.js';
import {publishLines} from './publish.js';

export function plainLog(out: Writable): WatchEmit {
	const line = lineWriter(out, () => `${new Date().toISOString()} `);
	// A problem that persists is said once, not at every regeneration for weeks.
	let reported = new Set<string>();
	let current = new Set<string>();
	const problem = (text: string) => {
		current.add(text);
		if (!reported.has(text)) {
			line(text);
		}
	};

	// --to: each regeneration sent on to the bucket.
	const publishing = publishLines(line, line, false);
	return event => {
		if (isPublishEvent(event)) {
			publishing.emit(event);
			return;
		}

		switch (event.type) {
			case 'watching': {
				line(`watching ${event.root} (changes settle for ${formatDuration(event.settleMs)})`);
				break;
			}

			case 'skipped': {
				problem(`skipped ${event.scope} ${event.path}: ${event.reason}`);
				break;
			}

			case 'warning': {
				problem(`warning ${event.path}: ${event.message}`);
				break;
			}

			case 'delta-made': {
				line(`delta ${event.path}: ${formatBytes(event.size)}, ${Math.round(event.fraction * 100)}% of the full file`);
				break;
			}

			case 'delta-skipped': {
				problem(`${event.problem ? 'skipped delta' : 'no delta'} ${event.path}: ${event.reason}`);
				break;
			}

			case 'retired': {
				line(`retired ${event.path} (${formatBytes(event.bytes)}): ${event.why}; files deleted after ${event.deleteAfter}`);
				break;
			}

			case 'deleted': {
				line(`deleted ${event.path}: ${event.files} files (${formatBytes(event.bytes)})`);
				break;
			}

			case 'settling': {
				problem(`waiting for ${event.path} to settle (changed moments ago)`);
				break;
			}

			case 'regenerating': {
				current = new Set();
				break;
			}

			case 'regenerated': {
				reported = current;
				const changes = ` ${changeLine(event.added, event.removed)}`;
				const hashed = event.hashedBytes > 0 ? `, hashed ${formatBytes(event.hashedBytes)}` : '';
				const retention = event.retired + event.deleted > 0 ? ` -${event.retired} retired, ${event.deleted} deleted (${formatBytes(event.deletedBytes)});` : '';
				line(`regenerated in ${formatDuration(event.milliseconds)}:${changes};${retention} ${event.images.lxd} images for LXD, ${event.images.incus} for Incus${hashed}; streams ${event.streamsChanged ? 'updated' : 'unchanged'}`);
				break;
			}

			case 'regeneration-failed': {
				line(`regeneration failed, previous streams kept: ${event.message}`);
				break;
			}

			case 'rescan': {
				line(`full rescan: ${event.reason}`);
				break;
			}

			case 'root-missing': {
				line(`${event.root} is gone; waiting for it to come back (streams left as they were)`);
				break;
			}

			case 'root-back': {
				line(`${event.root} is back; rescanning`);
				break;
			}

			case 'stopped': {
				line('stopped');
				break;
			}

			default: {
				break;
			}
		}
	};
}
