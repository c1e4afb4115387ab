// Carry out a plan. The version is assembled in a dot-directory next to where it belongs (the
// generator, the watcher and the web server all ignore dot-names), and one rename puts it in place.
// Every file is hashed by the pipeline's hash stage on the run's pool (copies together with their
// source, and compared), so an import and a regeneration share one hashing code, one digest cache
// and one pool. Until the rename, any failure or Ctrl-C puts everything back as it was: moved files
// return to SRC, copies and the dot-directory are removed. Each change is written down before it is
// made (journal.ts), so an import that was killed is finished or put back by the next run that
// writes the root. The digests then go into the run's cache, so the regeneration that follows reads
// no file again (and saves the cache once).
import {randomBytes} from 'node:crypto';
import {chmod, lstat, mkdir, open, rename, rm, stat, unlink} from 'node:fs/promises';
import {join, relative} from 'node:path';
import {aliasFile} from '../domain/aliases.js';
import {identityOf, sameIdentity, type FileIdentity} from '../domain/file.js';
import {warning, type ReasonCode} from '../domain/reasons.js';
import type {RunContext} from '../pipeline/context.js';
import {hash} from '../pipeline/hash/hash.js';
import {contentPair, pathPair, type Digests} from '../domain/tree.js';
import type {DigestTask, HashedFile} from '../pipeline/plan.js';
import {printable} from '../util/printable.js';
import {writeAtomic} from '../util/atomic-write.js';
import {errorCode, systemReason} from '../util/errors.js';
import {ImportError} from './errors.js';
import type {FileOp, ImportPlan, Method} from './plan.js';
import {readOptional} from './destination.js';
import {ImportJournal} from './journal.js';

export type ImportEvent =
	| {type: 'file-started'; name: string; method: Method; size: number}
	/** copy: bytes copied; verify: the copy and its source hashed and compared; hash: a moved file read once. */
	| {type: 'file-progress'; name: string; phase: 'copy' | 'verify' | 'hash'; done: number; size: number}
	| {type: 'file-done'; name: string; method: Method; size: number; milliseconds: number}
	| {type: 'placed'; destination: string; replaced: boolean}
	| {type: 'warning'; code: ReasonCode; message: string};

export type ImportEmit = (event: ImportEvent) => void;

/** The run an import belongs to: its pool, its digest cache (recorded into, saved by the run), its signal. */
export type ImportContext = Pick<RunContext, 'pool' | 'cache' | 'signal'>;

const chunk = 4 * 1024 * 1024;

/** Copy `from` to `to` (created, never overwritten), synced to disk. */
async function copy(from: string, to: string, progress: (done: number) => void, signal?: AbortSignal): Promise<number> {
	const input = await open(from, 'r');
	try {
		const output = await open(to, 'wx', 0o644);
		try {
			const buffer = Buffer.allocUnsafe(chunk);
			let done = 0;
			for (;;) {
				signal?.throwIfAborted();
				const {bytesRead} = await input.read(buffer, 0, chunk, done);
				if (bytesRead === 0) {
					break;
				}

				for (let written = 0; written < bytesRead;) {
					written += (await output.write(buffer, written, bytesRead - written)).bytesWritten;
				}

				done += bytesRead;
				progress(done);
			}

			await output.sync();
			return done;
		} finally {
			await output.close();
		}
	} finally {
		await input.close();
	}
}

type Placed = {op: FileOp; sha256: string; identity: FileIdentity; combined?: string};

const fileOf = async (absolute: string, path: string): Promise<HashedFile> => ({path, absolute, identity: identityOf(await stat(absolute))});

/**
 * Bring one file into the staging directory: a rename, or a copy. Then the hash stage reads it (a
 * rootfs after the metadata's bytes, for its fingerprint), and a copy's source beside it: the two
 * must agree. The metadata comes first, so every rootfs finds it staged.
 */
