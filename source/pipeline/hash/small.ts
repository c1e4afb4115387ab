// Small files are read once, whole, when they are probed: their content kind, their own digest and
// the combined fingerprints of their version all come from those bytes. Opening and reading a small
// file again for each digest it takes (its own, and one per metadata file it pairs with) costs
// several times what hashing it does, and on a tree of small versions that was most of a cold run.
import {Buffer} from 'node:buffer';
import {hash} from 'node:crypto';
import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs';
import {sameIdentity, type FileFacts} from '../../domain/file.js';
import {inspectBytes} from '../../domain/magic.js';
import type {ImageFile} from '../../domain/tree.js';
import {smallWork} from './pool.js';

/**
 * What probing took of one small file, for the plan to take instead of a task (plan.ts): its digest,
 * how long it took, and (a rootfs) its fingerprint with each metadata file of its version, by the
 * metadata file's path.
 */
export type EarlyFile = {sha256: string; milliseconds: number; paired: Array<[metaPath: string, combined: string]>};

/** The files probing took early, by path: one entry a file, not a map a kind of digest with a key string a pair. */
export type EarlyDigests = Map<string, EarlyFile>;

const unpaired: EarlyFile['paired'] = [];

/**
 * Where one probe reads its small files, one after the other: each is inspected and hashed before
 * the next is read, so one buffer serves them all (a Buffer a file was a new ArrayBuffer each, its
 * memory outside the heap until the collector came by). Its first half holds the file read, one
 * byte more than the largest small file to tell a file that grew since the scan; its second, a
 * metadata file's bytes followed by a rootfs's, hashed together for their combined fingerprint.
 */
export const readBuffer = () => Buffer.allocUnsafe(2 * (smallWork + 1));

/**
 * The whole file, in `buffer`, or undefined when it is no longer what the scan saw or cannot be read:
 * the usual probe and hash then look at it and say so. Opened without blocking, in case it was
 * replaced by a pipe since the scan (the identity check then refuses it).
 */
function readWhole(file: ImageFile, buffer: Buffer): Buffer | undefined {
	let fd: number;
	try {
		fd = openSync(file.absolute, constants.O_RDONLY | constants.O_NONBLOCK);
	} catch {
		return undefined;
	}

	try {
		const bytesRead = readSync(fd, buffer, 0, Math.min(file.identity.size + 1, smallWork + 1), 0);
		const after = fstatSync(fd);
		return bytesRead === file.identity.size && sameIdentity(file.identity, after) ? buffer.subarray(0, bytesRead) : undefined;
	} catch {
		return undefined;
	} finally {
		closeSync(fd);
	}
}

/**
 * Probe the small files of one version that the cache knows nothing of (metadata files first, so
 * that each rootfs is paired with them in the same pass): facts go to `record`, digests to `early`.
 * Returns the files left for the usual probe. `buffer`: readBuffer()'s, reused from file to file.
 */
export function probeSmall(files: readonly ImageFile[], record: (file: ImageFile, facts: FileFacts) => void, early: EarlyDigests, buffer: Buffer): ImageFile[] {
	const left: ImageFile[] = [];
	const metas: Array<{path: string; bytes: Buffer}> = [];
	// One-shot digests: a Hash object a file (and one copied a pair) cost more than hashing a few KiB.
	const joined = (meta: Buffer, root: Buffer) => {
		const at = smallWork + 1;
		meta.copy(buffer, at);
		root.copy(buffer, at + meta.length);
		return buffer.subarray(at, at + meta.length + root.length);
	};

	for (const metaPass of [true, false]) {
		for (const file of files) {
			if ((file.role.kind === 'meta') !== metaPass) {
				continue;
			}

			const started = performance.now();
			const bytes = readWhole(file, buffer);
			if (!bytes) {
				left.push(file);
				continue;
			}

			record(file, inspectBytes(bytes));
			if (metaPass) {
				// Copied: the buffer is read into again.
				metas.push({path: file.path, bytes: Buffer.from(bytes)});
			}

			// A unified tarball is an image of its own: only a rootfs pairs with the metadata.
			const paired = file.role.kind === 'root' ? metas.map(({path, bytes: meta}): [string, string] => [path, hash('sha256', joined(meta, bytes), 'hex')]) : unpaired;
			early.set(file.path, {sha256: hash('sha256', bytes, 'hex'), milliseconds: performance.now() - started, paired});
		}
	}

	return left;
}
