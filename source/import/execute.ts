// Carry out a plan. The version is assembled in a dot-directory next to where it belongs (the
// generator, the watcher and the web server all ignore dot-names), every file is hashed on its one
// pass (copies are read back and compared), and one rename puts the version in place. Until that
// rename, any failure or Ctrl-C puts everything back as it was: moved files return to SRC, copies
// and the dot-directory are removed. Each change is written down before it is made (journal.ts), so
// an import that was killed is finished or put back by the next run that writes the root. The
// digests then go into the cache, so the regeneration that follows reads no file again.
import {createHash, randomBytes, type Hash} from 'node:crypto';
import {chmod, lstat, mkdir, open, rename, rm, stat, unlink} from 'node:fs/promises';
import {join, relative} from 'node:path';
import {aliasFile} from '../domain/aliases.js';
import {DigestCache} from '../cache/digest-cache.js';
import {identityOf, sameIdentity, type FileIdentity} from '../domain/file.js';
import {contentPair} from '../pipeline/model.js';
import {printable} from '../report/printable.js';
import {writeAtomic} from '../util/atomic-write.js';
import {errorCode, systemReason} from '../util/errors.js';
import {ImportError} from './errors.js';
import type {FileOp, ImportPlan, Method} from './plan.js';
import {readOptional} from './destination.js';
import {ImportJournal} from './journal.js';

export type ImportEvent =
	| {type: 'file-started'; name: string; method: Method; size: number}
	/** copy: bytes copied (and hashed); verify: the copy read back; hash: a moved file read once. */
	| {type: 'file-progress'; name: string; phase: 'copy' | 'verify' | 'hash'; done: number; size: number}
	| {type: 'file-done'; name: string; method: Method; size: number; milliseconds: number}
	| {type: 'placed'; destination: string; replaced: boolean}
	| {type: 'warning'; message: string};

export type ImportEmit = (event: ImportEvent) => void;

export type ExecuteOptions = {cachePath: string; emit: ImportEmit; signal?: AbortSignal};

const chunk = 4 * 1024 * 1024;

/** One pass over `from`: every hash sees its bytes, and `to` (created, never overwritten) gets them. */
async function pass(from: string, to: string | undefined, hashes: Hash[], progress: (done: number) => void, signal?: AbortSignal): Promise<number> {
	const input = await open(from, 'r');
	try {
		const output = to === undefined ? undefined : await open(to, 'wx', 0o644);
		try {
			const buffer = Buffer.allocUnsafe(chunk);
			let done = 0;
			for (;;) {
				signal?.throwIfAborted();
				const {bytesRead} = await input.read(buffer, 0, chunk, done);
				if (bytesRead === 0) {
					break;
				}

				const bytes = buffer.subarray(0, bytesRead);
				for (const hash of hashes) {
					hash.update(bytes);
				}

				if (output) {
					for (let written = 0; written < bytesRead;) {
						written += (await output.write(bytes, written, bytesRead - written)).bytesWritten;
					}
				}

				done += bytesRead;
				progress(done);
			}

			await output?.sync();
			return done;
		} finally {
			await output?.close();
		}
	} finally {
		await input.close();
	}
}

type Placed = {op: FileOp; sha256: string; identity: FileIdentity; combined?: string};

/**
 * Bring one file into the staging directory and hash it on the way: a rename and one read, or a
 * copy (hashed as it is copied) read back and compared. The metadata comes first, so each rootfs's
 * fingerprint continues from a copy of the metadata's hash state.
 */
