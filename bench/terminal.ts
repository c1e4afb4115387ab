// The live tree's cost: the same cold build run in a real terminal (a pane of a private tmux server,
// CI variables cleared) drawn as the live tree and as --plain lines. The job is timed inside the pane
// by bash's `time` (wall, user and sys to the millisecond), so neither tmux nor the polling here is in
// the figures. Called from bench/run.ts (--only tree).
import {execFileSync} from 'node:child_process';
import {rmSync} from 'node:fs';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import {noCi, quote} from '../test/helpers/terminal.js';
import {corpusTitles, type Corpus, type CorpusName} from './corpus.js';
import type {FigureRow} from './deltas.js';
import {median, seconds, warm} from './measure.js';

/** The bound: the tree may cost at most 5% of wall time. */
const target = 1.05;
const size = {width: 120, height: 40};

type Mode = 'tree' | 'plain';
type Times = {wall: number; cpu: number};

/**
 * What each mode must leave on the screen, so that two plain runs (a CI variable that got through,
 * no TTY) fail loudly instead of measuring nothing: the live reporter alone prints its final frame,
 * in colour; the plain one prints lines without a single escape code.
 */
const drawn: Record<Mode, (screen: string, raw: string) => boolean> = {
	tree: (screen, raw) => screen.includes('✓ done in') && screen.includes('▾ ') && !/^hashed /m.test(screen) && raw.includes('\u001B['),
	plain: (screen, raw) => /^hashed /m.test(screen) && /^wrote streams\/v1\/index\.json$/m.test(screen) && !raw.includes('\u001B'),
};

export type TreeOptions = {
	/** The generator's command line for a root and a digest cache (run.ts's, with its --cli and --jobs). */
	argv: (root: string, cacheFile: string) => string[];
	cacheFile: string;
	repeat: number;
	settle: () => Promise<void>;
	log: (text: string) => void;
};

export async function treeFigure(c: Corpus, options: TreeOptions): Promise<{rows: FigureRow[]; notes: string[]}> {
	options.log(`live tree vs --plain in a ${size.width}×${size.height} tmux pane: ${c.name} corpus, cold build (fresh digest cache)`);
	await warm(c.versions.flatMap(v => [v.meta, ...v.roots]));
	// The server's socket and the timings in a scratch directory (tmux leaves its socket file behind).
	const scratch = await mkdtemp(path.join(tmpdir(), 'ss-bench-tree-'));
	const socket = path.join(scratch, 'tmux.sock');
	const result = path.join(scratch, 'time');
	const tmux = (...args: string[]) => execFileSync('tmux', ['-f', '/dev/null', '-S', socket, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
	const stop = () => {
		try {
			tmux('kill-server');
		} catch {} // No server left: nothing to stop.

		rmSync(scratch, {recursive: true, force: true});
	};

	// The pane's server is no child of ours: a Ctrl-C here would leave it running the job.
	const interrupted = () => {
		stop();
		process.exit(130);
	};

	/** One cold build in a fresh pane: no digest cache, no streams, so every run hashes everything. */
	const timedRun = async (mode: Mode): Promise<Times> => {
		await rm(options.cacheFile, {force: true});
		await rm(path.join(c.root, 'streams'), {recursive: true, force: true});
		await rm(result, {force: true});
		const job = [...options.argv(c.root, options.cacheFile), ...(mode === 'plain' ? ['--plain'] : [])].map(quote).join(' ');
		// The job's stderr goes to the pane (fd 3), `time`'s line to the file, then the exit code; the
		// file appears complete (mv). The pane then stays a while for capture-pane, and goes on its own
		// should this process die without stopping the server.
		const part = quote(`${result}.part`);
		const script = `TIMEFORMAT='%3R %3U %3S'; { time ${job} 2>&3 3>&-; } 3>&2 2>${part}; echo $? >> ${part}; mv ${part} ${quote(result)}; sleep 60`;
		await options.settle();
		tmux('new-session', '-d', '-x', String(size.width), '-y', String(size.height), '-s', mode, `env ${noCi} bash -c ${quote(script)}`);
		const deadline = Date.now() + 600_000;
		let text: string | undefined;
		while (text === undefined) {
			if (Date.now() > deadline) {
				throw new Error(`tree benchmark: the ${mode} run did not finish in 10 minutes; the screen:\n${tmux('capture-pane', '-p', '-t', mode)}`);
			}

			await delay(50);
			text = await readFile(result, 'utf8').catch(() => undefined);
		}

		// -S -: the pane's history too, should the plain lines outgrow the screen; -e: escape codes kept.
		const capture = (...flags: string[]) => tmux('capture-pane', '-p', '-S', '-', ...flags, '-t', mode);
		const [screen, raw] = [capture(), capture('-e')];
		tmux('kill-session', '-t', mode);
		const [times, code] = text.trim().split('\n');
		if (code !== '0') {
			throw new Error(`tree benchmark: the ${mode} run exited with ${code}; the screen:\n${screen}`);
		}

		if (!drawn[mode](screen, raw)) {
			throw new Error(`tree benchmark: the ${mode} run did not draw ${mode === 'tree' ? 'the live tree' : 'plain lines'}; the screen:\n${screen}`);
		}

		const [real, user, sys] = times!.split(' ').map(value => Number(value) * 1000) as [number, number, number];
		return {wall: real, cpu: user + sys};
	};

	const runs: Record<Mode, Times[]> = {tree: [], plain: []};
	process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
	try {
		for (let run = 1; run <= options.repeat; run++) {
			// Alternating which goes first spreads slow phases of the machine over both modes.
			for (const mode of run % 2 === 1 ? ['tree', 'plain'] as const : ['plain', 'tree'] as const) {
				const times = await timedRun(mode);
				runs[mode].push(times);
				options.log(`  ${mode} run ${run}: ${seconds(times.wall)} (CPU ${seconds(times.cpu)})`);
			}
		}
	} finally {
		process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
		stop();
	}

	const figure = (mode: Mode, key: keyof Times) => median(runs[mode].map(times => times[key]));
	const ratio = (key: keyof Times) => figure('tree', key) / figure('plain', key);
	const list = (mode: Mode, key: keyof Times) => runs[mode].map(times => seconds(times[key])).join(', ');
	return {
		rows: [
			{
				label: `${c.name}: cold build in a pty, live tree vs --plain (wall)`,
				generator: `${seconds(figure('tree', 'wall'))} (tree)`,
				floor: `${seconds(figure('plain', 'wall'))} (--plain)`,
				ratio: `${ratio('wall').toFixed(3)}×`,
				target: `≤ ${target}×`,
				result: ratio('wall') <= target ? 'PASS' : 'MISS',
			},
			{
				label: `${c.name}: same, CPU time of the generator (user+sys)`,
				generator: `${seconds(figure('tree', 'cpu'))} (tree)`,
				floor: `${seconds(figure('plain', 'cpu'))} (--plain)`,
				ratio: `${ratio('cpu').toFixed(3)}×`,
				target: '',
				result: '',
			},
		],
		notes: [
			`tree: the generator as above, with the live tree and with --plain, on the ${c.name} corpus (${corpusTitles[c.name as CorpusName]}) in a ${size.width}×${size.height} pane of a private tmux server, CI variables cleared; wall and CPU timed by bash \`time\` inside the pane; which mode runs first alternates`,
			`tree runs: wall ${list('tree', 'wall')}; --plain ${list('plain', 'wall')}; CPU ${list('tree', 'cpu')}; --plain ${list('plain', 'cpu')}`,
		],
	};
}
