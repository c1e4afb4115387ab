// A mirror's downloads on the live screen (pure; time is passed in): a row per file on its way
// (bar, bytes, rate, time left), the files that arrived folded into a count, and the total. The
// publishing that follows is the usual tree (reporter.tsx), with these downloads' summary under it.
import type {MirrorEvent} from '../../mirror/events.js';
import {formatBytes} from '../../util/format.js';
import {cells} from '../cells.js';
import {printable} from '../printable.js';
import {bar, barWidth, eta, fit, lineLength, rate, truncateMiddle, type Line} from './layout.js';
import {Rate} from './rates.js';

type Download = {path: string; size: number; done: number; rate: Rate};

const left = (remaining: number, perSecond: number | undefined) => (perSecond ? `${eta((remaining * 1000) / perSecond)} left` : '');

export class Downloads {
	url = '';
	/** Files and bytes this pass fetches (bytes an earlier pass left count as done). */
	files = 0;
	bytes = 0;
	fetched = 0;
	refused = 0;
	placed = 0;
	outcome?: 'done' | 'cancelled' | 'failed';
	private readonly active = new Map<string, Download>();
	/** Bytes of the files that arrived or failed, and what came over the wire in all. */
	private settled = 0;
	private received = 0;
	private fetchedBytes = 0;
	private readonly total = new Rate();

	apply(event: MirrorEvent, now: number): void {
		switch (event.type) {
			case 'upstream-read': {
				this.url = printable(event.url);
				break;
			}

			case 'fetching': {
				this.files = event.files;
				this.bytes = event.bytes;
				this.total.add(now, 0);
				break;
			}

			case 'download-started': {
				const download = {path: printable(event.path), size: event.size, done: event.resumedFrom, rate: new Rate()};
				download.rate.add(now, download.done);
				this.active.set(event.path, download);
				break;
			}

			case 'download-progress': {
				const download = this.active.get(event.path);
				if (download) {
					this.received += event.done - download.done;
					download.done = event.done;
					download.rate.add(now, event.done);
					this.total.add(now, this.received);
				}

				break;
			}

			case 'downloaded':
			case 'download-failed': {
				const download = this.active.get(event.path);
				this.active.delete(event.path);
				this.settled += download?.size ?? 0;
				if (event.type === 'downloaded') {
					this.fetched++;
					this.fetchedBytes += download?.size ?? 0;
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

	/** Bytes done: files settled, and what the files on their way hold. */
	private done(): number {
		return this.settled + [...this.active.values()].reduce((n, d) => n + d.done, 0);
	}

	/** The downloads' screen, `height` lines at most. */
	lines(width: number, height: number, now: number): Line[] {
		const header: Line = [{text: this.outcome === undefined ? '↓ ' : '✓ ', color: 'cyan'}, {text: `mirror of ${this.url}`, bold: true}];
		const rows = [...this.active.values()].map(download => this.row(download, width, now));
		const room = Math.max(0, height - 4);
		const shown = rows.length > room ? [...rows.slice(0, Math.max(0, room - 1)), [{text: `  … ${rows.length - room + 1} more on their way`, color: 'gray' as const}]] : rows;
		return [header, ...shown, this.count(), this.totalLine(now)].map(line => fit(line, width));
	}

	/** The richest status that leaves the name eight cells. */
	private row(download: Download, width: number, now: number): Line {
		const pct = `${download.size > 0 ? Math.floor((download.done * 100) / download.size) : 100}%`.padStart(4);
		const perSecond = download.rate.perSecond(now);
		const bytes = `${formatBytes(download.done)} of ${formatBytes(download.size)}`;
		const speed = `${rate(perSecond)}  ${left(download.size - download.done, perSecond)}`;
		const statuses: Line[] = [
			[...bar(download.done, download.size, barWidth(width)), {text: ` ${pct}  ${bytes}  ${speed}`}],
			[{text: `${pct}  ${bytes}  ${speed}`}],
			[{text: `${pct}  ${speed}`}],
			[{text: pct}],
		];
		const status = statuses.find(candidate => 2 + 8 + 1 + lineLength(candidate) <= width) ?? statuses.at(-1)!;
		const name = truncateMiddle(download.path, Math.max(8, width - 3 - lineLength(status)));
		return [{text: '  '}, {text: name}, {text: ' '.repeat(Math.max(1, width - 2 - cells(name) - lineLength(status)))}, ...status];
	}

	private count(): Line {
		return [{text: `✓ ${this.fetched} of ${this.files} files fetched`, color: 'green'},
			...(this.refused > 0 ? [{text: ` · ✗ ${this.refused} refused`, color: 'red' as const}] : [])];
	}

	private totalLine(now: number): Line {
		const done = this.done();
		const perSecond = this.total.perSecond(now);
		return [{text: `total ${formatBytes(done)} of ${formatBytes(this.bytes)} · ${rate(perSecond)}${this.outcome === undefined && perSecond ? ` · ${left(this.bytes - done, perSecond)}` : ''}`}];
	}

	/** Under the publishing's tree: what the downloads came to. */
	summary(): Line[] {
		return [[{text: `↓ ${this.url}: ${this.fetched} files fetched (${formatBytes(this.fetchedBytes)}), ${this.placed} versions placed`, color: 'gray'},
			...(this.refused > 0 ? [{text: `, ${this.refused} files refused`, color: 'red' as const}] : [])]];
	}
}
