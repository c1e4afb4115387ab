// `npm run bench`: builds (once) the benchmark corpora and measures the generator against the
// openssl floor, its peak RSS, a no-change re-run of 10,000 versions and the watcher, all in one run.
import {spawnSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {mkdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {availableParallelism, cpus, release, tmpdir, totalmem} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import {receiptPath} from '../source/pipeline/receipt.js';
import {corpus, corpusTitles, corpusVersion, type Corpus, type CorpusName} from './corpus.js';
import {deltaFigure, verifyFigure} from './deltas.js';
import {canDropCaches, dropImageCaches, median, opensslFloor, rate, rssMethod, seconds, timed, waitQuiet, warm, type FloorTask} from './measure.js';
import {treeFigure} from './terminal.js';
import {watchFigures, watchRows} from './watch.js';

const usage = `Usage: npm run bench -- [options]

  --dir DIR       where the corpora live (default: ${path.join(tmpdir(), 'simplestreams-bench')});
                  they are built once and reused while their version (${corpusVersion}) is current
  --clean         delete DIR and exit
  --only LIST     comma-separated subset of: multi,single,many,tree,watch (default: all); tree:
                  a cold build of the long corpus (4 × 3 GiB squashfs) in a pty (tmux), with the
                  live tree and with --plain; watch: the watcher's latency, idle CPU and memory
  --repeat N      runs per timed measurement, median reported (default: 3)
  --no-cold       skip the cold page-cache measurements
  --jobs N        pass -j N to the generator (default: its own default)
  --cli FILE      the generator to measure (default: this build's dist/cli.js), e.g. an older build
  --quiet S       before each timed run wait up to S seconds for a second of idle CPUs (default: 20;
                  0 to not wait); runs that had to start on a busy machine are counted in the notes
  --results FILE  also write the figures as Markdown to FILE (e.g. bench/RESULTS.md)`;

const {values: flags} = parseArgs({
	options: {
		dir: {type: 'string'},
		clean: {type: 'boolean', default: false},
		only: {type: 'string', default: 'multi,single,many,tree,watch'},
		repeat: {type: 'string', default: '3'},
		'no-cold': {type: 'boolean', default: false},
		jobs: {type: 'string'},
		cli: {type: 'string'},
		quiet: {type: 'string', default: '20'},
		results: {type: 'string'},
		help: {type: 'boolean', short: 'h', default: false},
	},
});

const targets = {ratio: 1.15, rssBytes: 150e6, rerunMilliseconds: 500};

type Row = {label: string; generator: string; floor: string; ratio: string; target: string; result: string};

const log = (text: string) => {
	process.stderr.write(`${text}\n`);
};

/** Timed runs so far, and how many of them started while other processes kept the machine busy. */
const quietness = {runs: 0, busy: 0};

/** Before a timed run: give other processes' load a chance to pass (see --quiet). */
async function settle(): Promise<void> {
	quietness.runs++;
	const patience = Number(flags.quiet) * 1000;
	if (patience > 0 && !(await waitQuiet(patience))) {
		quietness.busy++;
		log('  (the machine is busy with other processes: measuring anyway)');
	}
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const spread = (values: readonly number[]) => values.map(v => seconds(v)).join(', ');

const cli = path.resolve(flags.cli ?? fileURLToPath(new URL('../cli.js', import.meta.url)));

/** What a cold measurement reads back after dropping the page cache: everything but the images. */
const toolWarmups: string[][] = [
	[process.execPath, cli, '--version'],
	['sh', '-c', `find ${JSON.stringify(path.dirname(cli))} ${JSON.stringify(path.resolve(path.dirname(cli), '..', 'node_modules'))} -type f -exec cat {} + > /dev/null 2>&1`],
	['sh', '-c', 'openssl version | cat > /dev/null'],
];

const coldCache = async () => dropImageCaches(toolWarmups);

function generatorArgv(root: string, cacheFile: string): string[] {
	return [process.execPath, cli, '-N', root, '--cache', cacheFile, ...(flags.jobs ? ['-j', flags.jobs] : [])];
}

type Paths = {cacheFile: string; logFile: (label: string) => string};

function pathsFor(base: string, name: string): Paths {
	return {
		cacheFile: path.join(base, 'run', `${name}.cache.json`),
		logFile: label => path.join(base, 'run', `${name}-${label}.log`),
	};
}

/** A cold build: no digest cache and no streams yet (and with `drop`, no file in the page cache). */
async function freshBuild(c: Corpus, paths: Paths, label: string, drop = false) {
	await rm(paths.cacheFile, {force: true});
	await rm(receiptPath(paths.cacheFile), {force: true});
	await rm(path.join(c.root, 'streams'), {recursive: true, force: true});
	await settle();
	if (drop) {
		await coldCache();
	}

	return timed(generatorArgv(c.root, paths.cacheFile), {rss: true, log: paths.logFile(label)});
}

/** The SHA-256 work the generator does, as openssl jobs: each file's digest, each pair's fingerprint. */
function floorTasks(c: Corpus, sizes: Map<string, number>): FloorTask[] {
	const tasks: FloorTask[] = [];
	for (const {meta, roots} of c.versions) {
		tasks.push({files: [meta], bytes: sizes.get(meta)!});
		for (const root of roots) {
			tasks.push({files: [root], bytes: sizes.get(root)!}, {files: [meta, root], bytes: sizes.get(meta)! + sizes.get(root)!});
		}
	}

	// Largest first, the two passes over one rootfs adjacent: the order the generator's plan uses.
	const main = (task: FloorTask) => sizes.get(task.files.at(-1)!)!;
	return tasks.map((task, index) => ({task, index})).sort((a, b) => main(b.task) - main(a.task) || a.index - b.index).map(({task}) => task);
}

type Item = {path: string; sha256: string; [field: string]: string};

/** Every digest the generator published must be the one openssl computed. */
async function verify(c: Corpus, tasks: readonly FloorTask[], digests: readonly string[]): Promise<string> {
	const products = JSON.parse(await readFile(path.join(c.root, 'streams', 'v1', 'images.json'), 'utf8')) as {
		products: Record<string, {versions: Record<string, {items: Record<string, Item>}>}>;
	};
	const items = new Map<string, Item>();
	for (const product of Object.values(products.products)) {
		for (const version of Object.values(product.versions)) {
			for (const item of Object.values(version.items)) {
				items.set(item.path, item);
			}
		}
	}

	const rel = (file: string) => path.relative(c.root, file).split(path.sep).join('/');
	let checked = 0;
	for (const [index, task] of tasks.entries()) {
		const digest = digests[index]!;
		if (task.files.length === 1) {
			const item = items.get(rel(task.files[0]!));
			if (item?.sha256 !== digest) {
				throw new Error(`${rel(task.files[0]!)}: generator says ${item?.sha256}, openssl ${digest}`);
			}
		} else {
			const [meta, root] = task.files as [string, string];
			const field = root.endsWith('.qcow2') ? 'combined_disk-kvm-img_sha256' : 'combined_squashfs_sha256';
			if (items.get(rel(meta))?.[field] !== digest) {
				throw new Error(`${rel(meta)} ${field}: generator says ${items.get(rel(meta))?.[field]}, openssl ${digest}`);
			}
		}

		checked++;
	}

	return `${checked} digests match openssl`;
}

type Cold = {ok: boolean; why: string};

async function large(c: Corpus, base: string, repeat: number, cold: Cold, rows: Row[], notes: string[]): Promise<void> {
	const paths = pathsFor(base, c.name);
	const sizes = new Map<string, number>();
	for (const file of c.versions.flatMap(v => [v.meta, ...v.roots])) {
		sizes.set(file, (await stat(file)).size);
	}

	const tasks = floorTasks(c, sizes);
	const work = tasks.reduce((sum, task) => sum + task.bytes, 0);
	const parallel = availableParallelism();
	const rss: number[] = [];
	const measure = async (mode: 'warm' | 'cold') => {
		const floor: number[] = [];
		const generator: number[] = [];
		for (let run = 1; run <= repeat; run++) {
			await settle();
			if (mode === 'cold') {
				await coldCache();
			}

			const f = await opensslFloor(tasks, parallel);
			floor.push(f.milliseconds);
			const g = await freshBuild(c, paths, `${mode}-${run}`, mode === 'cold');
			generator.push(g.milliseconds);
			rss.push(g.rssBytes ?? Number.NaN);
			if (run === 1 && mode === 'warm') {
				notes.push(`${c.name}: ${await verify(c, tasks, f.digests)}`);
			}

			log(`  ${mode} run ${run}: generator ${seconds(g.milliseconds)}, openssl ${seconds(f.milliseconds)}, peak RSS ${megabytes(g.rssBytes ?? Number.NaN)}`);
		}

		const ratio = median(generator) / median(floor);
		rows.push({
			label: `${c.name}: cold build, files ${mode === 'warm' ? 'in page cache' : 'not in page cache'}`,
			generator: `${seconds(median(generator))} (${rate(work, median(generator))})`,
			floor: `${seconds(median(floor))} (${rate(work, median(floor))})`,
			ratio: `${ratio.toFixed(3)}×`,
			target: `≤ ${targets.ratio}×`,
			result: ratio <= targets.ratio ? 'PASS' : 'MISS',
		});
		notes.push(`${c.name} ${mode} runs: generator ${spread(generator)}; openssl ${spread(floor)}`);
	};

	log(`${corpusTitles[c.name as CorpusName]}: ${c.files} files, ${megabytes(c.bytes)}, SHA-256 work ${megabytes(work)} in ${tasks.length} digests`);
	await warm([...sizes.keys()]);
	await measure('warm');
	const verified = await verifyFigure(c, cli, tasks, repeat, settle);
	rows.push(verified.row);
	notes.push(verified.note);
	if (cold.ok) {
		await measure('cold');
	}

	const peak = Math.max(...rss);
	rows.push({label: `${c.name}: generator peak RSS (max of ${rss.length} runs)`, generator: megabytes(peak), floor: '', ratio: '', target: `< ${megabytes(targets.rssBytes)}`, result: peak < targets.rssBytes ? 'PASS' : 'MISS'});
}

async function many(c: Corpus, base: string, repeat: number, cold: Cold, rows: Row[], notes: string[]): Promise<void> {
	const paths = pathsFor(base, c.name);
	log(`${corpusTitles.many}: ${c.files} files, ${megabytes(c.bytes)}`);
	await warm(c.versions.flatMap(v => [v.meta, ...v.roots]));
	const rss: number[] = [];
	const first: number[] = [];
	for (let run = 1; run <= repeat; run++) {
		const g = await freshBuild(c, paths, `first-${run}`);
		first.push(g.milliseconds);
		rss.push(g.rssBytes ?? Number.NaN);
		log(`  first run ${run} (empty digest cache): ${seconds(g.milliseconds)}, peak RSS ${megabytes(g.rssBytes ?? Number.NaN)}`);
	}

	const published = JSON.parse(await readFile(path.join(c.root, 'streams', 'v1', 'images.json'), 'utf8')) as {products: Record<string, {versions: Record<string, unknown>}>};
	const versions = Object.values(published.products).reduce((sum, p) => sum + Object.keys(p.versions).length, 0);
	if (versions !== c.versions.length) {
		throw new Error(`the generator published ${versions} versions of ${c.versions.length}: see ${paths.logFile(`first-${repeat}`)}`);
	}

	notes.push(`many: all ${versions} versions published`);
	const rerunRss: number[] = [];
	const pipelineRss: number[] = [];
	/** `pipeline`: without the receipt, so the whole pipeline runs with every digest from the cache. */
	const rerun = async (label: string, {drop = false, pipeline = false} = {}) => {
		await settle();
		if (drop) {
			await coldCache();
		}

		if (pipeline) {
			await rm(receiptPath(paths.cacheFile), {force: true});
		}

		const g = await timed(generatorArgv(c.root, paths.cacheFile), {rss: true, log: paths.logFile(label)});
		(pipeline ? pipelineRss : rerunRss).push(g.rssBytes ?? Number.NaN);
		const text = await readFile(paths.logFile(label), 'utf8');
		if (/^hashed /m.test(text) || !/^unchanged streams\/v1\/images\.json$/m.test(text)) {
			throw new Error(`a no-change re-run hashed or wrote something: see ${paths.logFile(label)}`);
		}

		return g;
	};

	// Runs of half a second: thrice as many, each next to a start-up of the CLI (--version), so that
	// the median moves less with this machine's speed, which drifts by up to 2× over a day.
	const again: number[] = [];
	const startup: number[] = [];
	for (let run = 1; run <= repeat * 3; run++) {
		const g = await rerun(`rerun-${run}`);
		again.push(g.milliseconds);
		await settle();
		startup.push((await timed([process.execPath, cli, '--version'])).milliseconds);
		log(`  no-change re-run ${run}: ${seconds(g.milliseconds)}, peak RSS ${megabytes(g.rssBytes ?? Number.NaN)}; CLI start-up ${seconds(startup.at(-1)!)}`);
	}

	const pipeline: number[] = [];
	for (let run = 1; run <= repeat; run++) {
		const g = await rerun(`rerun-pipeline-${run}`, {pipeline: true});
		pipeline.push(g.milliseconds);
		log(`  no-change re-run ${run} without the receipt: ${seconds(g.milliseconds)}, peak RSS ${megabytes(g.rssBytes ?? Number.NaN)}`);
	}

	notes.push(`CLI start-up (node dist/cli.js --version): ${spread(startup)}`);
	rows.push({label: 'many: first run (empty digest cache; hashes all)', generator: seconds(median(first)), floor: '', ratio: '', target: '', result: ''});
	rows.push({
		label: 'many: no-change -N re-run (files in page cache)',
		generator: seconds(median(again)),
		floor: '',
		ratio: '',
		target: `< ${seconds(targets.rerunMilliseconds)}`,
		result: median(again) < targets.rerunMilliseconds ? 'PASS' : 'MISS',
	});
	rows.push({label: '  of which CLI start-up (--version)', generator: seconds(median(startup)), floor: '', ratio: '', target: '', result: ''});
	rows.push({label: 'many: the same without the receipt (whole pipeline, all cached)', generator: seconds(median(pipeline)), floor: '', ratio: '', target: '', result: ''});
	notes.push(`many first runs: ${spread(first)}; no-change re-runs: ${spread(again)}; without the receipt: ${spread(pipeline)}`);
	if (cold.ok) {
		const coldAgain: number[] = [];
		for (let run = 1; run <= repeat; run++) {
			const g = await rerun(`rerun-cold-${run}`, {drop: true});
			coldAgain.push(g.milliseconds);
			log(`  no-change re-run ${run}, page cache dropped: ${seconds(g.milliseconds)}`);
		}

		rows.push({label: 'many: no-change -N re-run (page cache dropped)', generator: seconds(median(coldAgain)), floor: '', ratio: '', target: '', result: ''});
		notes.push(`many no-change re-runs with the page cache dropped: ${spread(coldAgain)}`);
	}

	const peak = Math.max(...rerunRss);
	rows.push({label: `many: re-run peak RSS (max of ${rerunRss.length} runs)`, generator: megabytes(peak), floor: '', ratio: '', target: `< ${megabytes(targets.rssBytes)}`, result: peak < targets.rssBytes ? 'PASS' : 'MISS'});
	rows.push({label: `many: re-run without the receipt, peak RSS (max of ${pipelineRss.length})`, generator: megabytes(Math.max(...pipelineRss)), floor: '', ratio: '', target: '', result: ''});
	rows.push({label: `many: first run peak RSS (max of ${rss.length} runs)`, generator: megabytes(Math.max(...rss)), floor: '', ratio: '', target: '', result: ''});
}

const headers: Row = {label: 'measurement', generator: 'generator', floor: 'openssl floor', ratio: 'ratio', target: 'target', result: ''};
const columns = ['label', 'generator', 'floor', 'ratio', 'target', 'result'] as const;

function textTable(rows: readonly Row[]): string {
	const widths = columns.map(column => Math.max(...[headers, ...rows].map(row => [...row[column]].length)));
	const line = (row: Row) => columns.map((column, index) => row[column].padEnd(widths[index]!)).join('  ').trimEnd();
	return [line(headers), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(row => line(row))].join('\n');
}

function markdownTable(rows: readonly Row[]): string {
	const line = (row: Row) => `| ${columns.map(column => row[column] || (column === 'result' ? '' : '—')).join(' | ')} |`;
	return [line({...headers, result: 'result'}), `|${columns.map(() => '---').join('|')}|`, ...rows.map(row => line(row))].join('\n');
}

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
		if (!['multi', 'single', 'many', 'tree', 'watch'].includes(name)) {
			throw new Error(`--only: unknown measurement ${name} (expected multi, single, many, tree or watch)`);
		}
	}

	await mkdir(path.join(base, 'run'), {recursive: true});
	const corpora = new Map<CorpusName, Corpus>();
	for (const name of names.filter((name): name is CorpusName => name in corpusTitles)) {
		corpora.set(name, await corpus(base, name, log));
	}

	const probe = [...corpora.values()][0]?.versions[0]?.roots[0];
	const cold: Cold = flags['no-cold'] ? {ok: false, why: 'skipped (--no-cold)'} : probe ? await canDropCaches(probe) : {ok: false, why: 'no corpus'};
	log(`cold page cache: ${cold.ok ? 'measured' : 'not measured'}: ${cold.why}`);

	const rows: Row[] = [];
	const notes: string[] = [];
	for (const [name, c] of corpora) {
		await (name === 'many' ? many(c, base, repeat, cold, rows, notes) : large(c, base, repeat, cold, rows, notes));
	}

	if (names.includes('tree')) {
		const tree = await treeFigure(await corpus(base, 'long', log), {argv: generatorArgv, cacheFile: path.join(base, 'run', 'tree.cache.json'), repeat, settle, log});
		rows.push(...tree.rows);
		notes.push(...tree.notes);
	}

	const delta = await deltaFigure(base, cli);
	rows.push(delta.row);
	notes.push(delta.note);
	if (names.includes('watch')) {
		const watch = watchRows(await watchFigures(base, cli, log, repeat, settle));
		rows.push(...watch.rows);
		notes.push(...watch.notes);
	}

	const info = [
		...machine(),
		`generator: node ${flags.cli ? cli : 'dist/cli.js'} -N ROOT --cache FRESH${flags.jobs ? ` -j ${flags.jobs}` : ''} (jobs: ${flags.jobs ?? availableParallelism()})`,
		`floor: openssl dgst -sha256 per file and cat META ROOT | openssl dgst -sha256 per pair, ${availableParallelism()} at a time, largest first`,
		`peak RSS: ${rssMethod}; MB = 10^6 bytes`,
		`each figure: median of ${repeat} runs; cold page cache: ${cold.ok ? `sync and drop_caches before each run, then node, the CLI's modules and openssl read back, so only the image files are cold (${cold.why})` : `not measured (${cold.why})`}`,
		`corpora: ${corpusVersion} in ${base}`,
		`machine load: ${quietness.busy === 0 ? `every one of the ${quietness.runs} timed runs started on an idle machine (other processes < 10% CPU for 1 s)` : `${quietness.busy} of ${quietness.runs} timed runs started while other processes kept the CPUs ≥ 10% busy: those figures are pessimistic`}`,
	];
	const corporaText = [...corpora.keys()].map(name => `${name}: ${corpusTitles[name]}`);
	process.stdout.write(`\n${textTable(rows)}\n\n${[...corporaText, ...info, ...notes].map(line => `  ${line}`).join('\n')}\n`);
	if (flags.results) {
		const markdown = [
			'# Benchmark results',
			'',
			`Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.`,
			'',
			markdownTable(rows),
			'',
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
		await writeFile(flags.results, markdown);
		log(`wrote ${flags.results}`);
	}
}

try {
	await main();
} catch (error) {
	process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
	process.exitCode = 1;
}
