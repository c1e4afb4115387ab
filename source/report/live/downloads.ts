// A mirror's downloads on the live screen (pure; time is passed in): a row per file on its way
// (bar, bytes, rate, time left), the files that arrived folded into a count, and the total. The
// publishing that follows is the usual tree (reporter.tsx), with these downloads' summary under it.
import type {MirrorEvent} from '../../mirror/events.js';
import {formatBytes} from '../../util/format.js';
import {printable} from '../../util/printable.js';
import {fit, type Line} from './layout.js';
import {Transfers} from './transfers.js';

export class Downloads {
	url = '';
	/** Files this pass fetches. */
	files = 0;
	fetched = 0;
	refused = 0;
	placed = 0;
	outcome?: 'done' | 'cancelled' | 'failed';
	private readonly transfers = new Transfers();
	private fetchedBytes = 0;

	apply(event: MirrorEvent, now: number): void {
		switch (event.type) {
			case 'upstream-read': {
				this.url = printable(event.url);
				break;
			}

			case 'fetching': {
				this.files = event.files;
				this.transfers.begin(event.bytes, now);
				break;
			}

			case 'download-started': {
				this.transfers.start(event.path, event.path, event.size, event.resumedFrom, now);
				break;
			}

			case 'download-progress': {
				this.transfers.progress(event.path, event.done, now);
				break;
			}

			case 'downloaded':
			case 'download-failed': {
				this.transfers.end(event.path, now);
				if (event.type === 'downloaded') {
					this.fetched++;
					this.fetchedBytes += event.size;
				} else {
					this.refused++;
				}

				break;
			}

			case 'version-placed': {
				this.placed++;
				break;
			}

			default: {
				break;
			}
		}
	}

	/** The downloads' screen, `height` lines at most. */
	lines(width: number, height: number, now: number): Line[] {
		const header: Line = [{text: this.outcome === undefined ? '↓ ' : '✓ ', color: 'cyan'}, {text: `mirror of ${this.url}`, bold: true}];
		return [header, ...this.transfers.rows(width, Math.max(0, height - 4), now), this.count(), this.transfers.totalLine(now, this.outcome !== undefined)].map(line => fit(line, width));
	}

	private count(): Line {
		return [{text: `✓ ${this.fetched} of ${this.files} files fetched`, color: 'green'},
			...(this.refused > 0 ? [{text: ` · ✗ ${this.refused} refused`, color: 'red' as const}] : [])];
	}

	/** Under the publishing's tree: what the downloads came to. */
	summary(): Line[] {
		return [[{text: `↓ ${this.url}: ${this.fetched} files fetched (${formatBytes(this.fetchedBytes)}), ${this.placed} versions placed`, color: 'gray'},
			...(this.refused > 0 ? [{text: `, ${this.refused} files refused`, color: 'red' as const}] : [])]];
	}
}
