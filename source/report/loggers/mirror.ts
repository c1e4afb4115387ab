// The mirror for a terminal, a service or a pipe: timestamped plain lines on stderr (downloads, the
// versions placed or refused, then the publishing as the watcher's log tells it), or one JSON object
// per event on stdout for log shippers.
import type {Writable} from 'node:stream';
import type {MirrorEvent} from '../../mirror/events.js';
import type {PipelineEvent} from '../../pipeline/events.js';
import {formatBytes, formatDuration, formatRate} from '../../util/format.js';
import {isMirrorEvent} from '../event-kinds.js';
import {jsonLine, lineWriter} from '../../util/printable.js';
import {jsonLog} from './json.js';
import {plainLog} from './plain-watch.js';

export type MirrorLogEvent = MirrorEvent | PipelineEvent;

const at = (epochMs: number) => new Date(epochMs).toISOString();

function plainLine(event: MirrorEvent | PipelineEvent): string | undefined {
	switch (event.type) {
		case 'upstream-read': {
			return `upstream ${event.url}: ${event.products} products, ${event.versions} versions`;
		}

		case 'mirror-skipped': {
			return `not mirrored ${event.where}: ${event.reason}`;
		}

		case 'fetching': {
			return `fetching ${event.files} files (${formatBytes(event.bytes)})`;
		}

		case 'download-started': {
			return `fetching ${event.path} (${formatBytes(event.size)}${event.resumedFrom > 0 ? `, resuming after ${formatBytes(event.resumedFrom)}` : ''})`;
		}

		case 'downloaded': {
			const fetched = event.size - event.resumedFrom;
			return `fetched ${event.path}: ${formatBytes(fetched)} in ${formatDuration(event.milliseconds)} (${formatRate(fetched, event.milliseconds)}), size and sha256 checked`;
		}

		case 'download-failed': {
			return `refused ${event.path} from ${event.url}: ${event.reason}`;
		}

		case 'version-placed': {
			return `placed ${event.path}`;
		}

		case 'version-refused': {
			return `not published ${event.path}: ${event.reason}`;
		}

		case 'pass-failed': {
			return `mirror pass failed, the mirror is as it was: ${event.reason}; next pass at ${at(event.nextAt)}`;
		}

		case 'pass-finished': {
			return `mirror pass done: ${event.placed} placed, ${event.refused} refused, ${event.retiring} retiring; next pass at ${at(event.nextAt)}`;
		}

		case 'hash-finished': {
			// Files the fetch checked are known to the digest cache: what is hashed here is what it did not fetch.
			return event.files > 0 ? `hashed ${event.files} files (${formatBytes(event.bytes)})` : undefined;
		}

		case 'cataloged': {
			return `catalog: ${event.versions} versions, ${event.images.lxd} images for LXD, ${event.images.incus} for Incus`;
		}

		case 'written': {
			return event.changed ? `wrote ${event.path}` : undefined;
		}

		default: {
			return undefined;
		}
	}
}

export function mirrorLog(format: 'plain' | 'json'): (event: MirrorLogEvent) => void {
	if (format === 'json') {
		const pipeline = jsonLog(process.stdout);
		return event => {
			if (!isMirrorEvent(event)) {
				pipeline(event);
			} else if (event.type !== 'download-progress') {
				process.stdout.write(jsonLine({time: new Date().toISOString(), ...event}));
			}
		};
	}

	const out: Writable = process.stderr;
	const line = lineWriter(out, () => `${new Date().toISOString()} `);
	const pipeline = plainLog(out);
	return event => {
		const text = plainLine(event);
		if (text !== undefined) {
			line(text);
		} else if (!isMirrorEvent(event)) {
			pipeline(event);
		}
	};
}
