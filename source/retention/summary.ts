// The plan of `prune`, `remove` and `restore` as text (stdout): what leaves the streams now, what is
// deleted now, what later and when, and the space each frees. Made from the run's events, so a dry
// run and -N print it alike.
import {formatBytes} from '../util/format.js';
import type {RetentionEvent} from './events.js';

const isRetention = (event: {type: string}): event is RetentionEvent => ['retired', 'retirement-pending', 'deleted', 'restored'].includes(event.type);

export function collectRetention(events: RetentionEvent[]) {
	return (event: {type: string}) => {
		if (isRetention(event)) {
			events.push(event);
		}
	};
}

export function formatSummary(events: readonly RetentionEvent[], write: boolean): string {
	const lines: string[] = [];
	const section = <T extends RetentionEvent['type']>(type: T, title: string, line: (event: Extract<RetentionEvent, {type: T}>) => string) => {
		const chosen = events.filter((e): e is Extract<RetentionEvent, {type: T}> => e.type === type);
		if (chosen.length > 0) {
			lines.push(title, ...chosen.map(event => `  ${line(event)}`));
		}
	};

	section('restored', write ? 'restored (published again):' : 'restore (published again):', e => e.path);
	section('retired', write ? 'retired (left the streams):' : 'retire now (leaves the streams):', e => `${e.path}  ${formatBytes(e.bytes)}  ${e.why}; files deleted after ${e.deleteAfter}`);
	section('deleted', write ? 'deleted (past their grace):' : 'delete now (past their grace):', e => `${e.path}  ${formatBytes(e.bytes)}`);
	section('retirement-pending', 'delete later:', e => `${e.path}  ${formatBytes(e.bytes)}  after ${e.deleteAfter}`);
	const now = events.reduce((sum, e) => sum + (e.type === 'deleted' ? e.bytes : 0), 0);
	const later = events.reduce((sum, e) => sum + (e.type === 'retired' || e.type === 'retirement-pending' ? e.bytes : 0), 0);
	lines.push(lines.length === 0 ? 'nothing to retire, restore or delete' : `${write ? 'freed' : 'frees'} ${formatBytes(now)} now, ${formatBytes(later)} later`);
	if (!write) {
		lines.push('dry run: nothing changed (add -N to carry out this plan)');
	}

	return `${lines.join('\n')}\n`;
}