async function stage(op: FileOp, staged: string, metaHash: Hash, journal: ImportJournal, {emit, signal}: ExecuteOptions): Promise<Placed> {
	const {size, path} = op.source;
	const progress = (phase: 'copy' | 'verify' | 'hash') => (done: number) => {
		emit({type: 'file-progress', name: op.name, phase, done, size});
	};

	const hashes = op.ftype ? [createHash('sha256'), metaHash.copy()] : [metaHash];
	if (op.method === 'rename') {
		await journal.note(state => state.moved.push({from: path, name: op.name}));
		await rename(path, staged);
		stopAt('moved');
		// The pipeline's rule: a file that changes while it is hashed is not published with that digest.
		const before = identityOf(await stat(staged, {bigint: true}));
		await pass(staged, undefined, hashes, progress('hash'), signal);
		stopAt('hashed');
		if (!sameIdentity(before, identityOf(await stat(staged, {bigint: true})))) {
			throw new ImportError(`${printable(path)} changed while it was being hashed (is it still being written?)`);
		}
	} else {
		const before = await stat(path);
		const copied = await pass(path, staged, hashes, progress('copy'), signal);
		const after = await stat(path);
		if (copied !== after.size || before.size !== after.size || before.mtimeMs !== after.mtimeMs || before.ino !== after.ino) {
			throw new ImportError(`${printable(path)} changed while it was being copied`);
		}
	}

	const sha256 = hashes[0]!.copy().digest('hex');
	if (op.method !== 'rename') {
		const check = createHash('sha256');
		await pass(staged, undefined, [check], progress('verify'), signal);
		if (check.digest('hex') !== sha256) {
			throw new ImportError(`the copy of ${printable(path)} does not read back the same (its sha256 differs)`);
		}
	}

	// What the digest is of: the cache keeps it only for the file in this very state.
	const identity = identityOf(await stat(staged, {bigint: true}));
	return {op, sha256, identity, ...(op.ftype ? {combined: hashes[1]!.digest('hex')} : {})};
}

export async function executeImport(plan: ImportPlan, options: ExecuteOptions): Promise<void> {
	const {emit, signal} = options;
	const {fields} = plan.choices;
	const variant = join(plan.root, plan.productPath);
	const final = join(plan.root, plan.destination);
	const tag = randomBytes(4).toString('hex');
	const staging = join(variant, `.${fields.version}.import-${tag}`);
	const aside = join(variant, `.${fields.version}.replaced-${tag}`);
	const journal = await ImportJournal.begin(plan.root, {
		destination: plan.destination,
		staging: relative(plan.root, staging),
		...(plan.replace ? {old: relative(plan.root, aside)} : {}),
	});
	const placed: Placed[] = [];
	let old: string | undefined;
	try {
		const created = await mkdir(variant, {recursive: true, mode: 0o755});
		await journal.note(state => {
			state.created = created && relative(plan.root, created);
			state.removeSources = plan.files.filter(op => op.method === 'copy-remove').map(op => op.source.path);
		});
		await mkdir(staging);
		await chmod(staging, 0o755); // The web server reads it once it is in place, whatever the umask.
		const metaHash = createHash('sha256');
		for (const op of plan.files) {
			const started = performance.now();
			emit({type: 'file-started', name: op.name, method: op.method, size: op.source.size});
			placed.push(await stage(op, join(staging, op.name), metaHash, journal, options).catch((error: unknown) => {
				throw error instanceof ImportError || signal?.aborted ? error
					: new ImportError(`${printable(op.source.path)}: cannot ${op.method === 'rename' ? 'move' : 'copy'} it into ${plan.destination} (${systemReason(error)})`);
			}));
			emit({type: 'file-done', name: op.name, method: op.method, size: op.source.size, milliseconds: performance.now() - started});
		}

		signal?.throwIfAborted();
		// The product's files the generator reads, so what the wizard added survives every regeneration.
		const files = [
			{path: join(variant, aliasFile), text: plan.aliases.text},
			{path: join(plan.root, plan.requirements.path), text: Object.keys(plan.requirements.added).length > 0 ? JSON.stringify(plan.requirements.file, undefined, '\t') + '\n' : undefined},
		];
		for (const {path, text} of files.filter(f => f.text !== undefined)) {
			const previous = await readOptional(plan.root, path);
			await journal.note(state => state.restore.push({path: relative(plan.root, path), ...(previous === undefined ? {} : {text: previous})}));
			await writeAtomic(path, text!);
		}

		await journal.note(state => {
			state.phase = 'whole';
		});
		old = await place(staging, final, plan.replace, aside);
	} catch (error) {
		const what = error instanceof ImportError ? error.message : `cannot import into ${plan.destination} (${errorPath(error, plan)}${systemReason(error)})`;
		try {
			const stranded = await journal.rollBack();
			if (stranded.length > 0) {
				throw new Error(stranded.join('; '));
			}

			await journal.end();
		} catch (undoError) {
			throw new ImportError(`${what}; putting things back failed too (${systemReason(undoError)}): see ${staging}`);
		}

		throw signal?.aborted ? error : new ImportError(`${what}; nothing was changed`);
	}

	emit({type: 'placed', destination: plan.destination, replaced: plan.replace});
	// The version is published from here on: what is left is tidying up, and it only warns.
	const tidy = async (what: string, work: () => Promise<void>) => work().catch((error: unknown) => {
		emit({type: 'warning', message: `imported, but ${what} (${errorCode(error)})`});
	});
	await tidy(`${printable(variant)} could not be synced to disk`, async () => {
		const dir = await open(variant, 'r');
		await dir.sync().finally(async () => dir.close());
	});
	if (old) {
		await tidy(`the replaced version could not be removed from ${old}`, async () => rm(old, {recursive: true, force: true}));
	}

	for (const {op} of placed.filter(p => p.op.method === 'copy-remove')) {
		await tidy(`${printable(op.source.path)} could not be removed`, async () => unlink(op.source.path));
	}

	await journal.end();
	await remember(plan, placed, options);
}

