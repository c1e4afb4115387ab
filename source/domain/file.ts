// A file's identity (one state of its bytes) and what is known of those bytes before they are
// hashed: a digest holds only while the identity it was taken under does.
import type {BigIntStats} from 'node:fs';
import type {Content} from './ftypes.js';

/** What identifies one state of a file's bytes: any change to it invalidates a digest. */
export type FileIdentity = {
	dev: string;
	ino: string;
	size: number;
	mtimeNs: string;
	ctimeNs: string;
};

export function identityOf(stats: BigIntStats): FileIdentity {
	return {
		dev: stats.dev.toString(),
		ino: stats.ino.toString(),
		size: Number(stats.size),
		mtimeNs: stats.mtimeNs.toString(),
		ctimeNs: stats.ctimeNs.toString(),
	};
}

export const sameIdentity = (a: FileIdentity, b: FileIdentity) =>
	a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/** Whether `stats` of a file now still show the state `identity` names: sameIdentity without making an identity of them (asked once per file hashed). */
export const stillIdentity = (identity: FileIdentity, stats: BigIntStats) =>
	Number(stats.size) === identity.size && stats.ino.toString() === identity.ino && stats.mtimeNs.toString() === identity.mtimeNs
	&& stats.ctimeNs.toString() === identity.ctimeNs && stats.dev.toString() === identity.dev;

/**
 * What is known of a file's bytes before hashing: its content kind, why it cannot be published (cut
 * short), and its digest when the cache holds it.
 */
export type FileFacts = {content: Content; problem?: string; sha256?: string};
