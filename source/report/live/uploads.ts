// A publish's uploads to a bucket on the live screen (pure; time is passed in), under the tree that
// published the local root: the bucket, a row per file on its way (bar, bytes, rate, time
// left: transfers.ts, as for a mirror's downloads), the files sent, and the total with its rate and
// time left; once published, one line of what went up. A watcher's sends start it afresh.
import type {PublishEvent} from '../../publish/events.js';
import {formatBytes, formatDuration} from '../../util/format.js';
import {printable} from '../../util/printable.js';
import {fit, type Line} from './layout.js';
import {Transfers} from './transfers.js';

/** Rows for the files on their way, at most: the tree above keeps the rest of the screen. */
const rowRoom = 4;

export class Uploads {
	/** Whether a send is under way: a stop now aborts it, and the bucket's streams stay. */
	sending = false;
	cancelling = false;
	outcome?: 'done' | 'cancelled' | 'failed';
	private target = '';
	private files = 0;
	private uploaded = 0;
	private transfers = new Transfers();
	private published?: Extract<PublishEvent, {type: 'published'}>;

	constructor(private readonly dryRun: boolean) {}

	apply(event: PublishEvent, now: number): void {
		switch (event.type) {
			case 'bucket-read': {
				this.sending = true;
				this.cancelling = false;
				this.outcome = undefined;
				this.target = printable(event.target);
				this.files = 0;
				this.uploaded = 0;
				this.published = undefined;
				this.transfers = new Transfers();
				this.transfers.begin(0, now);
				break;
			}

			case 'upload-planned': {
				this.files++;
				this.transfers.bytes += event.size;
				break;
			}

			case 'upload-progress': {
				// A row for each file on its way; those sent in parts move with each part.
				if (!this.transfers.has(event.key)) {
					const path = event.key.startsWith(this.target) ? event.key.slice(this.target.length) : event.key;
					this.transfers.start(event.key, path, event.size, 0, now);
				}

				this.transfers.progress(event.key, event.done, now);
				break;
			}

			case 'uploaded': {
				this.uploaded++;
				this.transfers.end(event.key, now, event.size);
				break;
			}

			case 'published': {
				this.sending = false;
				this.published = event;
				break;
			}

			default: {
				break;
			}
		}
	}

	/** Under the tree: nothing before a send, `height` lines at most. */
	lines(width: number, now: number): Line[] {
		if (!this.target) {
			return [];
		}

		const {published} = this;
		if (published) {
			const deleted = published.deleted > 0 ? `, ${published.dryRun ? 'would delete ' : ''}${published.deleted} objects${published.dryRun ? '' : ' deleted'} (${formatBytes(published.deletedBytes)})` : '';
			const text = published.dryRun
				? `↑ ${this.target}: would upload ${published.uploaded} files (${formatBytes(published.bytes)})${deleted}; nothing sent (add -N to publish)`
				: `↑ published to ${this.target}: ${published.uploaded} files uploaded (${formatBytes(published.bytes)})${deleted} in ${formatDuration(published.milliseconds)}`;
			return [fit([{text, color: published.dryRun ? 'gray' : 'green'}], width)];
		}

		const header: Line = [{text: '↑ ', color: 'cyan'}, {text: `${this.dryRun ? 'would upload to' : 'uploading to'} ${this.target}`, bold: true}];
		const stopped: Line[] = this.outcome === 'cancelled' ? [[{text: '✗ cancelled: the upload is aborted, the bucket\'s streams are as they were', color: 'yellow'}]]
			: this.cancelling ? [[{text: 'cancelling: aborting the upload; the bucket\'s streams stay as they were', color: 'yellow'}]] : [];
		return [header, ...this.transfers.rows(width, rowRoom, now), this.count(), this.transfers.totalLine(now, this.outcome !== undefined), ...stopped].map(line => fit(line, width));
	}

	private count(): Line {
		return [{text: `✓ ${this.uploaded} of ${this.files} files uploaded`, color: 'green'}];
	}
}
