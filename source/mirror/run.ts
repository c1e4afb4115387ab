// One mirror pass: read upstream (a failure there changes nothing), plan, fetch what is missing into
// a dot-directory of the web root, check every file's size and sha256 and every combined fingerprint
// against upstream, rename each checked version into images/, and leave the publishing (streams
// last) to the pipeline. The versions this mirror placed are kept in a record beside the retirement
// record: those upstream no longer offers (or that fall outside --keep) retire through retention.
import {createHash} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {mkdir, readdir, readFile, rename, rm, stat, unlink} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import type {DigestCache} from '../cache/digest-cache.js';
import {aliasFile, formatAliases} from '../domain/aliases.js';
import {readRecord} from '../retention/record.js';
import {writeAtomic} from '../util/atomic-write.js';
import {errorCode} from '../util/errors.js';
import {stableJson} from '../util/json.js';
import {mapLimit} from '../util/map-limit.js';
import {rememberDigests} from './digests.js';
import type {MirrorEmit} from './events.js';
import {FetchError, Upstream, type UpstreamOptions} from './http.js';
import {planMirror, type Filters, type MirrorFile, type MirrorPlan, type MirrorProduct, type MirrorVersion} from './plan.js';
import {readUpstream} from './read.js';

/** Where downloads wait until their version is complete and checked: a dot-directory the web server refuses. */
const stagingName = '.simplestreams-mirror';

/** The versions this mirror placed, so that only those ever retire because upstream dropped them. */
const mirrorRecordName = '.simplestreams-mirrored.json';

const recordFormat = 'simplestreams-mirrored:1';

export type MirrorOptions = UpstreamOptions & {
	root: string;
	url: string;
	filters: Filters;
	keep?: number;
	/** Downloads at once. */
	jobs: number;
};

/** What a pass found: the plan, what was present, what it fetches, and what retires. */
export type MirrorPass = {
	url: string;
	plan: MirrorPlan;
	/** Versions already in images/ (taken as mirrored: files are not fetched again). */
	present: string[];
	/** Versions to fetch, with their files. */
	missing: MirrorVersion[];
	/** Versions this mirror placed earlier that upstream (or --keep) no longer offers: they retire. */
	retiring: string[];
	/** Versions retired earlier, still in images/ (within their grace), that upstream offers again: published again. */
	restoring: string[];
	/** -N: versions placed this pass, and those refused with why. */
	placed: string[];
	refused: Array<{path: string; reason: string}>;
};

/** `versions`: placed and still offered; `retired`: retired because upstream stopped offering them. */
type MirroredRecord = {format: typeof recordFormat; url: string; versions: string[]; retired: string[]};

async function readMirrored(root: string): Promise<Pick<MirroredRecord, 'versions' | 'retired'>> {
	const paths = (list: unknown) => (Array.isArray(list) ? list.filter((v): v is string => typeof v === 'string' && v.startsWith('images/')) : []);
	try {
		const value = JSON.parse(await readFile(join(root, mirrorRecordName), 'utf8')) as Partial<MirroredRecord>;
		return value.format === recordFormat ? {versions: paths(value.versions), retired: paths(value.retired)} : {versions: [], retired: []};
	} catch (error) {
		if (errorCode(error) === 'ENOENT') {
			return {versions: [], retired: []};
		}

		throw new Error(`${join(root, mirrorRecordName)} cannot be read (${errorCode(error)})`);
	}
}

const isDirectory = async (path: string) => (await stat(path).catch(() => undefined))?.isDirectory() ?? false;

/** Reads upstream and plans the pass; nothing is written. A failure to read upstream throws UpstreamError. */
type Planned = MirrorPass & {upstream: Upstream; retiredBefore: string[]};

