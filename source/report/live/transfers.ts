// Files on their way (a mirror's downloads, a publish's uploads) on the live screen (pure; time is
// passed in): a row per file (bar, bytes, rate, time left), those past the room folded into a line,
// and the total with its rate and time left. What each list counts and says is its own
// (downloads.ts, uploads.ts).
import {formatBytes} from '../../util/format.js';
import {cells} from '../cells.js';
import {printable} from '../../util/printable.js';
import {bar, barWidth, eta, lineLength, rate, truncateMiddle, type Line} from './layout.js';
import {Rate} from './rates.js';

type Transfer = {path: string; size: number; done: number; rate: Rate};

const timeLeft = (remaining: number, perSecond: number | undefined) => (perSecond ? `${eta((remaining * 1000) / perSecond)} left` : '');

export class Transfers {
	/** Bytes the whole list moves (bytes an earlier attempt left count as done). */
	bytes = 0;
	private readonly active = new Map<string, Transfer>();
	/** Bytes of the files that ended, and what moved in all (over the wire: not what an earlier attempt left). */
	private settled = 0;
	private moved = 0;
	private readonly total = new Rate();

	/** The list starts moving `bytes` now. */
	begin(bytes: number, now: number): void {
		this.bytes = bytes;
		this.total.add(now, this.moved);
	}

	/** A file on its way, `done` bytes of it there already. */
	start(key: string, path: string, size: number, done: number, now: number): void {
		const transfer = {path: printable(path), size, done, rate: new Rate()};
		transfer.rate.add(now, done);
		this.active.set(key, transfer);
	}

	progress(key: string, done: number, now: number): void {
		const transfer = this.active.get(key);
		if (transfer) {
			this.moved += done - transfer.done;
			transfer.done = done;
			transfer.rate.add(now, done);
			this.total.add(now, this.moved);
		}
	}

	/** A file arrived or failed: its row goes. `size` counts a file that had no row (it went in one piece). */
	end(key: string, now: number, size = 0): void {
		const transfer = this.active.get(key);
		this.active.delete(key);
		if (!transfer) {
			this.moved += size;
		}

		this.settled += transfer?.size ?? size;
		this.total.add(now, this.moved);
	}

	has(key: string): boolean {
		return this.active.has(key);
	}

	/** Bytes done: files settled, and what the files on their way hold. */
	done(): number {
		return this.settled + [...this.active.values()].reduce((n, t) => n + t.done, 0);
	}

	/** A row per file on its way, at most `room` lines. */
	rows(width: number, room: number, now: number): Line[] {
		const rows = [...this.active.values()].map(transfer => this.row(transfer, width, now));
		return rows.length > room ? [...rows.slice(0, Math.max(0, room - 1)), [{text: `  … ${rows.length - room + 1} more on their way`, color: 'gray' as const}]] : rows;
	}

	/** The richest status that leaves the name eight cells. */
	private row(transfer: Transfer, width: number, now: number): Line {
		const pct = `${transfer.size > 0 ? Math.floor((transfer.done * 100) / transfer.size) : 100}%`.padStart(4);
		const perSecond = transfer.rate.perSecond(now);
		const bytes = `${formatBytes(transfer.done)} of ${formatBytes(transfer.size)}`;
		const speed = `${rate(perSecond)}  ${timeLeft(transfer.size - transfer.done, perSecond)}`;
		const statuses: Line[] = [
			[...bar(transfer.done, transfer.size, barWidth(width)), {text: ` ${pct}  ${bytes}  ${speed}`}],
			[{text: `${pct}  ${bytes}  ${speed}`}],
			[{text: `${pct}  ${speed}`}],
			[{text: pct}],
		];
		const status = statuses.find(candidate => 2 + 8 + 1 + lineLength(candidate) <= width) ?? statuses.at(-1)!;
		const name = truncateMiddle(transfer.path, Math.max(8, width - 3 - lineLength(status)));
		return [{text: '  '}, {text: name}, {text: ' '.repeat(Math.max(1, width - 2 - cells(name) - lineLength(status)))}, ...status];
	}

	/** `total X of Y · rate · time left` (no time left once `finished`). */
	totalLine(now: number, finished: boolean): Line {
		const done = this.done();
		const perSecond = this.total.perSecond(now);
		return [{text: `total ${formatBytes(done)} of ${formatBytes(this.bytes)} · ${rate(perSecond)}${!finished && perSecond ? ` · ${timeLeft(this.bytes - done, perSecond)}` : ''}`}];
	}
}
