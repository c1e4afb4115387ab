// The watcher on trees of small versions (3 files each: lxd.tar.xz, root.squashfs, disk.qcow2, as
// the many corpus): for 1,000, 10,000 and 100,000 versions, the time from its start to the first
// regeneration (cold, then again with its digest cache and the streams it wrote: a warm restart), the
// latency from the rename that completes an upload (a new product, so index.json itself changes) to
// index.json, its peak and current RSS (and the warm restart's peak), and the inotify watches it
// holds. Run by bench/run.ts (--only watch-scale) or alone:
// node dist/bench/watch-scale.js [--dir DIR] [--versions 1000,10000,100000] [--settle 0.5].
import {spawn} from 'node:child_process';
import {cp, appendFile, mkdir, readdir, readFile, rename, rm, writeFile} from 'node:fs/promises';
import {loadavg, tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {inotifyWatches} from '../test/helpers/watch.js';
import {buildMany} from './corpus.js';
import type {FigureRow} from './deltas.js';
import {median} from './measure.js';
import {cpuNanoseconds, followRegenerations} from './watch.js';

export type ScaleFigures = {
	versions: number;
	coldStartMs: number;
	warmStartMs: number;
	latenciesMs: number[];
	peakRssBytes: number;
	rssBytes: number;
	/** The warm restart's peak RSS, to its first regeneration. */
	warmPeakRssBytes: number;
	watches: number;
	/** The 1-minute load average when the uploads began. */
	load: number;
	settle: number;
	/** The watcher's CPU time (user + system, all threads) from the first upload to the last one in index.json, per upload. */
	cpuPerUploadMs: number;
};

/** A wait longer than this is a failure, reported rather than waited out. */
const patienceMs = 30 * 60_000;

const sleep = async (ms: number) => new Promise(resolve => {
	setTimeout(resolve, ms);
});

async function waitFor(what: string, ready: () => Promise<boolean>): Promise<void> {
	const deadline = performance.now() + patienceMs;
	while (!(await ready())) {
		if (performance.now() > deadline) {
			throw new Error(`the watcher: no ${what} within ${patienceMs / 60_000} min`);
		}

		await sleep(10);
	}
}

/** VmHWM and VmRSS of a process, in bytes. */
async function memory(pid: number): Promise<{peak: number; now: number}> {
	const status = await readFile(`/proc/${pid}/status`, 'utf8');
	const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
	return {peak: kib('VmHWM'), now: kib('VmRSS')};
}

type Running = {pid: number; regenerations: () => number; stop: () => Promise<void>};

function startWatcher(cli: string, root: string, cache: string, settle: number, log: (text: string) => void): Running {
	const child = spawn(process.execPath, [cli, '--watch', root, '--settle', String(settle), '--cache', cache, '--log', 'json'], {stdio: ['ignore', 'pipe', 'inherit']});
	let regenerations = 0;
	followRegenerations(child.stdout, () => regenerations++, message => {
		log(`  watch-scale: regeneration failed: ${message}`);
	});
	return {
		pid: child.pid!,
		regenerations: () => regenerations,
		async stop() {
			child.kill('SIGTERM');
			await new Promise(resolve => child.once('exit', resolve));
		},
	};
}

export async function scaleFigures(base: string, cli: string, versions: number, settle: number, log: (text: string) => void, uploads = 3): Promise<ScaleFigures> {
	const dir = path.join(base, `watch-scale-${versions}`);
	const root = path.join(dir, 'webroot');
	const ready = path.join(dir, 'ready');
	if (!(await readFile(ready, 'utf8').catch(() => ''))) {
		await rm(dir, {recursive: true, force: true});
		await mkdir(path.join(dir, 'scratch'), {recursive: true});
		log(`  watch-scale: writing ${versions} versions`);
		await buildMany(root, path.join(dir, 'scratch'), versions, log);
		await rm(path.join(dir, 'scratch'), {recursive: true, force: true});
		await writeFile(ready, 'yes\n');
	}

	// The uploads of an earlier run go, as do its streams and cache: the run starts cold.
	await rm(path.join(root, 'images', 'upload'), {recursive: true, force: true});
	await rm(path.join(root, 'streams'), {recursive: true, force: true});
	const cache = path.join(dir, 'cache.json');
	await rm(cache, {force: true});
	await rm(path.join(dir, 'cache.journal'), {force: true});
	const index = path.join(root, 'streams/v1/index.json');
	const template = path.dirname((await readdir(path.join(root, 'images/benchos/r00/amd64/default'))).map(name => path.join(root, 'images/benchos/r00/amd64/default', name, 'lxd.tar.xz'))[0]!);

	const started = performance.now();
	let watcher = startWatcher(cli, root, cache, settle, log);
	const latenciesMs: number[] = [];
	let peak = 0;
	let now = 0;
	let watches = 0;
	let load = 0;
	let coldStartMs = 0;
	let cpuPerUploadMs = 0;
	try {
		await waitFor('first regeneration', async () => watcher.regenerations() > 0);
		coldStartMs = performance.now() - started;
		log(`  watch-scale ${versions}: cold start to the first regeneration ${(coldStartMs / 1000).toFixed(1)} s`);
		load = loadavg()[0]!;
		const cpuBefore = await cpuNanoseconds(watcher.pid);
		for (let n = 0; n < uploads; n++) {
			const id = `upload${n}`;
			const product = path.join(root, 'images', 'upload', id, 'amd64', 'default');
			const staging = path.join(product, '.20300101_0000');
			await mkdir(product, {recursive: true});
			await cp(template, staging, {recursive: true});
			for (const file of ['root.squashfs', 'disk.qcow2']) {
				await appendFile(path.join(staging, file), `${id}\n`);
			}

			const from = performance.now();
			await rename(staging, path.join(product, '20300101_0000'));
			await waitFor(`${id} in index.json`, async () => (await readFile(index, 'utf8').catch(() => '')).includes(`"upload:${id}:amd64:default"`));
			latenciesMs.push(performance.now() - from);
			log(`  watch-scale ${versions}: upload → index.json ${Math.round(latenciesMs.at(-1)!)} ms`);
		}

		cpuPerUploadMs = (await cpuNanoseconds(watcher.pid) - cpuBefore) / 1e6 / uploads;
		({peak, now} = await memory(watcher.pid));
		watches = await inotifyWatches(watcher.pid);
	} finally {
		await watcher.stop();
	}

	const restarted = performance.now();
	watcher = startWatcher(cli, root, cache, settle, log);
	let warmPeak = 0;
	try {
		await waitFor('first regeneration after a restart', async () => watcher.regenerations() > 0);
		warmPeak = (await memory(watcher.pid)).peak;
	} finally {
		await watcher.stop();
	}

	const warmStartMs = performance.now() - restarted;
	log(`  watch-scale ${versions}: warm restart to the first regeneration ${(warmStartMs / 1000).toFixed(1)} s (peak ${(warmPeak / 1e6).toFixed(0)} MB); RSS ${(now / 1e6).toFixed(0)} MB (peak ${(peak / 1e6).toFixed(0)} MB), ${watches} inotify watches`);
	return {versions, coldStartMs, warmStartMs, latenciesMs, peakRssBytes: peak, rssBytes: now, warmPeakRssBytes: warmPeak, watches, load, settle, cpuPerUploadMs};
}

/** The (#17) target for the watcher's memory at 100,000 versions: well under 1 GB. */
const rssTargetBytes = 1e9;

/** The rows of run.ts's table for each tree size, and the runs behind them. */
export function scaleRows(figures: ScaleFigures[]): {rows: FigureRow[]; notes: string[]} {
	const s = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
	const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
	const row = (label: string, generator: string, target = '', result = ''): FigureRow => ({label, generator, floor: '', ratio: '', target, result});
	return {
		rows: figures.flatMap(f => {
			const at = `watch, ${f.versions.toLocaleString('en')} versions:`;
			const judged = f.versions >= 100_000;
			return [
				row(`${at} upload → index.json (median of ${f.latenciesMs.length})`, s(median(f.latenciesMs))),
				row(`${at} the watcher's CPU time per upload`, s(f.cpuPerUploadMs)),
				row(`${at} RSS after the uploads (peak)`, `${mb(f.rssBytes)} (${mb(f.peakRssBytes)})`, judged ? `< ${mb(rssTargetBytes)}` : '', judged ? (f.peakRssBytes < rssTargetBytes ? 'PASS' : 'MISS') : ''),
			];
		}),
		notes: figures.map(f => `watch, ${f.versions.toLocaleString('en')} versions (--settle ${f.settle}, a new product per upload so that index.json changes; 1-minute load ${f.load.toFixed(1)} at the uploads): upload → index.json ${f.latenciesMs.map(v => s(v)).join(', ')}; cold start to the first regeneration ${s(f.coldStartMs)}, warm restart ${s(f.warmStartMs)} (peak RSS ${mb(f.warmPeakRssBytes)}); ${f.watches.toLocaleString('en')} inotify watches`),
	};
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const flag = (name: string) => {
		const at = process.argv.indexOf(name);
		return at === -1 ? undefined : process.argv[at + 1];
	};

	const base = flag('--dir') ?? path.join(tmpdir(), 'simplestreams-bench');
	const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
	const figures: ScaleFigures[] = [];
	for (const versions of (flag('--versions') ?? '1000,10000,100000').split(',').map(Number)) {
		figures.push(await scaleFigures(base, cli, versions, Number(flag('--settle') ?? '0.5'), text => process.stderr.write(`${text}\n`)));
	}

	const {rows, notes} = scaleRows(figures);
	console.log([...rows.map(r => `${r.label} ${r.generator} ${r.target} ${r.result}`), ...notes].join('\n'));
}