export async function planPass(options: MirrorOptions, emit: MirrorEmit): Promise<Planned> {
	const upstream = new Upstream(options.url, options);
	try {
		const products = await readUpstream(upstream);
		emit({type: 'upstream-read', url: upstream.base.href, products: products.length, versions: products.reduce((n, p) => n + Object.keys(p.product.versions).length, 0)});
		const plan = planMirror(products, {filters: options.filters, keep: options.keep});
		for (const {where, code, reason} of plan.skipped) {
			emit({type: 'mirror-skipped', where, code, reason});
		}

		const versions = plan.products.flatMap(p => p.versions);
		const present: string[] = [];
		const missing: MirrorVersion[] = [];
		for (const version of versions) {
			(await isDirectory(join(options.root, version.dir)) ? present.push(version.dir) : missing.push(version));
		}

		const wanted = new Set(versions.map(v => v.dir));
		const retired = new Set((await readRecord(options.root)).retired.map(entry => entry.path));
		const mirrored = await readMirrored(options.root);
		// Only what the mirror retired itself comes back: a version an operator removed stays removed.
		const restoring = present.filter(dir => retired.has(dir) && mirrored.retired.includes(dir));
		const retiring: string[] = [];
		for (const dir of mirrored.versions) {
			if (!wanted.has(dir) && !retired.has(dir) && await isDirectory(join(options.root, dir))) {
				retiring.push(dir);
			}
		}

		return {url: upstream.base.href, plan, present, missing, retiring, restoring, placed: [], refused: [], upstream, retiredBefore: mirrored.retired.filter(dir => retired.has(dir))};
	} catch (error) {
		await upstream.close();
		throw error;
	}
}

async function sha256Of(paths: readonly string[]): Promise<string> {
	const hash = createHash('sha256');
	for (const path of paths) {
		for await (const chunk of createReadStream(path, {highWaterMark: 4 * 1024 * 1024})) {
			hash.update(chunk as Buffer);
		}
	}

	return hash.digest('hex');
}

/**
 * Partial downloads of versions no longer to fetch (placed, dropped upstream, filtered out) are
 * removed; those still wanted stay for their downloads to resume.
 */
async function dropStale(staging: string, wanted: ReadonlySet<string>): Promise<void> {
	const walk = async (relative: string, depth: number): Promise<void> => {
		const names = await readdir(join(staging, relative)).catch(() => []);
		for (const name of names) {
			const path = relative === '' ? name : `${relative}/${name}`;
			if (depth === 5) {
				if (!wanted.has(path)) {
					await rm(join(staging, path), {recursive: true, force: true});
				}
			} else if ([...wanted].some(dir => dir.startsWith(`${path}/`))) {
				await walk(path, depth + 1);
			} else {
				await rm(join(staging, path), {recursive: true, force: true});
			}
		}
	};

	await walk('', 0);
}

const progressGapMs = 200;

/** One file into the version's staging directory, checked; the reason it is refused otherwise. */
async function fetchFile(upstream: Upstream, staging: string, version: MirrorVersion, file: MirrorFile, emit: MirrorEmit): Promise<string | undefined> {
	const path = `${version.dir}/${file.name}`;
	const final = join(staging, file.name);
	const url = upstream.url(file.path);
	// Complete and checked by an earlier pass whose version could not be placed: checked again.
	if ((await stat(final).catch(() => undefined))?.size === file.size && await sha256Of([final]) === file.sha256) {
		return undefined;
	}

	await rm(final, {force: true});
	const partial = `${final}.part`;
	const resumedFrom = (await stat(partial).catch(() => undefined))?.size ?? 0;
	emit({type: 'download-started', path, url, size: file.size, resumedFrom: Math.min(resumedFrom, file.size)});
	const started = Date.now();
	let done = Math.min(resumedFrom, file.size);
	let toldAt = 0;
	try {
		const got = await upstream.download(file.path, partial, file.size, bytes => {
			done += bytes;
			// Chunks are small and many: a few progress events a second are all a screen shows.
			const now = performance.now();
			if (now - toldAt >= progressGapMs || done === file.size) {
				toldAt = now;
				emit({type: 'download-progress', path, done, size: file.size});
			}
		});
		if (got.sha256 !== file.sha256) {
			await unlink(partial);
			const reason = `sha256 ${got.sha256} is not the ${file.sha256} upstream's item gives`;
			emit({type: 'download-failed', path, url, reason});
			return reason;
		}

		await rename(partial, final);
		emit({type: 'downloaded', path, size: file.size, resumedFrom: got.resumedFrom, milliseconds: Date.now() - started});
		return undefined;
	} catch (error) {
		if (!(error instanceof FetchError)) {
			throw error;
		}

		// What arrived stays in the .part file: the next pass asks for the rest.
		emit({type: 'download-failed', path, url, reason: error.message});
		return error.message;
	}
}