/**
 * Put the assembled version in place: one rename, or with --force two (the old one goes `aside`
 * first; a reader sees the old version, the new one, or for an instant neither, never a mix).
 * Returns where the old version went.
 */
async function place(staging: string, final: string, replace: boolean, aside: string): Promise<string | undefined> {
	const exists = await lstat(final).then(() => true, () => false);
	if (exists && !replace) {
		throw new ImportError(`${final} appeared while the import ran`);
	}

	const old = exists ? aside : undefined;
	if (old) {
		await rename(final, old);
		stopAt('replaced');
	}

	try {
		await rename(staging, final);
	} catch (error) {
		if (old) {
			await rename(old, final);
		}

		throw error;
	}

	return old;
}

/**
 * The test suite kills an import at a known point by having it stop itself there (SIGSTOP) when
 * SIMPLESTREAMS_STOP_AT names the point; the kill itself is real. Nothing else reads it.
 */
function stopAt(point: 'moved' | 'hashed' | 'replaced'): void {
	if (process.env.SIMPLESTREAMS_STOP_AT === point) {
		process.kill(process.pid, 'SIGSTOP');
	}
}

/** The file a failed system call was about, relative to the root when it is inside. */
function errorPath(error: unknown, plan: ImportPlan): string {
	const {path} = error as NodeJS.ErrnoException;
	return path ? `${printable(relative(plan.root, path).startsWith('..') ? path : relative(plan.root, path))}: ` : '';
}

/** Record every digest against the file as it now is, so the generator finds them all. */
async function remember(plan: ImportPlan, placed: Placed[], options: ExecuteOptions): Promise<void> {
	const warn = (message: string) => options.emit({type: 'warning', message});
	try {
		const cache = await DigestCache.load(options.cachePath, plan.root, event => {
			if (event.type === 'warning') {
				warn(`${event.path}: ${event.message}`);
			}
		});
		const meta = placed[0]!;
		for (const {op, sha256, identity, combined} of placed) {
			const path = `${plan.destination}/${op.name}`;
			// A file changed since it was hashed is left to the regeneration, which hashes it again.
			if (sameIdentity(identity, identityOf(await stat(join(plan.root, path), {bigint: true})))) {
				cache.record(path, identity, {content: op.source.content, sha256});
			}

			if (combined) {
				cache.recordCombined(contentPair(meta.sha256, sha256), combined);
			}
		}

		await cache.save();
	} catch (error) {
		warn(`the digests were not cached (${errorCode(error)}); the regeneration hashes the files again`);
	}
}
