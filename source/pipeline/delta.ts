// Stage 3b (--deltas): a vcdiff from each published version's rootfs to the next one's, so a client
// holding the older image downloads the difference instead of the whole file. Planning is pure;
// making runs xdelta3, and a delta is published only after applying it to its base gave back the
// new file's sha256. Deltas are files next to the new version's rootfs and are never made twice.
import {createHash, randomBytes} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {readdir, readFile, readlink, rename, rm, stat} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {pipeline} from 'node:stream/promises';
import type {DigestCache} from '../cache/digest-cache.js';
import {identityOf, sameIdentity, type FileIdentity} from '../domain/file.js';
import {deltaFileName} from '../domain/ftypes.js';
import {because, type ReasonCode, warning} from '../domain/reasons.js';
import {deltaRoots, rootFtypes, type DeltaRoot} from '../streams/ftypes.js';
import {compareText} from '../util/compare.js';
import {errorCode} from '../util/errors.js';
import {mapLimit} from '../util/map-limit.js';
import type {DeltaOptions} from './delta-options.js';
import type {Emit} from './events.js';
import {pathPair, type Digests, type ImageFile} from '../domain/tree.js';
import type {PlannedProduct, PlannedVersion} from './plan.js';

/** A delta wanted: from `base`'s rootfs (`source`) to `version`'s (`target`) in one product. */
export type DeltaJob = {
	product: string;
	version: string;
	base: string;
	root: DeltaRoot;
	/** The delta file, relative to the web root. */
	path: string;
	absolute: string;
	source: ImageFile;
	target: ImageFile;
	sourceSha: string;
	targetSha: string;
};

/** A checked delta, ready for the catalog. */
export type Delta = {product: string; version: string; base: string; root: DeltaRoot; path: string; sha256: string; size: number};

/** The version's rootfs of this ftype, when the catalog can publish it (a digest and a fingerprint). */
function publishable({metas, roots}: PlannedVersion, root: DeltaRoot, digests: Digests): ImageFile | undefined {
	const file = roots.find(r => r.role.ftype === root);
	return file && digests.files.has(file.path) && metas.some(m => digests.combined.has(pathPair(m.path, file.path))) ? file : undefined;
}

/**
 * Pure: one delta per version that has the rootfs, from the closest older version that has it too
 * (version names in the clients' string order). A version held back by the watcher may still change:
 * the next version gets no delta until it has settled.
 */
export function planDeltas(planned: readonly PlannedProduct[], digests: Digests, root: string, options: DeltaOptions, emit: Emit): DeltaJob[] {
	const jobs: DeltaJob[] = [];
	const kinds = deltaRoots.filter(root => options.vm || rootFtypes[root].type === 'container');
	for (const {product, versions, held} of planned) {
		for (const kind of kinds) {
			const sequence = [
				...versions.map(v => ({name: v.version.name, path: v.version.path, file: publishable(v, kind, digests), held: false})),
				...(held ?? []).map(v => ({name: v.name, path: v.path, file: undefined, held: true})),
			].sort((a, b) => compareText(a.name, b.name));
			let previous: (typeof sequence)[number] | undefined;
			for (const entry of sequence) {
				if (!entry.file && !entry.held) {
					continue; // No such rootfs here: neither a base nor a target.
				}

				const base = previous;
				previous = entry;
				if (!base || !entry.file) {
					continue;
				}

				const path = `${entry.path}/${deltaFileName(kind, base.name)}`;
				if (!base.file) {
					emit({type: 'delta-skipped', path, ...because('base-settling', base.name), problem: false});
					continue;
				}

				jobs.push({
					product: product.ref.id, version: entry.name, base: base.name, root: kind, path, absolute: join(root, path),
					source: base.file, target: entry.file, sourceSha: digests.files.get(base.file.path)!, targetSha: digests.files.get(entry.file.path)!,
				});
			}
		}
	}

	return jobs;
}

/** A delta applied: its own sha256 and the result's. */
export type DeltaCheck = {ok: true; sha256: string; target: string} | {ok: false; reason: string};

/** execa is loaded only when a delta is checked or made: importing it would lengthen every run's start-up. */
const loadExeca = async () => (await import('execa')).execa;

/**
 * Apply `delta` to `source` as a client does, streaming: the delta's own sha256 is taken from the
 * bytes fed to xdelta3 and the result's from what it writes, so nothing is buffered or read twice.
 */
