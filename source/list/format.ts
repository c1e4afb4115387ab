// Pure: the images both clients derive, as one row per image (an image both see alike is one row),
// written as a table, JSON or CSV.
import {cells, padCells} from '../report/cells.js';
import {printable} from '../report/printable.js';
import {allClients, type Client} from '../streams/ftypes.js';
import {formatBytes} from '../util/format.js';
import type {ClientImage} from './derive.js';
import type {ListFormat} from './formats.js';

export type ListedImage = {
	aliases: string[];
	fingerprint: string;
	type: 'container' | 'virtual-machine';
	arch: string;
	version: string;
	size: number;
	os: string;
	release: string;
	variant: string;
	requirements: Record<string, string>;
	/** The clients that see this image, as here. */
	clients: Client[];
	/** Versions a client holding which downloads a delta instead of the full rootfs. */
	deltaFrom: string[];
	product: string;
};

export function listedImages(images: readonly ClientImage[]): ListedImage[] {
	const rows = new Map<string, ListedImage>();
	for (const image of images) {
		const requirements = Object.fromEntries(Object.entries(image.requirements).sort(([a], [b]) => (a < b ? -1 : 1)));
		// The same image with the same aliases and requirements for both clients is one row.
		const key = JSON.stringify([image.fingerprint, image.type, image.aliases, requirements]);
		const row = rows.get(key);
		if (row) {
			row.clients.push(image.client);
			continue;
		}

		rows.set(key, {
			aliases: image.aliases, fingerprint: image.fingerprint, type: image.type, arch: image.arch, version: image.version, size: image.size,
			os: image.os, release: image.release, variant: image.variant, requirements, clients: [image.client],
			deltaFrom: [...new Set(image.deltas.map(d => d.base))].sort(), product: image.product,
		});
	}

	// Clients list in their sort order (both agree on it); keep LXD's before Incus's for one image.
	return [...rows.values()].map(row => ({...row, clients: allClients.filter(c => row.clients.includes(c))}));
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
	['CLIENTS', row => row.clients.map(c => (c === 'lxd' ? 'LXD' : 'Incus')).join(', ')],
];

const csvField = (value: string) => (/[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

export function formatList(rows: readonly ListedImage[], format: ListFormat): string {
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

			// Names come from the streams: no control character reaches the terminal.
			const table = [columns.map(([title]) => title), ...rows.map(row => columns.map(([, cell]) => printable(cell(row))))];
			const widths = columns.map((_, at) => Math.max(...table.map(line => cells(line[at]!))));
			return table.map(line => line.map((cell, at) => padCells(cell, widths[at]!)).join('  ').trimEnd()).join('\n') + '\n';
		}
	}
}
