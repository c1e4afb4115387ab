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

/** A version directory's dev, ino, mtimeMs and ctimeMs, and which names the scan acts on are in it (a bit each, in `looked`'s order). */
export type Listing = [dev: number, ino: number, mtimeMs: number, ctimeMs: number, present: number];

function validListing(listing: unknown): listing is Listing {
	if (!Array.isArray(listing) || listing.length !== 5 || !listing.every(value => typeof value === 'number')) {
		return false;
	}

	const present = listing[4] as number;
	return Number.isInteger(present) && present >= 0 && present < 2 ** looked.length;
}

const holds = (listing: Listing, stats: Stats) =>
	listing[3] === stats.ctimeMs && listing[2] === stats.mtimeMs && listing[1] === stats.ino && listing[0] === stats.dev;

/**
 * The listings of one scan's version directories, by path (`images/…/VERSION`): reused from the
 * last receipt's where the directory's stat still shows them, and those fit to keep for the next.
 */
export class Listings {
	/** What this scan may hand on: listings of directories whose stamps are older than `settled`. */
	readonly kept: Record<string, Listing> = {};
	private readonly settled: number;

	/** `last`: the receipt's listings (anything, as read: each is checked when it is asked for). */
	constructor(private readonly last: Record<string, unknown> = {}, now = Date.now()) {
		this.settled = now - settledMs;
	}

	/**
	 * The names in the version directory at `absolute`, sorted, or those of them the scan acts on
	 * (all it reads). Throws what stat or readdir throws.
	 */
	names(absolute: string, path: string, sort: (names: string[]) => string[]): readonly string[] {
		const stats = statSync(absolute);
		const last = Object.hasOwn(this.last, path) ? this.last[path] : undefined;
		if (validListing(last) && holds(last, stats)) {
			this.kept[path] = last;
			return namesOf(last[4]);
		}

		const names = sort(readdirSync(absolute));
		if (stats.mtimeMs < this.settled && stats.ctimeMs < this.settled) {
			let present = 0;
			for (const name of names) {
				present |= bits.get(name) ?? 0;
			}

			this.kept[path] = [stats.dev, stats.ino, stats.mtimeMs, stats.ctimeMs, present];
		}

		return names;
	}
}
