// The watcher's figures: latency from the rename that completes an upload (a dot-directory holding
// lxd.tar.xz + a 256 MiB squashfs) to the new index.json on disk, CPU while idle, and memory over
// 1,000 regenerations. Run by bench/run.ts, or alone: node dist/bench/watch.js [--dir DIR].
import {spawn, type ChildProcess} from 'node:child_process';
import {appendFile, copyFile, cp, mkdir, readFile, rename, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {corpus} from './corpus.js';

export type WatchFigures = {latencies: Array<{settleSeconds: number; milliseconds: number[]}>; idleCpuPercent: number; rss: Array<{regenerations: number; bytes: number}>};

type Watcher = {child: ChildProcess; regenerations: () => number; next: (count: number) => Promise<void>; stop: () => Promise<void>};

const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
const sleep = async (ms: number) => new Promise(resolve => {
	setTimeout(resolve, ms);
});

async function startWatcher(root: string, cache: string, settleSeconds: number): Promise<Watcher> {
	const child = spawn(process.execPath, [cli, '--watch', root, '--settle', String(settleSeconds), '--cache', cache, '--log', 'json'], {stdio: ['ignore', 'pipe', 'inherit']});
	let count = 0;
	let buffered = '';
	const waiting: Array<{count: number; resolve: () => void}> = [];
	child.stdout!.setEncoding('utf8').on('data', (text: string) => {
		buffered += text;
		const lines = buffered.split('\n');
		buffered = lines.pop()!;
		for (const line of lines) {
			if ((JSON.parse(line) as {type: string}).type === 'regenerated') {
				count++;
				for (const waiter of waiting.filter(w => w.count <= count)) {
					waiting.splice(waiting.indexOf(waiter), 1);
					waiter.resolve();
				}
			}
		}
	});
	const next = async (target: number) => new Promise<void>(resolve => {
		if (count >= target) {
			resolve();
		} else {
			waiting.push({count: target, resolve});
		}
	});
	await next(1);
	return {
		child,
		regenerations: () => count,
		next,
		async stop() {
			child.kill('SIGTERM');
			await new Promise(resolve => child.once('exit', resolve));
		},
	};
}

/** utime + stime of a process, in seconds. */
async function cpuSeconds(pid: number): Promise<number> {
	const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
	return (Number(fields[11]) + Number(fields[12])) / 100; // Clock ticks at USER_HZ = 100.
}

async function rssBytes(pid: number): Promise<number> {
	const match = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
	return Number(match?.[1] ?? 0) * 1024;
}

export async function watchFigures(base: string, log: (text: string) => void, repeat = 3): Promise<WatchFigures> {
	const source = (await corpus(base, 'multi', log)).versions[0]!;
	const squashfs = source.roots.find(r => r.endsWith('.squashfs'))!;
	const work = path.join(base, 'watch');
	await rm(work, {recursive: true, force: true});
	const root = path.join(work, 'webroot');
	await mkdir(path.join(root, 'images'), {recursive: true});

	const latencies: WatchFigures['latencies'] = [];
	let trial = 0;
	for (const settleSeconds of [2, 0]) {
		const watcher = await startWatcher(root, path.join(work, `cache-${settleSeconds}.json`), settleSeconds);
		const milliseconds: number[] = [];
		for (let i = 0; i < repeat; i++) {
			// A new product each time, so index.json itself changes; a fresh copy, so it is hashed.
			const id = `bench${++trial}`;
			const upload = path.join(root, 'images', id, '1.0/amd64/default/.20240101_0000');
			await mkdir(upload, {recursive: true});
			await copyFile(source.meta, path.join(upload, 'lxd.tar.xz'));
			await copyFile(squashfs, path.join(upload, 'root.squashfs'));
			// Bytes after the filesystem keep it valid and make its fingerprint unique: a copy of an
			// already published image would rightly be left out as a duplicate.
			await appendFile(path.join(upload, 'root.squashfs'), `${id}\n`);
			const started = performance.now();
			await rename(upload, path.join(path.dirname(upload), '20240101_0000'));
			const index = path.join(root, 'streams/v1/index.json');
			while (!(await readFile(index, 'utf8').catch(() => '')).includes(`"${id}:1.0:amd64:default"`)) {
				await sleep(5);
			}

			milliseconds.push(performance.now() - started);
			log(`  watch: upload → index.json with --settle ${settleSeconds}: ${Math.round(milliseconds.at(-1)!)} ms`);
		}

		latencies.push({settleSeconds, milliseconds});
		await watcher.stop();
	}

	// Idle and long-run figures on the bundled example tree, triggering regenerations with SIGHUP.
	await rm(path.join(root, 'images'), {recursive: true});
	await cp(fileURLToPath(new URL('../../examples/webroot/images', import.meta.url)), path.join(root, 'images'), {recursive: true});
	const watcher = await startWatcher(root, path.join(work, 'cache-idle.json'), 0);
	const pid = watcher.child.pid!;
	await sleep(1000);
	const cpuBefore = await cpuSeconds(pid);
	await sleep(10_000);
	const idleCpuPercent = ((await cpuSeconds(pid)) - cpuBefore) / 10 * 100;
	log(`  watch: idle CPU over 10 s: ${idleCpuPercent.toFixed(2)} %`);
	const rss: WatchFigures['rss'] = [];
	for (let i = 1; i <= 1000; i++) {
		const target = watcher.regenerations() + 1;
		watcher.child.kill('SIGHUP');
		await watcher.next(target);
		if (i === 10 || i === 100 || i === 1000) {
			global.gc?.();
			rss.push({regenerations: i, bytes: await rssBytes(pid)});
			log(`  watch: RSS after ${i} regenerations: ${(rss.at(-1)!.bytes / 1e6).toFixed(1)} MB`);
		}
	}

	await watcher.stop();
	await rm(work, {recursive: true, force: true});
	return {latencies, idleCpuPercent, rss};
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const dirFlag = process.argv.indexOf('--dir');
	const base = dirFlag === -1 ? path.join(tmpdir(), 'simplestreams-bench') : process.argv[dirFlag + 1]!;
	console.log(JSON.stringify(await watchFigures(base, text => process.stderr.write(`${text}\n`)), undefined, 1));
}