/** Every combined fingerprint upstream gives, computed from the files as they arrived. */
async function fingerprintProblem(staging: string, version: MirrorVersion): Promise<string | undefined> {
	for (const {meta, root, fingerprint} of version.pairings) {
		const combined = await sha256Of([join(staging, meta), join(staging, root)]);
		if (combined !== fingerprint) {
			return `the fingerprint of ${meta} with ${root} is ${combined}, not the ${fingerprint} upstream gives`;
		}
	}

	return undefined;
}

/** The product's aliases and requirements as upstream gives them, in the files the pipeline reads. */
async function writeProductFiles(root: string, product: MirrorProduct): Promise<void> {
	const files: Array<[string, string | undefined]> = [
		[aliasFile, product.aliases.length > 0 ? formatAliases(product.aliases) : undefined],
		['.requirements', Object.keys(product.requirements).length > 0 ? stableJson(product.requirements) : undefined],
		['.lxd_requirements', product.lxdRequirements && Object.keys(product.lxdRequirements).length > 0 ? stableJson(product.lxdRequirements) : undefined],
	];
	for (const [name, text] of files) {
		const path = join(root, product.dir, name);
		const before = await readFile(path, 'utf8').catch(() => undefined);
		if (text === undefined) {
			await rm(path, {force: true});
		} else if (before !== text) {
			await writeAtomic(path, text);
		}
	}
}

/**
 * -N, under the root's lock: fetch the missing versions (at most `jobs` files at once), place those
 * that check, write the products' files and the record of what is mirrored.
 */
export async function fetchPass(pass: Planned, options: MirrorOptions, cache: DigestCache, emit: MirrorEmit): Promise<MirrorPass> {
	const {root} = options;
	const staging = (version: MirrorVersion) => join(root, stagingName, version.dir);
	await dropStale(join(root, stagingName), new Set(pass.missing.map(v => v.dir)));
	for (const version of pass.missing) {
		await mkdir(staging(version), {recursive: true});
	}

	const work = pass.missing.flatMap(version => version.files.map(file => ({version, file})));
	if (work.length > 0) {
		emit({type: 'fetching', files: work.length, bytes: work.reduce((n, {file}) => n + file.size, 0)});
	}

	const failures = await mapLimit(work, Math.max(1, options.jobs), async ({version, file}) => {
		options.signal?.throwIfAborted();
		const reason = await fetchFile(pass.upstream, staging(version), version, file, emit);
		return reason === undefined ? undefined : {version, reason: `${file.name}: ${reason}`};
	});

	for (const version of pass.missing) {
		const failed = failures.find(f => f?.version === version);
		const reason = failed?.reason ?? await fingerprintProblem(staging(version), version);
		if (reason === undefined && await isDirectory(join(root, version.dir))) {
			pass.refused.push({path: version.dir, reason: 'appeared in images/ while it was fetched: left as it is'});
		} else if (reason === undefined) {
			await mkdir(dirname(join(root, version.dir)), {recursive: true});
			await rename(staging(version), join(root, version.dir));
			await rememberDigests(cache, root, version);
			pass.placed.push(version.dir);
			emit({type: 'version-placed', path: version.dir});
			continue;
		} else {
			pass.refused.push({path: version.dir, reason});
			if (!failed) {
				// Both files arrived whole and checked, yet do not make upstream's image: fetched afresh next time.
				await rm(staging(version), {recursive: true, force: true});
			}
		}

		emit({type: 'version-refused', path: version.dir, reason: pass.refused.at(-1)!.reason});
	}

	for (const product of pass.plan.products) {
		if (await isDirectory(join(root, product.dir))) {
			await writeProductFiles(root, product);
		}
	}

	const present = new Set([...pass.present, ...pass.placed]);
	const kept = pass.plan.products.flatMap(p => p.versions.map(v => v.dir)).filter(dir => present.has(dir));
	const retired = [...new Set([...pass.retiredBefore, ...pass.retiring])].filter(dir => !kept.includes(dir));
	// Retiring versions stay listed until the retirement record has them: a publish that fails retires them next time.
	const record: MirroredRecord = {format: recordFormat, url: pass.url, versions: [...kept, ...pass.retiring], retired};
	await writeAtomic(join(root, mirrorRecordName), stableJson(record));
	return pass;
}
