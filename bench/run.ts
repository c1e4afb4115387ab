// `npm run bench`: builds (once) the benchmark corpora and prints issue #17's table side by side:
// each cold build against the limit measured in this run (limit.ts) or the original tool's figures
// (the issue's), with its target; then, on request, the live tree's cost, deltas, verify and the watcher.
import {spawnSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {availableParallelism, cpus, loadavg, release, tmpdir, totalmem} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import {corpus, corpusTitles, corpusVersion, type Corpus, type CorpusName} from './corpus.js';
import {deltaFigure, verifyFigure, type FigureRow} from './deltas.js';
import {issueColumns, issueHeaders, largeRow, smallRows, type IssueRow, type RunOptions} from './issue.js';
import {limitMilliseconds, measureLimit, shaBytes} from './limit.js';
import {rssMethod, waitQuiet} from './measure.js';
import {nodeStartNote} from './start.js';
import {markdownTable, textTable, type Table} from './table.js';
import {treeFigure} from './terminal.js';
import {watchFigures, watchRows} from './watch.js';
import {scaleFigures, scaleRows, type ScaleFigures} from './watch-scale.js';

const issueRows = ['multi', 'single', 'many', 'few'] as const;

/** In the --results file, what follows this line is written by hand and kept. */
const keepMarker = '<!-- written by hand from here on: npm run bench -- --results keeps it -->';
const extras = ['verify', 'deltas', 'tree', 'watch', 'watch-scale'] as const;

const usage = `Usage: npm run bench -- [options]

  --dir DIR       where the corpora live (default: ${path.join(tmpdir(), 'simplestreams-bench')});
                  they are built once and reused while their version (${corpusVersion}) is current
  --clean         delete DIR and exit
  --only LIST     comma-separated subset of: ${[...issueRows, ...extras].join(',')} (default: the
                  issue's rows, ${issueRows.join(',')}); verify: simplestreams verify of multi against
                  the limit; deltas: the test pair's delta; tree: a cold build of the long corpus
                  (4 × 3 GiB squashfs) in a pty (tmux), live tree against --plain; watch: the watcher;
                  watch-scale: the watcher on trees of small versions (see --watch-versions)
  --watch-versions LIST  the tree sizes of watch-scale (default: 1000,10000,100000), each built once
                  in DIR and reused
  --repeat N      runs per timed measurement, median reported (default: 3)
  --jobs N        pass -j N to the generator (default: its own default)
  --cli FILE      the generator to measure (default: this build's dist/cli.js), e.g. an older build
  --quiet S       before each timed run wait up to S seconds for a second of idle CPUs (default: 10;
                  0 to not wait); runs that had to start on a busy machine are counted in the notes
  --results FILE  also write the figures as Markdown to FILE (e.g. bench/RESULTS.md), keeping what
                  the file has after the line "${keepMarker}"`;

const {values: flags} = parseArgs({
	options: {
		dir: {type: 'string'},
		clean: {type: 'boolean', default: false},
		only: {type: 'string', default: issueRows.join(',')},
		repeat: {type: 'string', default: '3'},
		jobs: {type: 'string'},
		cli: {type: 'string'},
		quiet: {type: 'string', default: '10'},
		results: {type: 'string'},
		'watch-versions': {type: 'string', default: '1000,10000,100000'},
		help: {type: 'boolean', short: 'h', default: false},
	},
});

const log = (text: string) => {
	process.stderr.write(`${text}\n`);
};

/** Timed runs so far, and how many of them started while other processes kept the machine busy. */
const quietness = {runs: 0, busy: 0, load: [] as number[]};

/** Before a timed run: give other processes' load a chance to pass (see --quiet). */
async function settle(): Promise<void> {
	quietness.runs++;
	quietness.load.push(loadavg()[0]!);
	const patience = Number(flags.quiet) * 1000;
	if (patience > 0 && !(await waitQuiet(patience))) {
		quietness.busy++;
		log('  (the machine is busy with other processes: measuring anyway)');
	}
}

const cli = path.resolve(flags.cli ?? fileURLToPath(new URL('../cli.js', import.meta.url)));

function generatorArgv(root: string, cacheFile: string): string[] {
	return [process.execPath, cli, '-N', root, '--cache', cacheFile, ...(flags.jobs ? ['-j', flags.jobs] : [])];
}

const figureHeaders: FigureRow = {label: 'measurement', generator: 'simplestreams', floor: 'compared with', ratio: 'ratio', target: 'target', result: 'result'};
const figureColumns = ['label', 'generator', 'floor', 'ratio', 'target', 'result'] as const;

function machine(): string[] {
	const os = existsSync('/etc/os-release') ? /^PRETTY_NAME="?([^"\n]*)/m.exec(spawnSync('cat', ['/etc/os-release'], {encoding: 'utf8'}).stdout)?.[1] : undefined;
	const openssl = spawnSync('openssl', ['version'], {encoding: 'utf8'}).stdout.trim();
	return [
		`nproc: ${availableParallelism()}`,
		`CPU: ${cpus()[0]?.model ?? 'unknown'}`,
		`memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
		`node: ${process.version}`,
		`${openssl}`,
		`kernel: ${release()}${os ? ` (${os})` : ''}`,
	];
}

async function main(): Promise<void> {
	if (flags.help) {
		process.stdout.write(`${usage}\n`);
		return;
	}

	const base = path.resolve(flags.dir ?? path.join(tmpdir(), 'simplestreams-bench'));
	if (flags.clean) {
		await rm(base, {recursive: true, force: true});
		log(`removed ${base}`);
		return;
	}

	for (const tool of ['openssl', 'mksquashfs', 'qemu-img', 'xz', 'tar', 'xdelta3']) {
		if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
			throw new Error(`the benchmark needs ${tool}: run bash scripts/system-deps.sh as root`);
		}
	}

	const repeat = Number(flags.repeat);
	if (!Number.isInteger(repeat) || repeat < 1) {
		throw new Error(`--repeat must be a whole number of at least 1, got ${flags.repeat}`);
	}

	const names = flags.only.split(',').map(name => name.trim());
	for (const name of names) {
		if (![...issueRows, ...extras].includes(name as never)) {
			throw new Error(`--only: unknown measurement ${name} (expected ${[...issueRows, ...extras].join(', ')})`);
		}
	}

	await mkdir(path.join(base, 'run'), {recursive: true});
	const corpora = new Map<CorpusName, Corpus>();
	for (const name of issueRows.filter(name => names.includes(name) || (name === 'multi' && names.includes('verify')))) {
		corpora.set(name, await corpus(base, name, log));
	}

	const startLoad = loadavg()[0]!;
	const limit = measureLimit();
	log(`limit: SHA-256 at ${(limit.rate / 1e9).toFixed(2)} GB/s per core (openssl speed ${limit.openssl ? `${(limit.openssl / 1e9).toFixed(2)}` : 'not run'}, Node ${(limit.node / 1e9).toFixed(2)}) × ${limit.cores} cores`);
	const options: RunOptions = {argv: generatorArgv, base, repeat, settle, log};
	const rows: IssueRow[] = [];
	const notes: string[] = [];
	for (const name of ['multi', 'single'] as const) {
		const c = corpora.get(name);
		if (c && names.includes(name)) {
			log(corpusTitles[name]);
			const {row, note} = await largeRow(c, name === 'multi' ? '3 × (metadata + 256 MiB squashfs + 256 MiB qcow2)' : '1 × 1 GiB squashfs', limit, options);
			rows.push(row);
			notes.push(note);
		}
	}

	const small = await smallRows(names.includes('many') ? corpora.get('many') : undefined, names.includes('few') ? corpora.get('few') : undefined, options);
	rows.push(...small.rows);
	notes.push(...small.notes);

	const figures: FigureRow[] = [];
	const multi = corpora.get('multi');
	if (names.includes('verify') && multi) {
		const sizes = new Map<string, number>();
		for (const file of multi.versions.flatMap(v => [v.meta, ...v.roots])) {
			sizes.set(file, (await stat(file)).size);
		}

		const bytes = shaBytes(multi, sizes);
		const verified = await verifyFigure(multi, cli, bytes, limitMilliseconds(bytes, limit).wall, repeat, settle);
		figures.push(verified.row);
		notes.push(verified.note);
	}

	if (names.includes('deltas')) {
		const delta = await deltaFigure(base, cli);
		figures.push(delta.row);
		notes.push(delta.note);
	}

	if (names.includes('tree')) {
		const tree = await treeFigure(await corpus(base, 'long', log), {argv: generatorArgv, cacheFile: path.join(base, 'run', 'tree.cache.json'), repeat, settle, log});
		figures.push(...tree.rows);
		notes.push(...tree.notes);
	}

	if (names.includes('watch')) {
		const watch = watchRows(await watchFigures(base, cli, log, repeat, settle));
		figures.push(...watch.rows);
		notes.push(...watch.notes);
	}

	if (names.includes('watch-scale')) {
		const scaled: ScaleFigures[] = [];
		for (const versions of flags['watch-versions'].split(',').map(Number)) {
			await settle();
			scaled.push(await scaleFigures(base, cli, versions, 0.5, log));
		}

		const scale = scaleRows(scaled);
		figures.push(...scale.rows);
		notes.push(...scale.notes);
	}

	const start = rows.length > 0 ? await nodeStartNote(repeat, settle) : undefined;
	const loads = quietness.load;
	const info = [
		...machine(),
		`limit: SHA-256 at ${(limit.rate / 1e9).toFixed(2)} GB/s per core, the faster of openssl speed -bytes 4194304 sha256 (${limit.openssl ? `${(limit.openssl / 1e9).toFixed(2)} GB/s` : 'not run'}) and Node's hash (${(limit.node / 1e9).toFixed(2)} GB/s), both per CPU second, × ${limit.cores} cores`,
		`simplestreams: node ${flags.cli ? cli : 'dist/cli.js'} -N ROOT --cache FILE${flags.jobs ? ` -j ${flags.jobs}` : ''}; cold: no digest cache, no receipt, no streams, files in the page cache`,
		...(start ? [start] : []),
		`time, CPU time (user + system, all threads) and peak RSS: ${rssMethod}; MB = 10^6 bytes; each figure the median of ${repeat} runs, RSS the highest`,
		`corpora: ${corpusVersion} in ${base}`,
		`machine load: 1-minute load average ${startLoad.toFixed(1)} at the start, ${loads.length > 0 ? `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} before the timed runs` : 'no timed runs'}; ${Number(flags.quiet) === 0 ? `${quietness.runs} timed runs, none waiting for a quiet machine (--quiet 0)` : quietness.busy === 0 ? `every one of the ${quietness.runs} timed runs started on an idle machine (other processes < 10% CPU for 1 s)` : `${quietness.busy} of ${quietness.runs} timed runs started while other processes kept the CPUs ≥ 10% busy: their wall times are pessimistic, judge by CPU time`}`,
	];
	const issueTable: Table<typeof issueColumns[number]> = {columns: issueColumns, headers: issueHeaders, rows};
	const figureTable: Table<typeof figureColumns[number]> = {columns: figureColumns, headers: figureHeaders, rows: figures};
	const corporaText = [...corpora.keys()].map(name => `${name}: ${corpusTitles[name]}`);
	process.stdout.write(`\n${textTable(issueTable)}\n${figures.length > 0 ? `\n${textTable(figureTable)}\n` : ''}\n${[...corporaText, ...info, ...notes].map(line => `  ${line}`).join('\n')}\n`);
	if (flags.results) {
		const markdown = [
			'# Benchmark results',
			'',
			`Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.`,
			'',
			markdownTable(issueTable),
			'',
			...(figures.length > 0 ? [markdownTable(figureTable), ''] : []),
			'Corpora:',
			'',
			...corporaText.map(line => `- ${line}`),
			'',
			'Machine and method:',
			'',
			...info.map(line => `- ${line}`),
			'',
			'Runs:',
			'',
			...notes.map(line => `- ${line}`),
			'',
		].join('\n');
		const previous = await readFile(flags.results, 'utf8').catch(() => '');
		const kept = previous.includes(keepMarker) ? previous.slice(previous.indexOf(keepMarker)) : `${keepMarker}\n`;
		await writeFile(flags.results, `${markdown}\n${kept}`);
		log(`wrote ${flags.results}`);
	}
}

try {
	await main();
} catch (error) {
	process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
	process.exitCode = 1;
}
