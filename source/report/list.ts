// `list` as a table fitted to a terminal, JSON or CSV: the rows list/listed.ts made.
import {formatBytes} from '../util/format.js';
import type {ListedImage} from '../list/listed.js';
import type {ListFormat} from '../list/formats.js';
import {clientLabel} from '../streams/ftypes.js';
import {cells, cut, padCells} from './cells.js';
import {printable} from '../util/printable.js';

/** The shortest alias and how many more, as `incus image list` shows them in a terminal. */
function someAliases(aliases: readonly string[]): string {
	if (aliases.length <= 1) {
		return aliases[0] ?? '-';
	}

	const shortest = aliases.reduce((best, alias) => (cells(alias) < cells(best) ? alias : best));
	return `${shortest} (${aliases.length - 1} more)`;
}

const columns: Array<[string, (row: ListedImage) => string]> = [
	['ALIAS', row => row.aliases.join(', ') || '-'],
	['FINGERPRINT', row => row.fingerprint.slice(0, 12)],
	['TYPE', row => (row.type === 'container' ? 'CONTAINER' : 'VM')],
	['ARCH', row => row.arch],
	['VERSION', row => row.version],
	['SIZE', row => formatBytes(row.size)],
	['OS/RELEASE/VARIANT', row => `${row.os}/${row.release}/${row.variant}`],
	['REQUIREMENTS', row => Object.entries(row.requirements).map(([k, v]) => `${k}=${v}`).join(', ') || '-'],
	['DELTA FROM', row => row.deltaFrom.join(', ') || '-'],
	['CLIENTS', row => row.clients.map(client => clientLabel[client]).join(', ')],
];

/** Left out first when a terminal is too narrow for the table: what --format json still gives. */
const droppable = ['DELTA FROM', 'CLIENTS', 'REQUIREMENTS', 'OS/RELEASE/VARIANT', 'SIZE'];

const csvField = (value: string) => (/[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

/** With `width` (a terminal's), the table fits it: aliases as incus shows them, then columns left out, then lines cut. */
export function formatList(rows: readonly ListedImage[], format: ListFormat, width?: number): string {
	switch (format) {
		case 'json': {
			return `${JSON.stringify(rows, undefined, 1)}\n`;
		}

		case 'csv': {
			const header = ['aliases', 'fingerprint', 'type', 'arch', 'version', 'size', 'os', 'release', 'variant', 'requirements', 'delta_from', 'clients', 'product'];
			const lines = rows.map(row => [row.aliases.join(','), row.fingerprint, row.type, row.arch, row.version, String(row.size), row.os, row.release, row.variant,
				Object.entries(row.requirements).map(([k, v]) => `${k}=${v}`).join(','), row.deltaFrom.join(','), row.clients.join(','), row.product]);
			return [header, ...lines].map(line => line.map(field => csvField(field)).join(',')).join('\n') + '\n';
		}

		case 'table': {
			if (rows.length === 0) {
				return 'no images: the streams publish nothing either client would list\n';
			}

			return width === undefined ? table(rows, columns) : fitted(rows, width);
		}
	}
}

function table(rows: readonly ListedImage[], shown: typeof columns): string {
	// Names come from the streams: no control character reaches the terminal.
	const lines = [shown.map(([title]) => title), ...rows.map(row => shown.map(([, cell]) => printable(cell(row))))];
	const widths = shown.map((_, at) => Math.max(...lines.map(line => cells(line[at]!))));
	return lines.map(line => line.map((cell, at) => padCells(cell, widths[at]!)).join('  ').trimEnd()).join('\n') + '\n';
}

const widest = (text: string) => Math.max(...text.split('\n').map(line => cells(line)));

function fitted(rows: readonly ListedImage[], width: number): string {
	let shown = columns.map(([title, cell]): (typeof columns)[number] => (title === 'ALIAS' ? [title, row => someAliases(row.aliases)] : [title, cell]));
	const left: string[] = [];
	for (const title of droppable) {
		if (widest(table(rows, shown)) <= width) {
			break;
		}

		shown = shown.filter(([name]) => name !== title);
		left.push(title);
	}

	const lines = table(rows, shown).trimEnd().split('\n').map(line => (cells(line) > width ? `${cut(line, width - 1)}…` : line));
	const note = left.length > 0 ? wrap(`(--format json shows all; left out at this width: ${left.reverse().join(', ')})`, width) : [];
	return [...lines, ...note].join('\n') + '\n';
}

/** `text` in lines of at most `width` cells, broken at spaces. */
function wrap(text: string, width: number): string[] {
	const lines: string[] = [];
	for (const word of text.split(' ')) {
		const last = lines.at(-1);
		if (last !== undefined && cells(`${last} ${word}`) <= width) {
			lines[lines.length - 1] = `${last} ${word}`;
		} else {
			lines.push(word);
		}
	}

	return lines;
}
