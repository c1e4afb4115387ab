// The rows of issue #17's table: each cold build against the limit measured in this run (limit.ts)
// or against the original Python tool's figures as the issue gives them (not measured here), with
// the issue's targets. Wall time, CPU time (all threads) and peak RSS of each run are kept; on a
// shared machine wall time mostly measures the others' load, CPU time does not.
import {readFile, rm, stat} from 'node:fs/promises';
import path from 'node:path';
import {receiptPath} from '../source/pipeline/receipt.js';
import type {Corpus} from './corpus.js';
import {measureFloor} from './floor.js';
import {limitMilliseconds, shaBytes, type Limit} from './limit.js';
import {median, seconds, timed, warm, type Timed} from './measure.js';

export type IssueRow = {work: string; yardstick: string; now: string; target: string; result: string};

export const issueColumns = ['work', 'yardstick', 'now', 'target', 'result'] as const;

export const issueHeaders: IssueRow = {work: 'work', yardstick: 'limit / the original', now: 'simplestreams now', target: 'target', result: 'met, or the distance'};

/** The original tool's figures, from the issue (measured there on the same trees; not re-measured). */
const original = {
	many: {milliseconds: 3800, rssBytes: 75e6},
	again: {milliseconds: 2100},
	few: {milliseconds: 510, rssBytes: 18e6},
};

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const gigabytes = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

export type RunOptions = {
	/** argv of a -N run of the generator on `root` with the digest cache `cacheFile`. */
	argv: (root: string, cacheFile: string) => string[];
	base: string;
	repeat: number;
	settle: () => Promise<void>;
	log: (text: string) => void;
};

type Runs = {wall: number; cpu: number; rss: number; all: Timed[]};

function summary(all: Timed[]): Runs {
	return {
		wall: median(all.map(r => r.milliseconds)),
		cpu: median(all.map(r => r.cpuMilliseconds ?? Number.NaN)),
		rss: Math.max(...all.map(r => r.rssBytes ?? Number.NaN)),
		all,
	};
}

const nowText = (runs: Runs) => `${seconds(runs.wall)}, CPU ${seconds(runs.cpu)}, ${megabytes(runs.rss)}`;

/** `repeat` cold builds of `c`: no digest cache, no receipt, no streams; files in the page cache. */
async function coldBuilds(c: Corpus, options: RunOptions): Promise<Runs> {
	const cacheFile = path.join(options.base, 'run', `${c.name}.cache.json`);
	await warm(c.versions.flatMap(v => [v.meta, ...v.roots]));
	const all: Timed[] = [];
	for (let run = 1; run <= options.repeat; run++) {
		await rm(cacheFile, {force: true});
		await rm(receiptPath(cacheFile), {force: true});
		await rm(path.join(c.root, 'streams'), {recursive: true, force: true});
		await options.settle();
		all.push(await timed(options.argv(c.root, cacheFile), {rss: true, log: path.join(options.base, 'run', `${c.name}-cold-${run}.log`)}));
		options.log(`  ${c.name} cold run ${run}: ${nowText(summary(all.slice(-1)))}`);
	}

	return summary(all);
}

/** A cold build of a corpus of large images against the limit: ≤ 1.25× it. */
export async function largeRow(c: Corpus, title: string, limit: Limit, options: RunOptions): Promise<{row: IssueRow; note: string}> {
	const sizes = new Map<string, number>();
	for (const file of c.versions.flatMap(v => [v.meta, ...v.roots])) {
		sizes.set(file, (await stat(file)).size);
	}

	const bytes = shaBytes(c, sizes);
	const bound = limitMilliseconds(bytes, limit);
	const runs = await coldBuilds(c, options);
	const floors: number[] = [];
	for (let run = 1; run <= options.repeat; run++) {
		await options.settle();
		floors.push(await measureFloor(c));
	}

	const floor = median(floors);
	const wallRatio = runs.wall / bound.wall;
	const cpuRatio = runs.cpu / bound.cpu;
	const target = 1.25;
	return {
		row: {
			work: `${title}, cold`,
			yardstick: `limit ${seconds(bound.wall)} (${gigabytes(bytes)} of SHA-256 on ${limit.cores} cores; CPU ${seconds(bound.cpu)})`,
			now: `${nowText(runs)} (${wallRatio.toFixed(2)}× the limit; CPU ${cpuRatio.toFixed(2)}×)`,
			target: `≤ ${target}× the limit`,
			result: wallRatio <= target ? 'met' : `${(wallRatio / target).toFixed(2)}× the target (by CPU time: ${cpuRatio <= target ? 'met' : `${(cpuRatio / target).toFixed(2)}× the target`})`,
		},
		note: `${c.name} cold runs: ${runs.all.map(r => `${seconds(r.milliseconds)} (CPU ${seconds(r.cpuMilliseconds ?? Number.NaN)}, ${megabytes(r.rssBytes ?? Number.NaN)})`).join('; ')}; the same files hashed by bare threads (bench/floor.ts): ${seconds(floor)} (${(floor / bound.wall).toFixed(2)}× the limit; runs ${floors.map(seconds).join(', ')})`,
	};
}

