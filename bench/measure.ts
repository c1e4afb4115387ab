// Timing primitives: a child's wall time, CPU time and peak RSS; waiting for a quiet machine.
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {mkdtemp, open, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';

/** `cpuMilliseconds`: user + system time of the child and all its threads. */
export type Timed = {milliseconds: number; cpuMilliseconds?: number; rssBytes?: number; stdout: string};

/** GNU time reports the child's ru_maxrss and CPU times (all its threads) from wait4: exact, unlike polling. */
const gnuTime = (() => {
	if (!existsSync('/usr/bin/time')) {
		return undefined;
	}

	const probe = spawnSync('/usr/bin/time', ['--version'], {encoding: 'utf8'});
	return `${probe.stdout}${probe.stderr}`.includes('GNU') ? '/usr/bin/time' : undefined;
})();

export const rssMethod = gnuTime ? 'GNU time %M, %U + %S (wait4 ru_maxrss, ru_utime + ru_stime)' : '/proc/PID/status VmHWM, polled every 5 ms (no CPU time without GNU time)';

/** The high-water mark of a live process's RSS, or undefined once it is gone. */
function vmHwm(pid: number): number | undefined {
	try {
		const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Number(match[1]) * 1024 : undefined;
	} catch {
		return undefined;
	}
}

/**
 * Run `argv` to completion: wall time from spawn to exit, and its peak RSS and CPU time when `rss` is set.
 * stderr goes to `log` (or nowhere); a non-zero exit rejects with the log's tail.
 */
export async function timed(argv: readonly string[], options: {rss?: boolean; log?: string} = {}): Promise<Timed> {
	const scratch = await mkdtemp(path.join(tmpdir(), 'ss-bench-time-'));
	const rssFile = path.join(scratch, 'rss');
	const [command, ...args] = options.rss && gnuTime ? [gnuTime, '-f', '%M %U %S', '-o', rssFile, '--', ...argv] : argv;
	const log = options.log ? await open(options.log, 'w') : undefined;
	try {
		const started = performance.now();
		const child = spawn(command!, args, {stdio: ['ignore', 'pipe', log ? log.fd : 'ignore']});
		let stdout = '';
		child.stdout!.setEncoding('utf8').on('data', (text: string) => {
			stdout += text;
		});
		let polled: number | undefined;
		const poll = options.rss && !gnuTime && child.pid !== undefined
			? setInterval(() => {
				polled = vmHwm(child.pid!) ?? polled;
			}, 5)
			: undefined;
		const code = await new Promise<number | null>((resolve, reject) => {
			child.on('error', reject);
			child.on('close', resolve);
		});
		const milliseconds = performance.now() - started;
		clearInterval(poll);
		if (code !== 0) {
			const tail = options.log ? (await readFile(options.log, 'utf8')).split('\n').slice(-15).join('\n') : '';
			throw new Error(`${argv.join(' ')} exited with ${String(code)}\n${tail}`);
		}

		let rssBytes = polled;
		let cpuMilliseconds: number | undefined;
		if (options.rss && gnuTime) {
			const [kilobytes, user, system] = (await readFile(rssFile, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number];
			rssBytes = kilobytes * 1024;
			cpuMilliseconds = (user + system) * 1000;
		}

		return {milliseconds, cpuMilliseconds, rssBytes, stdout};
	} finally {
		await log?.close();
		await rm(scratch, {recursive: true, force: true});
	}
}

/** Read every file once (to /dev/null) so it sits in the page cache. */
export async function warm(files: readonly string[]): Promise<void> {
	for (let index = 0; index < files.length; index += 1000) {
		const result = spawnSync('cat', ['--', ...files.slice(index, index + 1000)], {stdio: ['ignore', 'ignore', 'pipe']});
		if (result.status !== 0) {
			throw new Error(`warm-up read failed: ${String(result.stderr)}`);
		}
	}
}

/** A duration as the benchmark's tables show it: ms below a second, else seconds to 10 ms. */
export const seconds = (milliseconds: number) => (milliseconds < 1000 ? `${Math.round(milliseconds)} ms` : `${(milliseconds / 1000).toFixed(2)} s`);

/** A throughput as the tables show it. */
export const rate = (bytes: number, milliseconds: number) => `${(bytes / milliseconds / 1e6).toFixed(2)} GB/s`;

export function median(values: readonly number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Busy and total jiffies of all CPUs so far, from /proc/stat. */
function cpuTimes(): {busy: number; total: number} | undefined {
	try {
		const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
		const total = fields.reduce((sum, value) => sum + value, 0);
		const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
		return {busy: total - idle, total};
	} catch {
		return undefined;
	}
}

/** How busy all CPUs were (0-1) over the next `milliseconds`. */
export async function busyFraction(milliseconds: number): Promise<number | undefined> {
	const before = cpuTimes();
	await new Promise(resolve => {
		setTimeout(resolve, milliseconds);
	});
	const after = cpuTimes();
	return before && after && after.total > before.total ? (after.busy - before.busy) / (after.total - before.total) : undefined;
}

/**
 * Wait (at most `patience` ms) for a second in which other processes keep the CPUs under 10% busy,
 * so a measurement does not share the machine. Returns false if the machine stayed busy.
 */
export async function waitQuiet(patience: number): Promise<boolean> {
	const deadline = performance.now() + patience;
	for (;;) {
		const busy = await busyFraction(1000);
		if (busy === undefined || busy < 0.1) {
			return true;
		}

		if (performance.now() > deadline) {
			return false;
		}
	}
}