export async function applyDelta(source: string, delta: string, progress?: (bytes: number) => void, signal?: AbortSignal): Promise<DeltaCheck> {
	const execa = await loadExeca();
	const child = execa('xdelta3', ['-d', '-c', '-s', source], {stdin: 'pipe', buffer: {stdout: false, stderr: true}, reject: false, ...(signal ? {cancelSignal: signal} : {})});
	const deltaHash = createHash('sha256');
	const targetHash = createHash('sha256');
	let produced = 0;
	child.stdout.on('data', (chunk: Buffer) => {
		targetHash.update(chunk);
		produced += chunk.length;
		progress?.(produced);
	});
	const input = createReadStream(delta, {highWaterMark: 1 << 20}).on('data', chunk => deltaHash.update(chunk));
	// xdelta3 stops reading when the delta is bad: its exit status tells why, not the broken pipe.
	const fed = await pipeline(input, child.stdin).then(() => undefined, (error: unknown) => error);
	const result = await child;
	signal?.throwIfAborted();
	if (result.exitCode !== 0) {
		const message = (String(result.stderr).trim().split('\n').at(-1) ?? '').replace(/^xdelta3: /, '');
		return {ok: false, reason: `xdelta3 cannot apply it (${message || errorCode(result) || `exit ${String(result.exitCode)}`})`};
	}

	if (fed) {
		const code = (fed as NodeJS.ErrnoException).code;
		return {ok: false, reason: code === 'EPIPE' ? 'xdelta3 stopped reading it before its end' : `cannot be read (${errorCode(fed)})`};
	}

	return {ok: true, sha256: deltaHash.digest('hex'), target: targetHash.digest('hex')};
}

/** How far a process has read `file`, from /proc (Linux): progress without the tool's cooperation. */
async function readOffset(pid: number, file: string): Promise<number | undefined> {
	try {
		for (const fd of await readdir(`/proc/${pid}/fd`)) {
			if (await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '') === file) {
				return Number(/^pos:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? Number.NaN) || undefined;
			}
		}
	} catch {}

	return undefined;
}

/** Progress of one delta, at most once per interval (a screen needs no more), and always its end. */
export function progressOf(path: string, emit: Emit, interval = 100): (done: number, work: number) => void {
	let last = Number.NEGATIVE_INFINITY;
	return (done, work) => {
		const now = performance.now();
		if (now - last >= interval || done === work) {
			last = now;
			emit({type: 'delta-progress', path, done, work});
		}
	};
}

const identityNow = async (path: string): Promise<FileIdentity | undefined> => stat(path).then(identityOf, () => undefined);

/** Whether the two rootfs files are still what was hashed: a delta from other bytes would break clients. */
async function unchanged(job: DeltaJob): Promise<boolean> {
	const [source, target] = await Promise.all([identityNow(job.source.absolute), identityNow(job.target.absolute)]);
	return Boolean(source && target && sameIdentity(source, job.source.identity) && sameIdentity(target, job.target.identity));
}

export type DeltaContext = {
	cache: DigestCache;
	/** How many xdelta3 processes run at once. */
	jobs: number;
	ratio: number;
	/** A dry run only reuses deltas that exist: it writes nothing under the web root. */
	write: boolean;
	signal?: AbortSignal;
};

