import {appendFile, chmod, link, mkdir, readFile, rename, rm, stat, symlink, utimes, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {execa} from 'execa';
import {withRunContext} from '../source/pipeline/context.js';
import type {PipelineEvent} from '../source/pipeline/events.js';
import {generate, publish} from '../source/pipeline/generate.js';
import {settledMs} from '../source/pipeline/listings.js';
import {lastReceipt, receiptPath} from '../source/pipeline/receipt.js';
import {asNobody, collector, copyTree, distModule, distPath, flipLastByte, mtimeNs, rewriteSameSize, sleep, tempDir, templateTree, writeFiles} from './helpers/fixtures.js';
import {deltaPair} from './helpers/images.js';

const template = templateTree('ss-receipt');

const product = 'images/acme/1.0/amd64/default';
const container = `${product}/20240101_0000`;
const images = 'streams/v1/images.json';

async function fixture(t: ExecutionContext) {
	const dir = await tempDir(t, 'ss-receipt');
	const root = path.join(dir, 'www');
	await mkdir(root);
	await copyTree(template().root, root);
	const cachePath = path.join(dir, 'cache', 'digests.json');
	const publishOnce = async (options: {deltas?: {vm: boolean; ratio: number}} = {}) => {
		const c = collector();
		const result = await withRunContext({root, jobs: 2, cachePath, ...options}, c.emit, publish);
		return {...c, unchanged: result === 'unchanged'};
	};

	/** What the streams must hold: the pipeline run in full, dry, with a cache of its own. */
	const expected = async () => (await withRunContext({root, jobs: 2, cachePath: path.join(dir, `fresh-${Math.random()}.json`)}, () => undefined, async context => generate(context, false))).productsText;
	return {dir, root, cachePath, publishOnce, expected};
}

/** A tree with something to report at every stage after the scan: a bad file, a half version, a copy. */
async function troubled(root: string): Promise<void> {
	await writeFiles(root, {
		[`${product}/20240102_0000/lxd.tar.xz`]: 'not a tarball',
		[`${product}/20240102_0000/root.squashfs`]: 'not a squashfs',
	});
	await mkdir(path.join(root, `${product}/20240103_0000`));
	await execa('cp', ['-a', path.join(root, 'images/acme/1.0/amd64/default-vm/20240101_0000/incus.tar.xz'), path.join(root, `${product}/20240103_0000/`)]);
	await execa('cp', ['-a', path.join(root, container), path.join(root, `${product}/20240104_0000`)]);
}

test('an unchanged tree: the run stops after the scan and reports what a full no-change run reports', async t => {
	const {root, cachePath, publishOnce} = await fixture(t);
	await troubled(root);
	const first = await publishOnce();
	t.false(first.unchanged);
	t.true(first.of('queued').length > 0);
	const written = await mtimeNs(path.join(root, images));

	// The same tree through the whole pipeline, which never consults a receipt.
	const full = collector();
	await withRunContext({root, jobs: 2, cachePath}, full.emit, async context => generate(context, true));
	const again = await publishOnce();
	t.true(again.unchanged);
	t.deepEqual(again.events, full.events);
	t.true(full.of('skipped').length >= 3, JSON.stringify(full.of('skipped')));
	t.deepEqual(again.of('written'), [{type: 'written', path: images, changed: false}, {type: 'written', path: 'streams/v1/index.json', changed: false}, {type: 'written', path: 'index.html', changed: false}]);
	t.is(await mtimeNs(path.join(root, images)), written);
});

type Change = {name: string; apply: (root: string, cachePath: string) => Promise<void>; hashes?: boolean};

const changes: Change[] = [
	{name: 'an image file touched', async apply(root) {
		await utimes(path.join(root, container, 'root.squashfs'), new Date(), new Date(Date.now() - 60_000));
	}, hashes: true},
	{name: 'an image file rewritten, same size and mtime', async apply(root) {
		await rewriteSameSize(path.join(root, container, 'root.squashfs'), flipLastByte);
	}, hashes: true},
	{name: 'a requirements file edited', async apply(root) {
		await writeFile(path.join(root, 'images', '.requirements'), JSON.stringify({secureboot: 'false'}));
	}},
	{name: 'an aliases file added', async apply(root) {
		await writeFile(path.join(root, product, '.aliases'), 'acme/current\n');
	}},
	{name: 'a version added', async apply(root) {
		await execa('cp', ['-a', path.join(root, 'images/acme/1.0/arm64/default/20240101_0000'), path.join(root, 'images/acme/1.0/arm64/default/20240201_0000')]);
	}, hashes: true},
	{name: 'a version removed', async apply(root) {
		await rm(path.join(root, 'images/acme/1.0/amd64/default-vm/20240101_0000'), {recursive: true});
	}},
	{name: 'images.json edited by hand', async apply(root) {
		await appendFile(path.join(root, images), ' ');
	}},
	{name: 'index.json deleted', async apply(root) {
		await rm(path.join(root, 'streams/v1/index.json'));
	}},
	{name: 'the digest cache deleted', async apply(_root, cachePath) {
		await rm(cachePath);
	}, hashes: true},
	{name: 'the receipt is not JSON', async apply(_root, cachePath) {
		await writeFile(receiptPath(cachePath), '{"format":');
	}},
	{name: 'the receipt is zeros, as a crash can leave it (it is placed unsynced)', async apply(_root, cachePath) {
		await writeFile(receiptPath(cachePath), Buffer.alloc((await stat(receiptPath(cachePath))).size));
	}},
];

for (const change of changes) {
	test(`${change.name}: the whole pipeline runs again, then the next run stops early`, async t => {
		const {root, cachePath, publishOnce, expected} = await fixture(t);
		t.false((await publishOnce()).unchanged);
		t.true((await publishOnce()).unchanged);
		await change.apply(root, cachePath);
		const after = await publishOnce();
		t.false(after.unchanged);
		t.is(after.of('queued').length > 0, change.hashes === true);
		t.is(await readFile(path.join(root, images), 'utf8'), await expected());
		t.true((await publishOnce()).unchanged);
	});
}

/** A web root holding a pair of versions whose squashfs make a worthwhile delta, and a publisher over it. */
async function deltaFixture(t: ExecutionContext) {
	const dir = await tempDir(t, 'ss-receipt-deltas');
	const root = path.join(dir, 'www');
	await deltaPair(root, ['20240101_0000', '20240102_0000']);
	const cachePath = path.join(dir, 'cache.json');
	const publishOnce = async (deltas?: {vm: boolean; ratio: number}) => {
		const c = collector();
		const result = await withRunContext({root, jobs: 2, cachePath, deltas}, c.emit, publish);
		return {...c, unchanged: result === 'unchanged'};
	};

	return {dir, root, cachePath, publishOnce, deltaFile: path.join(root, product, '20240102_0000', 'delta-20240101_0000.vcdiff')};
}

const deltaEvents = (events: PipelineEvent[]) => events.filter(e => e.type.startsWith('delta-'));

test('a --deltas run stops early too, and reports its deltas as a run that finds them made', async t => {
	const {root, cachePath, publishOnce, deltaFile} = await deltaFixture(t);
	const deltas = {vm: false, ratio: 0.8};
	const first = await publishOnce(deltas);
	t.false(first.unchanged);
	t.is(first.of('delta-made').length, 1);
	const again = await publishOnce(deltas);
	t.true(again.unchanged);
	t.deepEqual(deltaEvents(again.events), [{type: 'delta-reused', path: path.relative(root, deltaFile), size: (await stat(deltaFile)).size, fraction: first.of('delta-made')[0]!.fraction}]);

	// The same tree through the whole pipeline reports the same.
	const full = collector();
	await withRunContext({root, jobs: 2, cachePath, deltas}, full.emit, async context => generate(context, true));
	t.deepEqual(again.events, full.events);

	// The delta file is pinned: touched, it is checked again (and found good), then the runs stop early again.
	await utimes(deltaFile, new Date(), new Date());
	const touched = await publishOnce(deltas);
	t.false(touched.unchanged);
	t.is(touched.of('delta-reused').length, 1);
	t.true((await publishOnce(deltas)).unchanged);
	await rm(deltaFile);
	const removed = await publishOnce(deltas);
	t.false(removed.unchanged);
	t.is(removed.of('delta-made').length, 1, 'made again');
	t.true((await publishOnce(deltas)).unchanged);

	// Other delta options, or none, are another key.
	const strict = await publishOnce({vm: false, ratio: 0.01});
	t.false(strict.unchanged);
	t.regex(strict.of('delta-skipped')[0]?.reason ?? '', /^not worth it/);
	const strictAgain = await publishOnce({vm: false, ratio: 0.01});
	t.true(strictAgain.unchanged);
	t.deepEqual(deltaEvents(strictAgain.events), deltaEvents(strict.events));
	t.false((await publishOnce()).unchanged);
	t.true((await publishOnce()).unchanged);
	t.false((await publishOnce(deltas)).unchanged);
});

test('a --deltas run without xdelta3 leaves no receipt: the next one, with it, makes the delta', async t => {
	const {dir, root, cachePath, deltaFile} = await deltaFixture(t);
	const run = async (env: Record<string, string> = {}) => execa(process.execPath, [distPath('cli.js'), '-N', '--deltas', '--cache', cachePath, root], {cwd: dir, all: true, env: {CI: 'true', ...env}});
	t.regex((await run({PATH: '/nonexistent'})).all, /^warning xdelta3: xdelta3 is not installed/m);
	await t.throwsAsync(stat(receiptPath(cachePath)), {code: 'ENOENT'});
	const made = await run();
	t.regex(made.all, /^delta images\/acme\/1\.0\/amd64\/default\/20240102_0000\/delta-20240101_0000\.vcdiff/m);
	t.truthy(await stat(deltaFile));
	t.regex((await run()).all, /^unchanged streams\/v1\/images\.json$/m);
	t.regex((await run()).all, /1 delta reused from cache/);
});

test('a run that could not read a file leaves no receipt: the next one tries again', async t => {
	const {dir, root} = await fixture(t);
	await execa('chmod', ['-R', 'a+rwX', dir]);
	await chmod(path.join(root, container, 'root.tar.xz'), 0o000);
	const cachePath = path.join(dir, 'nobody-cache.json');
	const run = async () => asNobody<{result: string; events: PipelineEvent[]}>(dir, `
		import {withRunContext} from ${JSON.stringify(distModule('source/pipeline/context.js'))};
		import {publish} from ${JSON.stringify(distModule('source/pipeline/generate.js'))};
		const events = [];
		const result = await withRunContext({root: ${JSON.stringify(root)}, jobs: 2, cachePath: ${JSON.stringify(cachePath)}}, e => events.push(e), publish);
		console.log(JSON.stringify({result: result === 'unchanged' ? 'unchanged' : 'published', events}));
	`);
	for (const attempt of [1, 2]) {
		const {result, events} = await run();
		t.is(result, 'published', `attempt ${attempt}`);
		t.true(events.some(e => e.type === 'skipped' && e.path === `${container}/root.tar.xz` && /EACCES/.test(e.reason)));
	}

	await t.throwsAsync(stat(receiptPath(cachePath)), {code: 'ENOENT'});
	await chmod(path.join(root, container, 'root.tar.xz'), 0o644);
	t.is((await run()).result, 'published');
	t.is((await run()).result, 'unchanged');
});

test('the CLI with a relative --cache: a run started in another directory finds the same receipt', async t => {
	const {dir, root} = await fixture(t);
	const cli = distPath('cli.js');
	const run = async (cwd: string, cache: string) => (await execa(process.execPath, [cli, '-N', root, '--cache', cache], {cwd, all: true})).all;
	t.regex(await run(dir, 'cache/relative.json'), /^wrote streams\/v1\/images\.json$/m);
	const again = await run(root, '../cache/relative.json');
	t.regex(again, /^unchanged streams\/v1\/images\.json$/m);
	t.notRegex(again, /^hashed /m);
	const receipt = lastReceipt(receiptPath(path.join(dir, 'cache', 'relative.json')))!;
	t.true(receipt.outputs.every(o => path.isAbsolute(o.path)), 'the receipt names its outputs by absolute path');
});

test('an image file\'s link led to another name of the same inode: the whole pipeline runs again', async t => {
	const {root, publishOnce} = await fixture(t);
	const file = path.join(root, container, 'root.squashfs');
	const [first, second] = [path.join(root, 'images', 'first.squashfs'), path.join(root, 'images', 'second.squashfs')];
	await rename(file, first);
	await link(first, second);
	await symlink(first, file);
	t.false((await publishOnce()).unchanged);
	t.true((await publishOnce()).unchanged);
	await rm(file);
	await symlink(second, file);
	t.false((await publishOnce()).unchanged, 'where a file is read is part of what was published');
	t.true((await publishOnce()).unchanged);
});

test('a receipt whose listings are cut short, as a crash can leave it, still stops the run', async t => {
	const {root, cachePath, publishOnce} = await fixture(t);
	await troubled(root);
	await sleep(settledMs + 200);
	t.false((await publishOnce()).unchanged);
	const receipt = receiptPath(cachePath);
	const whole = await readFile(receipt);
	t.true(lastReceipt(receipt)!.listings!.numbers.length > 0);
	const full = collector();
	await withRunContext({root, jobs: 2, cachePath}, full.emit, async context => generate(context, true));
	// Off by a byte, and by a whole number: either way the listings no longer add up, and the directories are read.
	for (const cut of [3, 8]) {
		await writeFile(receipt, whole.subarray(0, whole.length - cut));
		const again = await publishOnce();
		t.true(again.unchanged, `cut by ${cut}`);
		t.deepEqual(again.events, full.events);
	}
});

test('a receipt of the format before (its listings in the JSON, by version path) is none: the run goes through, and leaves one of this format', async t => {
	const {root, cachePath, publishOnce, expected} = await fixture(t);
	await troubled(root);
	await sleep(settledMs + 200);
	t.false((await publishOnce()).unchanged);
	const receipt = receiptPath(cachePath);
	const {listings, ...rest} = lastReceipt(receipt)!;
	const byPath: Record<string, number[]> = {};
	let at = 0;
	for (const [product, names] of listings!.products) {
		for (const name of names.split('/')) {
			byPath[`${product}/${name}`] = [...listings!.numbers.subarray(at, at + 5)];
			at += 5;
		}
	}

	t.true(Object.keys(byPath).length > 0);
	await writeFile(receipt, JSON.stringify({...rest, format: 'simplestreams-receipt:2', listings: byPath}) + '\n');
	t.is(lastReceipt(receipt), undefined);
	const upgraded = await publishOnce();
	t.false(upgraded.unchanged);
	t.is(await readFile(path.join(root, images), 'utf8'), await expected());
	t.truthy(lastReceipt(receipt)?.listings);
	t.true((await publishOnce()).unchanged);
});

test('a version directory settled before the run is not read again while its stat holds; one that changed is', async t => {
	const {dir, root, cachePath, publishOnce} = await fixture(t);
	await troubled(root);
	// What a version's scan reports of its names: a requirements file out of place, a role's second name.
	await writeFiles(root, {[`${container}/.lxd_requirements`]: '{}', [`${container}/rootfs.squashfs`]: 'hsqs'});
	// The copy's directories are as new as the run: their listings are kept once their stamps are older than it by the margin.
	await sleep(settledMs + 200);
	t.false((await publishOnce()).unchanged);
	const {listings} = lastReceipt(receiptPath(cachePath))!;
	t.true(listings!.products.some(([path, names]) => path === product && names.split('/').includes(container.slice(product.length + 1))));
	const again = await publishOnce();
	t.true(again.unchanged);
	const full = collector();
	await withRunContext({root, jobs: 2, cachePath}, full.emit, async context => generate(context, true));
	t.deepEqual(again.events, full.events, 'the listings kept report what reading the directories does');
	t.true(full.of('warning').some(e => e.path === `${container}/.lxd_requirements`));

	const cli = distPath('cli.js');
	const trace = path.join(dir, 'trace');
	/** A -N run under strace: its stderr, and the version directories it opened to read. */
	const traced = async () => {
		const result = await execa('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', trace, process.execPath, cli, '-N', '--cache', cachePath, root], {stdin: 'ignore', env: {CI: 'true'}});
		const opened = (await readFile(trace, 'utf8')).split('\n').filter(line => line.includes('O_DIRECTORY')).map(line => /"([^"]+)"/.exec(line)?.[1] ?? line);
		return {stderr: result.stderr, opened, versions: opened.filter(where => where.startsWith(`${root}/${product}/`))};
	};

	// Another build (the CLI's bundle): the receipt's tree is not this one, but its listings serve.
	t.deepEqual((await traced()).versions, []);
	const unchanged = await traced();
	t.regex(unchanged.stderr, /unchanged streams\/v1\/images\.json/);
	t.true(unchanged.opened.includes(`${root}/${product}`), 'the product directory is still read');
	t.deepEqual(unchanged.versions, []);

	await writeFile(path.join(root, container, '.requirements'), '{}');
	const changed = await traced();
	t.deepEqual(changed.versions, [`${root}/${container}`]);
	t.true(changed.stderr.includes(`${container}/.requirements`), changed.stderr);
});

test('a run the receipt stops keeps the listings of version directories settled since it was written: the receipt holds them for the next run', async t => {
	const {root, cachePath, publishOnce} = await fixture(t);
	// Its version directory as new as the run (a chmod sets its ctime now, however long the copy took): it keeps no listing of it.
	const directory = path.join(root, container);
	await chmod(directory, (await stat(directory)).mode & 0o7777);
	t.false((await publishOnce()).unchanged);
	const listed = () => lastReceipt(receiptPath(cachePath))!.listings?.products.some(([path, names]) => path === product && names.split('/').includes(container.slice(product.length + 1))) ?? false;
	t.false(listed());
	await sleep(settledMs + 200);
	const again = await publishOnce();
	t.true(again.unchanged);
	t.true(listed(), 'the stopped run wrote the listings it read');
	// The receipt still stops the run, which reports the same, and reads what it holds as before.
	const third = await publishOnce();
	t.true(third.unchanged);
	t.deepEqual(third.events, again.events);
	const full = collector();
	await withRunContext({root, jobs: 2, cachePath}, full.emit, async context => generate(context, true));
	t.deepEqual(third.events, full.events);
});
