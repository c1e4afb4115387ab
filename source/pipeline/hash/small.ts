// Small files are read once, whole, when they are probed: their content kind, their own digest and
// the combined fingerprints of their version all come from those bytes. Opening and reading a small
// file again for each digest it takes (its own, and one per metadata file it pairs with) costs
// several times what hashing it does, and on a tree of small versions that was most of a cold run.
// A tree of many small versions has them read on the pool's threads, whole versions per task, so
// that both cores do it while this thread only takes the answers in (bench/RESULTS.md).
import {createHash, type Hash} from 'node:crypto';
import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs';
import type {FileFacts, FileIdentity} from '../../domain/file.js';
import type {Role} from '../../domain/ftypes.js';
import {inspectBytes} from '../../domain/magic.js';
import type {Digests} from '../../domain/tree.js';

/** Digests taken while probing, and how long each file took, for hash.ts to report as it reaches them. */
export type EarlyDigests = Digests & {milliseconds: Map<string, number>};

export const noEarlyDigests = (): EarlyDigests => ({files: new Map(), combined: new Map(), milliseconds: new Map()});

/** A small file of a version as its reader needs it: the files of a version come metadata first. */
export type SmallSource = {absolute: string; identity: FileIdentity; kind: Role['kind']};

/**
 * What reading a small file told: its facts and digest, and for a rootfs its combined fingerprint
 * with each metadata file read before it (`meta`: that file's index in its version's list).
 */
export type SmallRead = {facts: FileFacts; sha256: string; combined: Array<{meta: number; digest: string}>; milliseconds: number};

/**
 * The whole file, or undefined when it is no longer what the scan saw or cannot be read: the usual
 * probe and hash then look at it and say so. Opened without blocking, in case it was replaced by a
 * pipe since the scan (the identity check then refuses it).
 */
function readWhole(file: SmallSource): Buffer | undefined {
	let fd: number;
	try {
		fd = openSync(file.absolute, constants.O_RDONLY | constants.O_NONBLOCK);
	} catch {
		return undefined;
	}

	try {
		// One byte more than the scan saw, to tell a file that grew.
		const bytes = Buffer.allocUnsafe(file.identity.size + 1);
		const bytesRead = readSync(fd, bytes, 0, bytes.length, 0);
		const after = fstatSync(fd, {bigint: true});
		const {identity} = file;
		const same = bytesRead === identity.size && Number(after.size) === identity.size && after.ino.toString() === identity.ino
			&& after.mtimeNs.toString() === identity.mtimeNs && after.ctimeNs.toString() === identity.ctimeNs;
		return same ? bytes.subarray(0, bytesRead) : undefined;
	} catch {
		return undefined;
	} finally {
		closeSync(fd);
	}
}

/**
 * Read the small files of one version (metadata files first, so that each rootfs is paired with
 * them in the same pass): undefined for a file left to the usual probe.
 */
export async function readVersion(files: readonly SmallSource[]): Promise<Array<SmallRead | undefined>> {
	const reads: Array<SmallRead | undefined> = [];
	const metas: Array<{index: number; state: Hash}> = [];
	for (const [index, file] of files.entries()) {
		const started = performance.now();
		const bytes = readWhole(file);
		if (!bytes) {
			reads.push(undefined);
			continue;
		}

		const facts = await inspectBytes(bytes);
		const state = createHash('sha256').update(bytes);
		const combined: SmallRead['combined'] = [];
		let sha256: string;
		if (file.kind === 'meta') {
			sha256 = state.copy().digest('hex');
			metas.push({index, state});
		} else {
			sha256 = state.digest('hex');
			// A unified tarball is an image of its own: only a rootfs pairs with the metadata.
			for (const meta of file.kind === 'root' ? metas : []) {
				combined.push({meta: meta.index, digest: meta.state.copy().update(bytes).digest('hex')});
			}
		}

		reads.push({facts, sha256, combined, milliseconds: performance.now() - started});
	}

	return reads;
}

/** A pool task: the small files of several versions. */
export async function readVersions(versions: ReadonlyArray<readonly SmallSource[]>): Promise<Array<Array<SmallRead | undefined>>> {
	const reads = [];
	for (const files of versions) {
		reads.push(await readVersion(files));
	}

	return reads;
}
