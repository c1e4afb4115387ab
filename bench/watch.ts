// The watcher's figures: latency from the rename that completes an upload (a dot-directory holding
// lxd.tar.xz + a 256 MiB squashfs) to the new index.json on disk; memory over 1,000 regenerations
// while versions come and go; CPU once idle. Run by bench/run.ts (--only watch), or alone:
// node dist/bench/watch.js [--dir DIR].
import {spawn} from 'node:child_process';
import {appendFile, copyFile, cp, mkdir, readdir, readFile, rename, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {Readable} from 'node:stream';
import {fileURLToPath} from 'node:url';
import {corpus} from './corpus.js';
import type {FigureRow} from './deltas.js';
import {median} from './measure.js';

export type WatchFigures = {
	latencies: Array<{settleSeconds: number; milliseconds: number[]}>;
	memory: Array<{regenerations: number; rssBytes: number; heapUsedBytes: number}>;
	/** CPU time in the quiet period before idle is measured: V8 collecting garbage once activity stops. */
	winddownCpuMilliseconds: number;
	idleCpuPercent: number;
};

/**
 * For up to 40 s after activity (seen here) V8's memory reducer runs a few full collections (some 20 ms
 * each here): idle is measured after this much quiet, over this long.
 */
const idle = {quietMs: 60_000, measureMs: 30_000};
const memoryMarks = [10, 100, 1000];
/**
 * From 100 to 1,000 regenerations the heap grows by about 1 MB of compiled code while V8 warms up (and
 * no more after); a digest cache that kept every path it had ever seen made it 2 MB.
 */
const targets = {idleCpuPercent: 0.01, heapGrowthBytes: 1.5e6};
/** A wait for the watcher longer than this is a failure, reported rather than waited out. */
const patienceMs = 60_000;

type Regenerated = {added: string[]; removed: string[]};

type Watcher = {
	pid: number;
	/** Every regeneration so far. */
	log: Regenerated[];
	/** Until a regeneration after the first `from` satisfies `done` (`what`, if it never does). */
	until: (from: number, what: string, done: (r: Regenerated) => boolean) => Promise<void>;
	/** RSS and V8 heap in use after a full garbage collection (bench/heap-probe.ts). */
	memory: () => Promise<{rssBytes: number; heapUsedBytes: number}>;
	stop: () => Promise<void>;
};

const probe = fileURLToPath(new URL('heap-probe.js', import.meta.url));
const sleep = async (ms: number) => new Promise(resolve => {
	setTimeout(resolve, ms);
});

/** Poll `ready` until it holds, or fail after patienceMs saying `what` never happened. */
async function waitFor(what: string, ready: () => Promise<boolean>, interval = 5): Promise<void> {
	const deadline = performance.now() + patienceMs;
	while (!(await ready())) {
		if (performance.now() > deadline) {
			throw new Error(`the watcher: no ${what} within ${patienceMs / 1000} s`);
		}

		await sleep(interval);
	}
}

/** A watcher's `--log json` lines on `stdout`: each regeneration handed to `regenerated`, each failure to `failed`. */
export function followRegenerations<T>(stdout: Readable, regenerated: (event: T) => void, failed: (message: string | undefined) => void): void {
	let buffered = '';
	stdout.setEncoding('utf8').on('data', (text: string) => {
		buffered += text;
		const lines = buffered.split('\n');
		buffered = lines.pop()!;
		for (const line of lines) {
			const event = JSON.parse(line) as {type: string; message?: string};
			if (event.type === 'regenerated') {
				regenerated(event as T);
			} else if (event.type === 'regeneration-failed') {
				failed(event.message);
			}
		}
	});
}

async function startWatcher(cli: string, root: string, cache: string, settleSeconds: number, log: (text: string) => void): Promise<Watcher> {
	const memoryFile = `${cache}.memory`;
	await rm(memoryFile, {force: true});
	const child = spawn(process.execPath, ['--expose-gc', '--import', probe, cli, '--watch', root, '--settle', String(settleSeconds), '--cache', cache, '--log', 'json'], {
		stdio: ['ignore', 'pipe', 'inherit'],
		env: {...process.env, SIMPLESTREAMS_BENCH_MEMORY: memoryFile},
	});
	const regenerations: Regenerated[] = [];
	followRegenerations<Regenerated>(child.stdout, event => regenerations.push(event), message => {
		log(`  watch: regeneration failed: ${message}`);
	});
	const until = async (from: number, what: string, done: (r: Regenerated) => boolean) =>
		waitFor(what, async () => regenerations.slice(from).some(r => done(r)));

	await until(0, 'first regeneration', () => true);
	return {
		pid: child.pid!,
		log: regenerations,
		until,
		async memory() {
			const lines = async () => (await readFile(memoryFile, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
			const before = (await lines()).length;
			child.kill('SIGUSR2');
			await waitFor('memory figures', async () => (await lines()).length > before, 20);
			const {rss, heapUsed} = JSON.parse((await lines()).at(-1)!) as {rss: number; heapUsed: number};
			return {rssBytes: rss, heapUsedBytes: heapUsed};
		},
		async stop() {
			child.kill('SIGTERM');
			await new Promise(resolve => child.once('exit', resolve));
		},
	};
}

/** CPU time of all the process's threads so far, in ns: schedstat is exact, /proc/PID/stat counts 10 ms ticks. */
export async function cpuNanoseconds(pid: number): Promise<number> {
	let total = 0;
	for (const task of await readdir(`/proc/${pid}/task`)) {
		total += Number((await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8').catch(() => '0')).split(' ')[0]);
	}

	return total;
}

/** Version names by the minute from 2030 on (YYYYMMDD_HHMM). */
const versionName = (n: number) => new Date(Date.UTC(2030, 0, 1) + (n * 60_000)).toISOString().replaceAll(/[-:]/g, '').replace('T', '_').slice(0, 13);

/** Upload `name` as a builder does (a dot-directory renamed into place), with a rootfs of its own: identical copies are refused as duplicates. */
async function upload(template: string, product: string, name: string): Promise<void> {
	const staging = path.join(product, `.${name}`);
	await cp(template, staging, {recursive: true});
	await appendFile(path.join(staging, 'root.squashfs'), `${name}\n`);
	await rename(staging, path.join(product, name));
}

export async function watchFigures(base: string, cli: string, log: (text: string) => void, repeat = 3, quiet = async () => {}): Promise<WatchFigures> {
	const source = (await corpus(base, 'multi', log)).versions[0]!;
	const squashfs = source.roots.find(r => r.endsWith('.squashfs'))!;
	const work = path.join(base, 'watch');
	await rm(work, {recursive: true, force: true});
	const root = path.join(work, 'webroot');
	await mkdir(path.join(root, 'images'), {recursive: true});

	const latencies: WatchFigures['latencies'] = [];
	let trial = 0;
	for (const settleSeconds of [2, 0]) {
		const watcher = await startWatcher(cli, root, path.join(work, `cache-${settleSeconds}.json`), settleSeconds, log);
		const milliseconds: number[] = [];
		try {
			for (let i = 0; i < repeat; i++) {
				// A new product each time, so index.json itself changes; a fresh copy, so it is hashed.
				const id = `bench${++trial}`;
				const staging = path.join(root, 'images', id, '1.0/amd64/default/.20240101_0000');
				await mkdir(staging, {recursive: true});
				await copyFile(source.meta, path.join(staging, 'lxd.tar.xz'));
				await copyFile(squashfs, path.join(staging, 'root.squashfs'));
				// Bytes after the filesystem keep it valid and make its fingerprint unique.
				await appendFile(path.join(staging, 'root.squashfs'), `${id}\n`);
				await quiet();
				const started = performance.now();
				await rename(staging, path.join(path.dirname(staging), '20240101_0000'));
				const index = path.join(root, 'streams/v1/index.json');
				await waitFor(`${id} in index.json`, async () => (await readFile(index, 'utf8').catch(() => '')).includes(`"${id}:1.0:amd64:default"`));
				milliseconds.push(performance.now() - started);
				log(`  watch: upload → index.json with --settle ${settleSeconds}: ${Math.round(milliseconds.at(-1)!)} ms`);
			}
		} finally {
			await watcher.stop();
		}

		latencies.push({settleSeconds, milliseconds});
	}

	// Memory while versions come and go (each step one uploaded, the oldest removed, so the tree keeps
	// its size and its paths change), on the bundled example tree; then CPU once idle.
	await rm(path.join(root, 'images'), {recursive: true});
	const examples = fileURLToPath(new URL('../../examples/webroot/images', import.meta.url));
	await cp(examples, path.join(root, 'images'), {recursive: true});
	const template = path.join(examples, 'demo/2.0/amd64/cloud/20240701_12:00');
	const product = path.join(root, 'images/churn/1.0/amd64/default');
	await mkdir(product, {recursive: true});
	const kept = 3;
	for (let n = 0; n < kept; n++) {
		await upload(template, product, versionName(n));
	}

	const watcher = await startWatcher(cli, root, path.join(work, 'cache-churn.json'), 0, log);
	try {
		const start = watcher.log.length;
		const memory: WatchFigures['memory'] = [];
		for (let step = 0; memory.length < memoryMarks.length; step++) {
			const gone = versionName(step);
			const from = watcher.log.length;
			await upload(template, product, versionName(step + kept));
			await rm(path.join(product, gone), {recursive: true});
			await watcher.until(from, `regeneration without ${gone}`, r => r.removed.includes(`churn:1.0:amd64:default ${gone}`));
			const regenerations = watcher.log.length - start;
			if (regenerations >= memoryMarks[memory.length]!) {
				memory.push({regenerations, ...await watcher.memory()});
				log(`  watch: after ${regenerations} regenerations (${step + 1} versions in and out): RSS ${(memory.at(-1)!.rssBytes / 1e6).toFixed(1)} MB, heap used ${(memory.at(-1)!.heapUsedBytes / 1e6).toFixed(2)} MB`);
			}
		}

		const lastRegeneration = await cpuNanoseconds(watcher.pid);
		await sleep(idle.quietMs);
		const quietStart = await cpuNanoseconds(watcher.pid);
		await sleep(idle.measureMs);
		const winddownCpuMilliseconds = (quietStart - lastRegeneration) / 1e6;
		const idleCpuPercent = ((await cpuNanoseconds(watcher.pid)) - quietStart) / (idle.measureMs * 1e6) * 100;
		log(`  watch: CPU in the ${idle.quietMs / 1000} s after the last regeneration ${winddownCpuMilliseconds.toFixed(1)} ms, then idle over ${idle.measureMs / 1000} s: ${idleCpuPercent.toFixed(3)} %`);
		return {latencies, memory, winddownCpuMilliseconds, idleCpuPercent};
	} finally {
		await watcher.stop();
		await rm(work, {recursive: true, force: true});
	}
}

/** The rows of run.ts's table, and the runs behind them. */
export function watchRows(figures: WatchFigures): {rows: FigureRow[]; notes: string[]} {
	const ms = (value: number) => (value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`);
	const mb = (bytes: number, digits = 1) => `${(bytes / 1e6).toFixed(digits)} MB`;
	const row = (label: string, generator: string, target = '', result = ''): FigureRow => ({label, generator, floor: '', ratio: '', target, result});
	const rows = figures.latencies.map(({settleSeconds, milliseconds}) => row(`watch: upload complete → index.json (--settle ${settleSeconds})`, ms(median(milliseconds))));
	const [, hundred, thousand] = figures.memory;
	for (const point of figures.memory) {
		const judged = point === thousand && hundred;
		const growth = judged ? point.heapUsedBytes - hundred.heapUsedBytes : 0;
		rows.push(row(
			`watch: RSS / heap used after ${point.regenerations} regenerations`,
			`${mb(point.rssBytes)} / ${mb(point.heapUsedBytes, 2)}`,
			judged ? `heap ≤ +${mb(targets.heapGrowthBytes)} on ${hundred.regenerations}` : '',
			judged ? (growth <= targets.heapGrowthBytes ? 'PASS' : 'MISS') : '',
		));
	}

	rows.push(row(`watch: CPU while idle (after ${idle.quietMs / 1000} s quiet, over ${idle.measureMs / 1000} s)`, `${figures.idleCpuPercent.toFixed(3)}% of a core`, `< ${targets.idleCpuPercent}%`, figures.idleCpuPercent < targets.idleCpuPercent ? 'PASS' : 'MISS'));
	return {
		rows,
		notes: [
			...figures.latencies.map(({settleSeconds, milliseconds}) => `watch --settle ${settleSeconds}: upload → index.json ${milliseconds.map(v => ms(v)).join(', ')}`),
			'watch memory: the example tree plus a product whose versions come and go (one uploaded, the oldest removed, per step), --settle 0; RSS and heap used after a full GC in the watcher (node --expose-gc, bench/heap-probe.ts)',
			`watch CPU (all its threads, /proc/PID/task/*/schedstat): ${figures.winddownCpuMilliseconds.toFixed(1)} ms in the ${idle.quietMs / 1000} s after the last regeneration (V8 collecting garbage once activity stops), then ${figures.idleCpuPercent.toFixed(3)}% of a core`,
		],
	};
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const dirFlag = process.argv.indexOf('--dir');
	const base = dirFlag === -1 ? path.join(tmpdir(), 'simplestreams-bench') : process.argv[dirFlag + 1]!;
	const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
	console.log(JSON.stringify(await watchFigures(base, cli, text => process.stderr.write(`${text}\n`)), undefined, 1));
}
