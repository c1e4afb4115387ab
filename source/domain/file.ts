// A file's identity (one state of its bytes) and what is known of those bytes before they are
// hashed: a digest holds only while the identity it was taken under does.
import type {Content} from './ftypes.js';

/**
 * What identifies one state of a file's bytes: any change to it invalidates a digest. Numbers as
 * Node's plain stats give them, not strings of its nanosecond BigInts, made for every file of every
 * run (bench/RESULTS.md). A time is Node's `sec * 1e3 + nsec / 1e6` milliseconds, a double that tells
 * apart stamps 0.24 µs apart until 2039 (0.49 µs until 2109). What it gives up is finer than a
 * stamp can move between a state hashed and the next: Linux stamps a change from its clock tick
 * (1-10 ms), or, on a filesystem that stamps finer, from a clock read after a stat saw the last
 * stamp; and the bytes hashed were read, by system calls of their own, after the stat that took
 * the identity. An inode above 2^53 is the nearest double: two that round alike are still told
 * apart by their ctimes (a file put in another's place was stamped when it was made or moved).
 * Read-only: one identity object is shared by the scan's tree and the digest cache's entry for the
 * file, so one changed in place would make the cache vouch for a state it never hashed.
 */
export type FileIdentity = {
	readonly dev: number;
	readonly ino: number;
	readonly size: number;
	readonly mtimeMs: number;
	readonly ctimeMs: number;
};

/**
 * Where each of an identity's numbers is, where one is held or hashed as numbers in a row (a
 * version the tree keeps as numbers, the receipt's key): one order for both, set here.
 */
export const identityField = {dev: 0, ino: 1, size: 2, mtimeMs: 3, ctimeMs: 4} as const;

/** How many numbers an identity is, held as numbers. */
export const identityNumbers = 5;

/** `identity`'s numbers into `numbers`, from `at` on, each where identityField says. */
export function putIdentity(numbers: number[] | Float64Array, at: number, identity: FileIdentity): void {
	numbers[at + identityField.dev] = identity.dev;
	numbers[at + identityField.ino] = identity.ino;
	numbers[at + identityField.size] = identity.size;
	numbers[at + identityField.mtimeMs] = identity.mtimeMs;
	numbers[at + identityField.ctimeMs] = identity.ctimeMs;
}

/**
 * `value` held in the object's own field when it is a small integer: Node's stats give every field
 * as a boxed double, 16 bytes of its own that an identity kept for each file of the tree (and its
 * digest cache entry) would keep too (bench/RESULTS.md). The same number either way.
 */
const inline = (value: number) => ((value | 0) === value ? value | 0 : value);

/** `stats`: Node's, or an identity's numbers as the tree holds them (domain/tree.ts). */
export const identityOf = (stats: FileIdentity): FileIdentity =>
	({dev: inline(stats.dev), ino: inline(stats.ino), size: inline(stats.size), mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs});

/** Whether two identities name one state; `b` may be a file's stats as they are now (no identity made of them). */
export const sameIdentity = (a: FileIdentity, b: FileIdentity) =>
	a.ctimeMs === b.ctimeMs && a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino && a.dev === b.dev;

/** Nanoseconds since the epoch as a decimal string (the digest cache's first format) in milliseconds, the very double Node's stats give for that time. */
export function millisecondsOf(nanoseconds: string): number {
	const ns = BigInt(nanoseconds);
	// Node splits a time as the kernel does: whole seconds (negative before 1970) and 0 ≤ ns < 1e9.
	let seconds = ns / 1_000_000_000n;
	if (ns < 0n && seconds * 1_000_000_000n !== ns) {
		seconds -= 1n;
	}

	return (Number(seconds) * 1e3) + (Number(ns - (seconds * 1_000_000_000n)) / 1e6);
}

/**
 * What is known of a file's bytes before hashing: its content kind, why it cannot be published (cut
 * short), and its digest when the cache holds it.
 */
export type FileFacts = {content: Content; problem?: string; sha256?: string};