async function stage(op: FileOp, staged: string, meta: HashedFile | undefined, journal: ImportJournal, context: ImportContext, emit: ImportEmit): Promise<Placed & {file: HashedFile}> {
	const {signal} = context;
	const {size, path} = op.source;
	let source: HashedFile | undefined;
	if (op.method === 'rename') {
		await journal.note(state => state.moved.push({from: path, name: op.name}));
		await rename(path, staged);
		stopAt('moved');
	} else {
		// The source as it is before the copy: the hash stage refuses it if it changes until it is hashed.
		source = await fileOf(path, path);
		const copied = await copy(path, staged, done => {
			emit({type: 'file-progress', name: op.name, phase: 'copy', done, size});
		}, signal);
		if (copied !== source.identity.size) {
			throw new ImportError(`${printable(path)} changed while it was being copied`);
		}
	}

	const file = await fileOf(staged, staged);
	const tasks: DigestTask[] = [
		{file, wantFile: true, wantCombined: Boolean(op.ftype && meta), work: size + (op.ftype && meta ? meta.identity.size : 0), ...(op.ftype && meta ? {prefix: meta} : {})},
		...(source ? [{file: source, wantFile: true, wantCombined: false, work: size}] : []),
	];
	const work = tasks.reduce((sum, task) => sum + task.work, 0);
	const done = new Map<string, number>();
	const digests: Digests = {files: new Map(), combined: new Map()};
	let refused: string | undefined;
	await hash(tasks, context.pool, digests, event => {
		if (event.type === 'progress') {
			done.set(event.path, event.done);
			const sum = [...done.values()].reduce((a, b) => a + b, 0);
			emit({type: 'file-progress', name: op.name, phase: source ? 'verify' : 'hash', done: Math.round(sum / work * size), size});
		} else if (event.type === 'skipped') {
			refused ??= event.code === 'changed' || event.code === 'metadata-changed'
				? `${printable(path)} changed while it was being ${source ? 'copied' : 'hashed'} (is it still being written?)`
				: `${printable(path)} ${event.reason}`;
		}
	}, signal);
	signal?.throwIfAborted();
	stopAt('hashed');
	const sha256 = digests.files.get(file.path);
	if (refused || !sha256) {
		throw new ImportError(refused ?? `${printable(path)} could not be hashed`);
	}

	// The pipeline's rule: a file that changes while it is hashed is not published with that digest.
	if (!sameIdentity(file.identity, identityOf(await stat(staged)))) {
		throw new ImportError(`${printable(path)} changed while it was being hashed (is it still being written?)`);
	}

	if (source && digests.files.get(source.path) !== sha256) {
		throw new ImportError(`the copy of ${printable(path)} does not read back the same (its sha256 differs)`);
	}

	const combined = meta && digests.combined.get(pathPair(meta.path, file.path));
	// What the digest is of: the cache keeps it only for the file in this very state.
	return {op, sha256, identity: file.identity, file, ...(combined ? {combined} : {})};
}

export async function executeImport(plan: ImportPlan, context: ImportContext, emit: ImportEmit): Promise<void> {
	const {signal} = context;
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
	const placed: Array<Placed & {file: HashedFile}> = [];
	let old: string | undefined;
	try {
		const created = await mkdir(variant, {recursive: true, mode: 0o755});
		await journal.note(state => {
			state.created = created && relative(plan.root, created);
			state.removeSources = plan.files.filter(op => op.method === 'copy-remove').map(op => op.source.path);
		});
		await mkdir(staging);
		await chmod(staging, 0o755); // The web server reads it once it is in place, whatever the umask.
		for (const op of plan.files) {
			const started = performance.now();
			emit({type: 'file-started', name: op.name, method: op.method, size: op.source.size});
			placed.push(await stage(op, join(staging, op.name), placed[0]?.file, journal, context, emit).catch((error: unknown) => {
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
		emit({type: 'warning', ...warning('import-untidy', what, errorCode(error))});
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
	await remember(plan, placed, context, emit);
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

/** Record every digest against the file as it now is, so the run's regeneration finds them all. */
async function remember(plan: ImportPlan, placed: Placed[], context: ImportContext, emit: ImportEmit): Promise<void> {
	try {
		const cache = await context.cache();
		const meta = placed[0]!;
		for (const {op, sha256, identity, combined} of placed) {
			const path = `${plan.destination}/${op.name}`;
			// A file changed since it was hashed is left to the regeneration, which hashes it again.
			if (sameIdentity(identity, identityOf(await stat(join(plan.root, path))))) {
				cache.record(path, identity, {content: op.source.content, sha256});
			}

			if (combined) {
				cache.recordCombined(contentPair(meta.sha256, sha256), combined);
			}
		}
	} catch (error) {
		emit({type: 'warning', ...warning('import-digests-not-cached', errorCode(error), 'the regeneration')});
	}
}
