// A publish to a bucket told in plain lines, for the run's plain reporter and the watcher's plain
// log alike: each upload as it finishes, and while large files go up a progress line (bytes, rate,
// ETA) at most every two seconds. A dry run's plan goes to `plan` (stdout: what would be sent).
import type {PublishEvent} from '../../publish/events.js';
import {formatBytes, formatDuration, formatRate} from '../../util/format.js';

const progressEveryMs = 2000;

export type PublishLines = {
	emit(event: PublishEvent): void;
	/** Whether the tree is being sent: a stop now aborts the upload, and the bucket's streams stay. */
	readonly sending: boolean;
};

export function publishLines(line: (text: string) => void, plan: (text: string) => void, dryRun: boolean): PublishLines {
	let planned = 0;
	const done = new Map<string, number>();
	let started = 0;
	let shown = 0;
	let sending = false;
	const emit = (event: PublishEvent) => {
		switch (event.type) {
			case 'bucket-read': {
				sending = true;
				line(`${event.target}: ${event.objects} objects under images/ (${formatBytes(event.bytes)})`);
				break;
			}

			case 'upload-aborted': {
				(dryRun ? plan : line)(`${dryRun ? 'would abort' : 'aborted'} an unfinished upload of ${event.key}${event.initiated ? ` (started ${event.initiated})` : ''}`);
				break;
			}

			case 'lock-taken-over': {
				line(`took over ${event.key}: ${event.reason}`);
				break;
			}

			case 'upload-planned': {
				planned += event.size;
				if (dryRun) {
					plan(`would upload ${event.key} (${formatBytes(event.size)}, ${event.reason === 'missing' ? 'not in the bucket' : 'the bucket holds another file'})`);
				}

				break;
			}

			case 'unreferenced': {
				(dryRun ? plan : line)(`${event.objects} objects under images/ (${formatBytes(event.bytes)}) are in no stream and nobody retired them here: left in place (${event.examples.join(', ')}${event.objects > event.examples.length ? ', …' : ''})`);
				break;
			}

			case 'bucket-retired': {
				(dryRun ? plan : line)(`${dryRun ? 'would retire' : 'retired'} in the bucket: ${event.key} (${event.objects} objects, ${formatBytes(event.bytes)}), deleted after ${event.deleteAfter}`);
				break;
			}

			case 'bucket-retirement-pending': {
				(dryRun ? plan : line)(`kept in the bucket until ${event.deleteAfter}: ${event.key} (${event.objects} objects, ${formatBytes(event.bytes)})`);
				break;
			}

			case 'bucket-restored': {
				(dryRun ? plan : line)(`${dryRun ? 'would publish' : 'published'} again, out of the bucket's retirement record: ${event.key}`);
				break;
			}

			case 'object-deleted': {
				(dryRun ? plan : line)(`${dryRun ? 'would delete' : 'deleted'} ${event.key} (${formatBytes(event.size)}, past its grace)`);
				break;
			}

			case 'object-kept': {
				(dryRun ? plan : line)(`${dryRun ? 'would keep' : 'kept'} ${event.key}: ${event.reason}`);
				break;
			}

			case 'upload-progress': {
				if (event.done === 0) {
					break; // A file starting: the lines tell bytes sent.
				}

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
				sending = false;
				planned = 0;
				done.clear();
				started = 0;
				(dryRun ? plan : line)(event.dryRun
					? `dry run: would upload ${event.uploaded} files (${formatBytes(event.bytes)}) to ${event.target} and delete ${event.deleted} objects (${formatBytes(event.deletedBytes)}); nothing sent or deleted (add -N to publish)`
					: `published to ${event.target}: ${event.uploaded} files uploaded (${formatBytes(event.bytes)}), ${event.deleted} objects deleted (${formatBytes(event.deletedBytes)}) in ${formatDuration(event.milliseconds)}`);
				break;
			}
		}
	};

	return {
		emit,
		get sending() {
			return sending;
		},
	};
}
