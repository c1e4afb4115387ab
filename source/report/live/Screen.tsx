import {Transform} from 'ink';
import type {Line, Segment} from './layout.js';

const codes: Record<NonNullable<Segment['color']>, number> = {green: 32, cyan: 36, yellow: 33, red: 31, gray: 90};

/** One line as text with SGR colours (none when NO_COLOR is set). */
export function paint(line: Line, color = !process.env['NO_COLOR']): string {
	return line.map(({text, color: hue, bold}) => {
		const sgr = [bold ? 1 : undefined, hue ? codes[hue] : undefined].filter(code => code !== undefined);
		return color && sgr.length > 0 ? `\u001B[${sgr.join(';')}m${text}\u001B[0m` : text;
	}).join('');
}

/**
 * Draws lines laid out by layout.ts, where every decision about what fits was made. Ink measures
 * each distinct text it is given with a slow Unicode width function and caches it forever, so the
 * screen is one constant placeholder line per row, each replaced by its painted line on output:
 * a frame costs a few milliseconds and memory stays flat however long the job runs.
 */
export function Screen({lines}: {lines: readonly Line[]}) {
	const painted = lines.map(line => paint(line));
	return <Transform transform={(_, row) => painted[row] ?? ''}>{' \n'.repeat(Math.max(0, painted.length - 1)) + ' '}</Transform>;
}