/** Distance from a bound, as the table says it: `met`, or how far over. */
function distance(value: number, bound: number, unit: (v: number) => string): string | undefined {
	return value <= bound ? undefined : `${unit(value - bound)} over (${(value / bound).toFixed(2)}×)`;
}

function verdict(parts: Array<string | undefined>): string {
	const over = parts.filter(part => part !== undefined);
	return over.length === 0 ? 'met' : over.join('; ');
}

/**
 * The small-file rows: 10,000 versions cold (≤ half the original's time, ≤ 120 MB), the same again
 * with no change (≤ 0.5 s), and 21 small files cold (≤ 60 MB).
 */
export async function smallRows(many: Corpus | undefined, few: Corpus | undefined, options: RunOptions): Promise<{rows: IssueRow[]; notes: string[]}> {
	const rows: IssueRow[] = [];
	const notes: string[] = [];
	const runsNote = (name: string, runs: Runs) => `${name}: ${runs.all.map(r => `${seconds(r.milliseconds)} (CPU ${seconds(r.cpuMilliseconds ?? Number.NaN)}, ${megabytes(r.rssBytes ?? Number.NaN)})`).join('; ')}`;
	if (many) {
		const cold = await coldBuilds(many, options);
		const time = original.many.milliseconds / 2;
		rows.push({
			work: '10,000 versions × 3 small files, cold',
			yardstick: `original ${seconds(original.many.milliseconds)}, ${megabytes(original.many.rssBytes)} (the issue's figures)`,
			now: nowText(cold),
			target: `≤ ${seconds(time)} (0.5× the original), ≤ 120 MB`,
			result: verdict([distance(cold.wall, time, seconds), distance(cold.rss, 120e6, megabytes)]),
		});
		notes.push(runsNote('many cold runs', cold));

		const cacheFile = path.join(options.base, 'run', `${many.name}.cache.json`);
		const all: Timed[] = [];
		for (let run = 1; run <= options.repeat; run++) {
			await options.settle();
			const log = path.join(options.base, 'run', `${many.name}-again-${run}.log`);
			all.push(await timed(options.argv(many.root, cacheFile), {rss: true, log}));
			const text = await readFile(log, 'utf8');
			if (/^hashed /m.test(text) || !/^unchanged streams\/v1\/images\.json$/m.test(text)) {
				throw new Error(`a no-change re-run hashed or wrote something: see ${log}`);
			}

			options.log(`  ${many.name} no-change run ${run}: ${nowText(summary(all.slice(-1)))}`);
		}

		const again = summary(all);
		rows.push({
			work: 'the same, no change, -N again',
			yardstick: `original ${seconds(original.again.milliseconds)} (the issue's figure)`,
			now: nowText(again),
			target: '≤ 500 ms',
			result: verdict([distance(again.wall, 500, seconds)]),
		});
		notes.push(runsNote('many no-change runs', again));
	}

	if (few) {
		const cold = await coldBuilds(few, options);
		rows.push({
			work: '21 small files, cold',
			yardstick: `original ${seconds(original.few.milliseconds)}, ${megabytes(original.few.rssBytes)} (the issue's figures)`,
			now: nowText(cold),
			target: '≤ 60 MB',
			result: verdict([distance(cold.rss, 60e6, megabytes)]),
		});
		notes.push(runsNote('few cold runs', cold));
	}

	return {rows, notes};
}
