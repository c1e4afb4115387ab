// A publish to a bucket told in plain lines: each upload as it finishes, and while large files go up
// a progress line (bytes, rate, ETA) at most every two seconds. A dry run's plan goes to `plan`.
import type {Writable} from 'node:stream';
import {lineWriter} from '../report/printable.js';
import {formatBytes, formatDuration, formatRate} from '../util/format.js';
import type {PublishEmit} from './events.js';

const progressEveryMs = 2000;

export function publishLines(out: Writable, plan: Writable, dryRun: boolean): PublishEmit {
	const toOut = lineWriter(out);
	const toPlan = lineWriter(plan);
	const line = (text: string, to = out) => (to === plan ? toPlan : toOut)(text);
	let planned = 0;
	const done = new Map<string, number>();
	let started = 0;
	let shown = 0;
	return event => {
		switch (event.type) {
			case 'bucket-read': {
				line(`${event.target}: ${event.objects} objects under images/ (${formatBytes(event.bytes)})`);
				break;
			}

			case 'upload-aborted': {
				line(`${dryRun ? 'would abort' : 'aborted'} an unfinished upload of ${event.key}${event.initiated ? ` (started ${event.initiated})` : ''}`, dryRun ? plan : out);
				break;
			}

			case 'lock-taken-over': {
				line(`took over ${event.key}: ${event.reason}`);
				break;
			}

			case 'upload-planned': {
				planned += event.size;
				if (dryRun) {
					line(`would upload ${event.key} (${formatBytes(event.size)}, ${event.reason === 'missing' ? 'not in the bucket' : 'the bucket holds another file'})`, plan);
				}

				break;
			}

			case 'unreferenced': {
				line(`${event.objects} objects under images/ (${formatBytes(event.bytes)}) are no longer in the streams: left in place, nothing is deleted`, dryRun ? plan : out);
				break;
			}

			case 'upload-progress': {
				const now = performance.now();
				started ||= now;
				done.set(event.key, event.done);
				if (now - shown >= progressEveryMs) {
					shown = now;
					const sent = [...done.values()].reduce((sum, bytes) => sum + bytes, 0);
					const rate = sent / Math.max(now - started, 1);
					line(`uploading: ${formatBytes(sent)} of ${formatBytes(planned)} at ${formatRate(sent, now - started)}, ETA ${formatDuration((planned - sent) / Math.max(rate, 1e-9))}`);
				}

				break;
			}

			case 'uploaded': {
				done.set(event.key, event.size);
				line(`uploaded ${event.key} (${formatBytes(event.size)}, ${formatRate(event.size, event.milliseconds)})`);
				break;
			}

			case 'stream-published': {
				line(`${event.changed ? 'wrote' : 'unchanged'} ${event.key}`);
				break;
			}

			case 'published': {
				line(event.dryRun
					? `dry run: would upload ${event.uploaded} files (${formatBytes(event.bytes)}) to ${event.target}; nothing sent (add -N to publish)`
					: `published to ${event.target}: ${event.uploaded} files uploaded (${formatBytes(event.bytes)}) in ${formatDuration(event.milliseconds)}`, dryRun ? plan : out);
				break;
			}
		}
	};
}
