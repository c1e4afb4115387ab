// Pure: the images both clients derive, as one row per image (an image both see alike is one row),
// and the rows a list's terms pick; report/list.ts writes them as a table, JSON or CSV.
import {allClients, type Client} from '../streams/ftypes.js';
import {compareText} from '../util/compare.js';
import type {ClientImage} from './derive.js';

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
		const requirements = Object.fromEntries(Object.entries(image.requirements).sort(([a], [b]) => compareText(a, b)));
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

/**
 * Terms of `list ROOT TERM...`, all of which a row must match (case aside): `key=value` on a field
 * (os, release, arch, variant, version, type — container or vm), otherwise part of an alias or of
 * os/release/arch/variant, or the start of the fingerprint.
 */
export function filterImages(rows: readonly ListedImage[], terms: readonly string[]): ListedImage[] {
	const matches = (row: ListedImage, term: string) => {
		const wanted = term.toLowerCase();
		const equals = wanted.indexOf('=');
		if (equals > 0) {
			const key = wanted.slice(0, equals);
			const value = wanted.slice(equals + 1);
			const field = key === 'type' ? (row.type === 'container' ? 'container' : 'vm') : (row as unknown as Record<string, unknown>)[key];
			return typeof field === 'string' && (field.toLowerCase() === value || (key === 'type' && row.type === value));
		}

		return row.fingerprint.startsWith(wanted) || [...row.aliases, `${row.os}/${row.release}/${row.arch}/${row.variant}`].some(name => name.toLowerCase().includes(wanted));
	};

	return rows.filter(row => terms.every(term => matches(row, term)));
}