/** Reuse, check or make each wanted delta, a few at a time; returns the ones fit to publish. */
export async function makeDeltas(jobs: readonly DeltaJob[], context: DeltaContext, emit: Emit): Promise<Delta[]> {
	const {cache, ratio, signal} = context;
	const published: Delta[] = [];
	// Looked for once, and only when a delta has to be checked or made: reusing needs no xdelta3.
	let tool: Promise<boolean> | undefined;
	const haveTool = async () => {
		tool ??= loadExeca().then(async execa => execa('xdelta3', ['-V'], {reject: false})).then(r => r.exitCode === 0, () => false).then(present => {
			if (!present) {
				emit({type: 'warning', path: 'xdelta3', ...warning('xdelta3-missing'), transient: true});
			}

			return present;
		});
		return tool;
	};

	const fraction = (job: DeltaJob, size: number) => size / Math.max(1, job.target.identity.size);
	const tooLarge = (job: DeltaJob, size: number) => (fraction(job, size) > ratio
		? because('delta-too-large', Math.round(fraction(job, size) * 100), Math.round(ratio * 100))
		: undefined);
	const publish = (job: DeltaJob, sha256: string, size: number) => {
		published.push({product: job.product, version: job.version, base: job.base, root: job.root, path: job.path, sha256, size});
	};

	const one = async (job: DeltaJob) => {
		signal?.throwIfAborted();
		const skip = (reason: {code: ReasonCode; reason: string}, problem: boolean) => emit({type: 'delta-skipped', path: job.path, ...reason, problem});
		const known = cache.delta(job.path);
		const samePair = known?.source === job.sourceSha && known.target === job.targetSha;
		const identity = await identityNow(job.absolute);
		if (samePair) {
			// Judged on every run: another --delta-ratio may admit a delta that was too large (or drop one).
			const large = tooLarge(job, known.size);
			if (large) {
				skip(large, false);
				return;
			}

			if (known.sha256 && identity && known.identity && sameIdentity(identity, known.identity)) {
				emit({type: 'delta-reused', path: job.path, size: known.size, fraction: fraction(job, known.size)});
				publish(job, known.sha256, known.size);
				return;
			}
		}

		if (!await haveTool()) {
			return;
		}

		const work = job.target.identity.size;
		const started = performance.now();
		const progress = progressOf(job.path, emit);
		const check = async (file: string, offset: number): Promise<string | {sha256: string}> => {
			const applied = await applyDelta(job.source.absolute, file, done => {
				progress(offset + done, offset + work);
			}, signal);
			if (!applied.ok) {
				return applied.reason;
			}

			if (applied.target !== job.targetSha) {
				return `applied to ${job.base} it gives sha256 ${applied.target.slice(0, 12)}, not the rootfs's ${job.targetSha.slice(0, 12)}`;
			}

			return await unchanged(job) ? {sha256: applied.sha256} : 'a rootfs changed while its delta was checked';
		};

		// A delta file the cache says nothing of (a lost cache, another tool made it), or one touched
		// since: check it rather than make it again. One made from other rootfs bytes is made anew.
		if (identity && (!known || samePair)) {
			emit({type: 'delta-queued', path: job.path, base: job.base, work});
			const checked = await check(job.absolute, 0);
			const large = tooLarge(job, identity.size);
			if (typeof checked !== 'string' && large) {
				cache.recordDelta(job.path, {source: job.sourceSha, target: job.targetSha, size: identity.size});
				skip(large, false);
				return;
			}

			if (typeof checked !== 'string') {
				cache.recordDelta(job.path, {source: job.sourceSha, target: job.targetSha, size: identity.size, sha256: checked.sha256, identity});
				emit({type: 'delta-reused', path: job.path, size: identity.size, fraction: fraction(job, identity.size)});
				publish(job, checked.sha256, identity.size);
				return;
			}
		}

		if (!context.write) {
			skip(because('delta-dry-run'), false);
			return;
		}

		emit({type: 'delta-queued', path: job.path, base: job.base, work: 2 * work});
		const temporary = join(dirname(job.absolute), `.${basename(job.absolute)}.${randomBytes(6).toString('hex')}.tmp`);
		try {
			const execa = await loadExeca();
			const child = execa('xdelta3', ['-e', '-9', '-s', job.source.absolute, job.target.absolute, temporary], {reject: false, stdin: 'ignore', ...(signal ? {cancelSignal: signal} : {})});
			// xdelta3 reads the new file front to back: how far it got is the progress of the first half.
			const timer = setInterval(async () => {
				const done = child.pid === undefined ? undefined : await readOffset(child.pid, job.target.absolute);
				if (done !== undefined) {
					progress(done, 2 * work);
				}
			}, 250);
			const result = await child.finally(() => {
				clearInterval(timer);
			});
			signal?.throwIfAborted();
			if (result.exitCode !== 0) {
				skip(because('xdelta3-failed', String(result.stderr).trim().split('\n').at(-1) || errorCode(result)), true);
				return;
			}

			const {size} = await stat(temporary);
			const large = tooLarge(job, size);
			if (large) {
				cache.recordDelta(job.path, {source: job.sourceSha, target: job.targetSha, size});
				skip(large, false);
				return;
			}

			const checked = await check(temporary, work);
			if (typeof checked === 'string') {
				skip(because('delta-wrong', checked), true);
				return;
			}

			await rename(temporary, job.absolute);
			const kept = (await identityNow(job.absolute))!;
			cache.recordDelta(job.path, {source: job.sourceSha, target: job.targetSha, size, sha256: checked.sha256, identity: kept});
			emit({type: 'delta-made', path: job.path, size, fraction: fraction(job, size), milliseconds: performance.now() - started});
			publish(job, checked.sha256, size);
		} catch (error) {
			signal?.throwIfAborted();
			skip(because('delta-unmade', errorCode(error)), true);
		} finally {
			await rm(temporary, {force: true});
		}
	};

	await mapLimit(jobs, context.jobs, one);
	return published;
}
