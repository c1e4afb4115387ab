import {mkdir, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {Listings, settledMs, type StoredListings} from '../source/pipeline/listings.js';
import {compareText} from '../source/util/compare.js';
import {tempDir} from './helpers/fixtures.js';

const product = 'images/acme/1.0/amd64/default';
const name = '20240101_0000';
const sort = (names: string[]) => names.sort(compareText);

/** A version directory, and the listing a scan keeps of it (its stamps taken as settled: `later` is past the margin). */
async function listed(t: Parameters<typeof tempDir>[0]) {
	const absolute = path.join(await tempDir(t, 'ss-listings'), name);
	await mkdir(absolute);
	for (const file of ['lxd.tar.xz', 'root.squashfs', 'notes.txt']) {
		await writeFile(path.join(absolute, file), 'x');
	}

	const later = Date.now() + settledMs + 1000;
	const first = new Listings(undefined, later);
	const names = first.names(absolute, product, name, sort);
	const stored = first.stored();
	t.deepEqual(names, ['lxd.tar.xz', 'notes.txt', 'root.squashfs']);
	t.is(stored.numbers.length, 5);
	/** What the next scan lists there with `numbers` in place of the stored ones. */
	const next = (numbers: Float64Array) => new Listings({products: stored.products, numbers}, later).names(absolute, product, name, sort);
	return {stored, next};
}

const altered = (stored: StoredListings, at: number, value: number) => {
	const numbers = stored.numbers.slice();
	numbers[at] = value;
	return numbers;
};

test('a kept listing serves while the directory\'s stat holds: the names it holds, not a new reading', async t => {
	const {stored, next} = await listed(t);
	t.deepEqual(next(stored.numbers), ['lxd.tar.xz', 'root.squashfs']);
	// Which names are there is taken from the receipt as it is: another valid set is believed.
	const present = stored.numbers[4]!;
	t.deepEqual(next(altered(stored, 4, present & (present - 1))), ['root.squashfs']);
});

test('a receipt\'s numbers that are no listing of the directory are not trusted: it is read again', async t => {
	const {stored, next} = await listed(t);
	const read = ['lxd.tar.xz', 'notes.txt', 'root.squashfs'];
	// Which names are there: past the names looked at, negative, a fraction, not a number.
	for (const present of [2 ** 31, 2 ** 40, -1, 0.5, Number.NaN]) {
		t.deepEqual(next(altered(stored, 4, present)), read, `present ${present}`);
	}

	// Its identity: another device, inode or stamp.
	for (const at of [0, 1, 2, 3]) {
		t.deepEqual(next(altered(stored, at, stored.numbers[at]! + 1)), read, `field ${at}`);
	}

	// Written on a machine of the other byte order, cut short by a number, one number too many.
	const swapped = new Float64Array(new Uint8Array(stored.numbers.buffer).slice().reverse().buffer).reverse();
	t.deepEqual(next(swapped), read);
	t.deepEqual(next(stored.numbers.subarray(0, 4)), read);
	const longer = new Float64Array(6);
	longer.set(stored.numbers);
	t.deepEqual(next(longer), read);
});
