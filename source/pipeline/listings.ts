// What a version directory held, kept in a -N run's receipt so that the next run over an unchanged
// tree stats the directory instead of reading it: one system call instead of five (open, fstat, two
// getdents, close) a version (bench/RESULTS.md).
//
// A directory's mtime and ctime move whenever a name in it is added, removed or renamed, but only
// as finely as the filesystem stamps them: two changes within one tick (a second on ext2/3 and
// HFS+, two on FAT, a clock tick of Linux on the rest) can leave the same stamps, and a listing
// taken between them would look current for ever after. As git's racy-index rule does, a listing
// is kept only when the directory's stamps are older than the scan by more than any tick: a change
// made after the scan started is stamped later than that, so it moves them. The stamps compared
// are the filesystem's and the scan's start is this machine's clock: on a network filesystem whose
// server's clock is behind this one's by more than that margin, a version directory changed twice
// within one of the server's ticks could be listed stale until it changes again.
import {readdirSync, statSync, type Stats} from 'node:fs';
import {fileRoles} from '../domain/ftypes.js';
import {requirementFiles} from '../domain/requirements.js';
import {compareText} from '../util/compare.js';

/** How much older than the scan a directory's stamps must be for its listing to be kept: FAT's two-second stamps, and a second to spare. */
export const settledMs = 3000;

/**
 * The names a version's scan acts on (image files by role, and requirements files, misplaced
 * there), in the order a sorted listing has them. A listing holds which of them are there as one
 * bit each, not their names, which raised the peak of a run (bench/RESULTS.md).
 */
const looked = [...fileRoles.map(f => f.name), ...requirementFiles].sort(compareText);
const bits = new Map(looked.map((name, index) => [name, 2 ** index]));
/** The names of each set of bits seen, shared by all directories holding the same names. */
const namesOfBits = new Map<number, readonly string[]>();

function namesOf(present: number): readonly string[] {
	let names = namesOfBits.get(present);
	if (!names) {
		names = looked.filter(name => (present & bits.get(name)!) !== 0);
		namesOfBits.set(present, names);
	}

	return names;
}

/** A listing's numbers, in this order, from `numbers[at]` on: the directory's dev, ino, mtimeMs and ctimeMs, and which names the scan acts on are in it (a bit each, in `looked`'s order). */
const fields = 5;

/**
 * Listings as a receipt keeps them: for each product directory with any, its version directories'
 * names joined by `/` (which no name holds), and the numbers of all of them in one array, `fields` a
 * name, in that order. The numbers are the receipt's binary part, read back with no parsing
 * (receipt.ts); read as JSON, they were most of the time a receipt took to read (bench/RESULTS.md).
 */
export type StoredListings = {products: Array<[path: string, names: string]>; numbers: Float64Array};

/** Whether `listings` (a receipt's JSON part) has the form of StoredListings' products. */
export const validProducts = (products: unknown): products is StoredListings['products'] =>
	Array.isArray(products) && products.every(p => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string' && p[1] !== '');

/** One product's listings in the last receipt: its names, where its numbers start, and the name the scan is likely to ask for next. */
type Listed = {path: string; names: string[]; start: number; next: number};
/** One product's listings kept by this scan. */
type Kept = {path: string; names: string[]; numbers: number[]};

/**
 * The listings of one scan's version directories: reused from the last receipt's where the
 * directory's stat still shows them, and those fit to keep for the next.
 */
export class Listings {
	private readonly settled: number;
	private readonly last = new Map<string, Listed>();
	private readonly numbers: Float64Array;
	/** The product the scan is in: its versions are asked for one after another, in the order they were kept. */
	private listed?: Listed;
	private readonly kept = new Map<string, Kept>();
	private keeping?: Kept;
	private read = false;

	/** `last`: the receipt's listings; any that do not add up are none. */
	constructor(last?: StoredListings, now = Date.now()) {
		this.settled = now - settledMs;
		let start = 0;
		for (const [path, joined] of last?.products ?? []) {
			const names = joined.split('/');
			this.last.set(path, {path, names, start, next: 0});
			start += names.length * fields;
		}

		if (start !== last?.numbers.length) {
			this.last.clear();
		}

		this.numbers = last?.numbers ?? new Float64Array(0);
	}

	/**
	 * The names in the version directory `name` of the product directory `product` (at `absolute`),
	 * sorted, or those of them the scan acts on (all it reads). Throws what stat or readdir throws.
	 */
	names(absolute: string, product: string, name: string, sort: (names: string[]) => string[]): readonly string[] {
		const stats = statSync(absolute);
		const at = this.find(product, name);
		const n = this.numbers;
		if (at !== undefined && this.holds(at, stats)) {
			this.keep(product, name).push(n[at]!, n[at + 1]!, n[at + 2]!, n[at + 3]!, n[at + 4]!);
			return namesOf(n[at + 4]!);
		}

		const names = sort(readdirSync(absolute));
		if (stats.mtimeMs < this.settled && stats.ctimeMs < this.settled) {
			let present = 0;
			for (const listed of names) {
				present |= bits.get(listed) ?? 0;
			}

			this.keep(product, name).push(stats.dev, stats.ino, stats.mtimeMs, stats.ctimeMs, present);
			this.read = true;
		}

		return names;
	}

	/** Whether this scan kept a listing it read, not one the last receipt held. */
	get learned(): boolean {
		return this.read;
	}

	/** What this scan may hand on: listings of directories whose stamps are older than the scan by the margin. */
	stored(): StoredListings {
		const kept = [...this.kept.values()];
		const numbers = new Float64Array(kept.reduce((sum, product) => sum + product.numbers.length, 0));
		let start = 0;
		for (const product of kept) {
			numbers.set(product.numbers, start);
			start += product.numbers.length;
		}

		return {products: kept.map(product => [product.path, product.names.join('/')]), numbers};
	}

	/** Where the last receipt's listing of `name` in `product` starts in its numbers. */
	private find(product: string, name: string): number | undefined {
		if (this.listed?.path !== product) {
			this.listed = this.last.get(product);
		}

		const {listed} = this;
		if (!listed) {
			return undefined;
		}

		// Usually the next one: a product's versions are listed in the order the last scan kept them.
		const index = listed.names[listed.next] === name ? listed.next : listed.names.indexOf(name);
		if (index === -1) {
			return undefined;
		}

		listed.next = index + 1;
		return listed.start + (index * fields);
	}

	private holds(at: number, stats: Stats): boolean {
		const n = this.numbers;
		const present = n[at + 4]!;
		return n[at + 3] === stats.ctimeMs && n[at + 2] === stats.mtimeMs && n[at + 1] === stats.ino && n[at] === stats.dev
			&& Number.isInteger(present) && present >= 0 && present < 2 ** looked.length;
	}

	/** Keep the listing of `name` in `product`: its numbers go into the array returned. */
	private keep(product: string, name: string): number[] {
		if (this.keeping?.path !== product) {
			this.keeping = this.kept.get(product);
			if (!this.keeping) {
				this.keeping = {path: product, names: [], numbers: []};
				this.kept.set(product, this.keeping);
			}
		}

		this.keeping.names.push(name);
		return this.keeping.numbers;
	}
}
