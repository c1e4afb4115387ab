// The `--watch` status under the live tree (pure; wall-clock time is passed in): what is watched
// since when, what the last regeneration did, and what the watcher is doing or waiting for now.
import {clock, formatBytes, formatDuration} from '../../util/format.js';
import type {WatchEvent} from '../../watch/events.js';
import {printable} from '../../util/printable.js';
import type {Line, Segment} from './layout.js';

type Last = Extract<WatchEvent, {type: 'regenerated'}> & {at: number};

export class WatchStatus {
	root = '';
	since?: number;
	last?: Last;
	/** What the watcher does now; `failure` stays until a regeneration succeeds. */
	state: {kind: 'starting' | 'idle' | 'stopped' | 'root-missing'} | {kind: 'regenerating'; reason: string; changes: number} = {kind: 'starting'};
	failure?: string;
	/** A rescan asked for while idle (SIGHUP, lost events): the regeneration it starts follows. */
	rescan?: string;
	/** Versions held back until they settle, by path: when each is due (epoch ms). */
	private settling = new Map<string, number>();
	private seen = new Map<string, number>();

	apply(event: WatchEvent, now: number): void {
		switch (event.type) {
			case 'watching': {
				this.root = printable(event.root);
				this.since = now;
				break;
			}

			case 'regenerating': {
				this.state = {kind: 'regenerating', reason: printable(event.reason), changes: event.changes};
				this.rescan = undefined;
				this.seen = new Map();
				break;
			}

			case 'settling': {
				this.seen.set(event.path, event.readyAt);
				break;
			}

			case 'regenerated': {
				this.last = {...event, at: now};
				this.failure = undefined;
				this.settling = this.seen;
				this.state = {kind: 'idle'};
				break;
			}

			case 'regeneration-failed': {
				this.failure = printable(event.message);
				this.state = {kind: 'idle'};
				break;
			}

			case 'rescan': {
				this.rescan = printable(event.reason);
				break;
			}

			case 'root-missing': {
				this.state = {kind: 'root-missing'};
				break;
			}

			case 'root-back': {
				this.state = {kind: 'idle'};
				break;
			}

			case 'stopped': {
				this.state = {kind: 'stopped'};
				break;
			}

			default: {
				break;
			}
		}
	}

	/** Watching since; the last regeneration (and the versions it added or removed); the state now, with the keys that work. */
	lines(now: number, keys: boolean): Line[] {
		const gray = (text: string): Segment => ({text, color: 'gray'});
		const watching: Line = [gray('watching '), {text: this.root, bold: true}, ...(this.since === undefined ? [] : [gray(` since ${clock(this.since)} (${formatDuration(now - this.since)})`)])];
		const last: Line[] = this.last ? regenerated(this.last) : [[gray('no regeneration finished yet')]];
		const pending = [...this.settling.values()].filter(at => at > now);
		const state: Line = this.state.kind === 'regenerating'
			? [{text: `↻ regenerating: ${this.state.reason}${this.state.changes > 0 ? ` (${this.state.changes} change${this.state.changes === 1 ? '' : 's'})` : ''}`, color: 'cyan'}]
			: this.state.kind === 'root-missing' ? [{text: `✗ ${this.root} is gone; waiting for it to come back (streams left as they were)`, color: 'red'}]
				: this.state.kind === 'stopped' ? [gray('stopped')]
					: this.failure ? [{text: `✗ last regeneration failed, previous streams kept: ${this.failure}`, color: 'red'}]
						: this.rescan ? [{text: `↻ rescan pending: ${this.rescan}`, color: 'cyan'}]
							: pending.length > 0 ? [{text: `◦ settling: ${pending.length} version${pending.length === 1 ? '' : 's'} until ${clock(Math.max(...pending), true)}`, color: 'yellow'}]
								: [{text: this.state.kind === 'idle' ? '✓ idle' : '· starting', color: this.state.kind === 'idle' ? 'green' : 'gray'}];
		if (this.state.kind !== 'stopped') {
			state.push(gray(keys ? ' · ↑↓ j/k scroll · esc follow · q stops watching' : ' · Ctrl-C stops watching'));
		}

		return [watching, ...last, state];
	}
}

/** The numbers on one line, the versions it added or removed (if any) on the next. */
function regenerated(last: Last): Line[] {
	const names = [...last.added.map(v => `+${v}`), ...last.removed.map(v => `-${v}`)].map(v => printable(v));
	return [[
		{text: 'last regeneration ', color: 'gray'}, {text: clock(last.at, true)}, {text: ` in ${formatDuration(last.milliseconds)} · `, color: 'gray'},
		{text: `+${last.added.length} -${last.removed.length}`, bold: true, color: names.length > 0 ? 'green' : undefined},
		...(last.retired + last.deleted > 0 ? [{text: ` · -${last.retired} retired, ${last.deleted} deleted (${formatBytes(last.deletedBytes)})`, color: 'yellow' as const}] : []),
		{text: ` · ${last.images.lxd} images for LXD, ${last.images.incus} for Incus · `, color: 'gray'},
		{text: last.streamsChanged ? 'streams updated' : 'streams unchanged', color: last.streamsChanged ? 'green' : 'gray'},
	], ...(names.length > 0 ? [[{text: `  ${names.slice(0, 3).join(', ')}${names.length > 3 ? `, … (${names.length} in all)` : ''}`, color: 'gray' as const}]] : [])];
}
