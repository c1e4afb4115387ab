import {chmod, copyFile, mkdir, readFile, rm, stat, utimes, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import type {ProductsFile} from '../source/streams/model.js';
import type {PipelineEvent} from '../source/pipeline/events.js';
import {runContext, withRunContext, type RunContext, type RunOptions} from '../source/pipeline/context.js';
import {generate} from '../source/pipeline/generate.js';
import {asNobody, collector, copyTree, distModule, flipLastByte, mtimeNs, permissionsIgnored, rewriteSameSize, sha256File, tempDir, templateTree} from './helpers/fixtures.js';

const template = templateTree('ss-generate');

const container = 'images/acme/1.0/amd64/default/20240101_0000';
const vm = 'images/acme/1.0/amd64/default-vm/20240101_0000';
const arm = 'images/acme/1.0/arm64/default/20240101_0000';

/** A private copy of the template tree and a cache path of its own (never the user's). */
async function fixture(t: Parameters<typeof tempDir>[0]) {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await mkdir(root);
	await copyTree(template().root, root);
	const cachePath = path.join(dir, 'cache', 'digests.json');
	/** A run in a context of its own, or in `context` (the watcher's: one cache for many runs). */
	const run = async ({write = true, context, ...options}: Partial<RunOptions> & {write?: boolean; context?: RunContext} = {}) => {
		const c = collector();
		const result = context ? await generate({...context, settleMs: options.settleMs, emit: c.emit}, write)
			: await withRunContext({root, jobs: 2, cachePath, ...options}, c.emit, async own => generate(own, write));
		return {...c, result};
	};

	return {dir, root, cachePath, run};
}

const fingerprintFields: Record<string, string[]> = {
	squashfs: ['combined_squashfs_sha256'],
	'root.tar.xz': ['combined_rootxz_sha256', 'combined_sha256'],
	'disk-kvm.img': ['combined_disk-kvm-img_sha256'],
};

/** Check every item against the files on disk, and every fingerprint against sha256(meta ‖ root) made here. */
async function verify(t: Parameters<typeof tempDir>[0], root: string, products: ProductsFile) {
	let images = 0;
	for (const product of Object.values(products.products)) {
		for (const version of Object.values(product.versions)) {
			const items = Object.values(version.items);
			for (const item of items) {
				t.is(item.sha256, await sha256File(path.join(root, item.path)), item.path);
				t.is(item.size, (await stat(path.join(root, item.path))).size, item.path);
			}

			for (const meta of items.filter(i => i.ftype === 'lxd.tar.xz' || i.ftype === 'incus.tar.xz')) {
				for (const rootItem of items.filter(i => fingerprintFields[i.ftype])) {
					const expected = await sha256File(path.join(root, meta.path), path.join(root, rootItem.path));
					for (const field of fingerprintFields[rootItem.ftype]!) {
						t.is(meta[field as `combined_${string}`], expected, `${meta.ftype} ${field} of ${rootItem.path}`);
					}

					images++;
				}
			}
		}
	}

	return images;
}

const paths = (events: PipelineEvent[], type: PipelineEvent['type']) => events.filter(e => e.type === type).map(e => (e as {path: string}).path).sort();

test('a dry run writes nothing under streams/', async t => {
	const {root, cachePath, run} = await fixture(t);
	const {result, of} = await run({write: false});
	await t.throwsAsync(stat(path.join(root, 'streams')), {code: 'ENOENT'});
	t.deepEqual(of('written'), []);
	t.deepEqual(Object.keys((JSON.parse(result.productsText) as ProductsFile).products).sort(), ['acme:1.0:amd64:default', 'acme:1.0:amd64:default-vm', 'acme:1.0:arm64:default']);
	t.truthy(await stat(cachePath), 'the cache is written where it was asked to be');
});

test('a write publishes images.json and index.json whose fingerprints are sha256(meta ‖ root)', async t => {
	const {root, run} = await fixture(t);
	const {result, of} = await run();
	const productsText = await readFile(path.join(root, 'streams/v1/images.json'), 'utf8');
	const indexText = await readFile(path.join(root, 'streams/v1/index.json'), 'utf8');
	t.is(productsText, result.productsText);
	t.is(indexText, result.indexText);
	const products = JSON.parse(productsText) as ProductsFile;
	t.is(await verify(t, root, products), 8, 'two container, one VM and one arm pairing, for each client');
	t.deepEqual(JSON.parse(indexText).index.images.products, ['acme:1.0:amd64:default', 'acme:1.0:amd64:default-vm', 'acme:1.0:arm64:default']);
	t.deepEqual(Object.keys(products.products['acme:1.0:amd64:default']!.versions['20240101_0000']!.items).sort(), ['incus.tar.xz', 'lxd.tar.xz', 'root.squashfs', 'root.tar.xz']);
	t.deepEqual(Object.keys(products.products['acme:1.0:amd64:default-vm']!.versions['20240101_0000']!.items).sort(), ['disk.qcow2', 'incus.tar.xz', 'lxd.tar.xz']);
	t.deepEqual(of('written').map(e => [e.path, e.changed]), [['streams/v1/images.json', true], ['streams/v1/index.json', true], ['index.html', true]]);
	t.deepEqual(of('skipped'), []);
	t.deepEqual(of('warning'), []);
	t.deepEqual(of('cataloged')[0]?.images, {lxd: 4, incus: 4});
});

test('a second run with no change leaves both files alone and hashes nothing', async t => {
	const {root, run} = await fixture(t);
	await run();
	const files = ['streams/v1/images.json', 'streams/v1/index.json'].map(f => path.join(root, f));
	const before = await Promise.all(files.map(async f => [await readFile(f, 'utf8'), await mtimeNs(f)] as const));
	const {events, of} = await run();
	const after = await Promise.all(files.map(async f => [await readFile(f, 'utf8'), await mtimeNs(f)] as const));
	t.deepEqual(after, before);
	t.deepEqual(of('queued'), []);
	t.deepEqual(of('hashed'), []);
	t.deepEqual(paths(events, 'cached'), Object.entries(template().versions).flatMap(([dir, names]) => names.map(n => `${dir}/${n}`)).sort());
	t.deepEqual(of('written').map(e => e.changed), [false, false, false]);
	t.deepEqual(of('cache-saved'), [], 'an unchanged cache is not rewritten');
});

test('one rootfs rewritten with the same size and its mtime put back is noticed and re-hashed', async t => {
	const {root, run} = await fixture(t);
	const first = await run();
	const changed = `${container}/root.squashfs`;
	await rewriteSameSize(path.join(root, changed), flipLastByte);
	const {events, result} = await run();
	t.deepEqual(paths(events, 'queued'), [changed]);
	t.false(paths(events, 'cached').includes(changed));
	t.not(result.productsText, first.result.productsText);
	const products = JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as ProductsFile;
	await verify(t, root, products);
	const item = products.products['acme:1.0:amd64:default']!.versions['20240101_0000']!.items['root.squashfs']!;
	t.is(item.sha256, await sha256File(path.join(root, changed)));
});

test('files that are not regular (a FIFO, a directory) do not stop the run; the rest is published', async t => {
	const {root, run} = await fixture(t);
	await run();
	await rm(path.join(root, container, 'root.squashfs'));
	await execa('mkfifo', [path.join(root, container, 'root.squashfs')]);
	await rm(path.join(root, vm, 'disk.qcow2'));
	await mkdir(path.join(root, vm, 'disk.qcow2'));
	const {of, result} = await run();
	const skipped = Object.fromEntries(of('skipped').map(e => [e.path, e.reason]));
	t.regex(skipped[`${container}/root.squashfs`] ?? '', /not a regular file/);
	t.regex(skipped[`${vm}/disk.qcow2`] ?? '', /not a regular file/);
	const products = JSON.parse(result.productsText) as ProductsFile;
	t.deepEqual(Object.keys(products.products).sort(), ['acme:1.0:amd64:default', 'acme:1.0:arm64:default']);
	t.deepEqual(Object.keys(products.products['acme:1.0:amd64:default']!.versions['20240101_0000']!.items).sort(), ['incus.tar.xz', 'lxd.tar.xz', 'root.tar.xz']);
	await verify(t, root, products);
});

test('an unreadable file (permission denied) does not stop the run; the rest is published', async t => {
	const {dir, root} = await fixture(t);
	const cacheDir = path.join(dir, 'nobody-cache');
	await mkdir(cacheDir);
	await chmod(cacheDir, 0o777);
	await chmod(path.join(root, container, 'root.squashfs'), 0o000);
	await chmod(path.join(root, arm, 'lxd.tar.xz'), 0o000);
	if (permissionsIgnored()) {
		t.log('running as root: generating as user nobody in a child process');
	}

	const {events, productsText} = await asNobody<{events: PipelineEvent[]; productsText: string}>(dir, `
		import {withRunContext} from ${JSON.stringify(distModule('source/pipeline/context.js'))};
		import {generate} from ${JSON.stringify(distModule('source/pipeline/generate.js'))};
		const events = [];
		const options = {root: ${JSON.stringify(root)}, jobs: 2, cachePath: ${JSON.stringify(path.join(cacheDir, 'c.json'))}};
		const {productsText} = await withRunContext(options, e => events.push(e), async context => generate(context, false));
		console.log(JSON.stringify({events, productsText}));
	`);
	const skipped = Object.fromEntries(events.filter(e => e.type === 'skipped').map(e => [e.path, e.reason]));
	t.regex(skipped[`${container}/root.squashfs`] ?? '', /cannot be read \(EACCES\)/);
	t.regex(skipped[`${arm}/lxd.tar.xz`] ?? '', /cannot be read \(EACCES\)/);
	const products = JSON.parse(productsText) as ProductsFile;
	t.deepEqual(Object.keys(products.products).sort(), ['acme:1.0:amd64:default', 'acme:1.0:amd64:default-vm']);
	t.deepEqual(Object.keys(products.products['acme:1.0:amd64:default']!.versions['20240101_0000']!.items).sort(), ['incus.tar.xz', 'lxd.tar.xz', 'root.tar.xz']);
});

test('jobs=1 and jobs=2 give byte-identical output, run after run', async t => {
	const {dir, run} = await fixture(t);
	const one = await run({write: false, jobs: 1, cachePath: path.join(dir, 'one.json')});
	const two = await run({write: false, jobs: 2, cachePath: path.join(dir, 'two.json')});
	const warm = await run({write: false, jobs: 2, cachePath: path.join(dir, 'two.json')});
	t.true(one.of('queued').length > 0 && two.of('queued').length > 0, 'both hashed from scratch');
	t.deepEqual(warm.of('queued'), []);
	for (const other of [two, warm]) {
		t.is(other.result.productsText, one.result.productsText);
		t.is(other.result.indexText, one.result.indexText);
	}
});

test('a copied version is published once: its fingerprints are already taken', async t => {
	const {root, run} = await fixture(t);
	await execa('cp', ['-a', path.join(root, container), path.join(root, 'images/acme/1.0/amd64/default/20240102_0000')]);
	const {result, of} = await run();
	const products = JSON.parse(result.productsText) as ProductsFile;
	t.deepEqual(Object.keys(products.products['acme:1.0:amd64:default']!.versions), ['20240101_0000']);
	t.true(of('skipped').some(e => e.path === 'images/acme/1.0/amd64/default/20240102_0000/root.squashfs' && e.reason.includes(`${container}/root.squashfs`)));
});

test('a cache kept between runs (the watcher\'s) keeps a settling version\'s fingerprints: once settled, only its new file is hashed', async t => {
	const {root, cachePath, run} = await fixture(t);
	const hourAgo = new Date(Date.now() - 3_600_000);
	for (const [dir, names] of Object.entries(template().versions)) {
		await Promise.all(names.map(async name => utimes(path.join(root, dir, name), hourAgo, hourAgo)));
	}

	const context = runContext({root, jobs: 2, cachePath}, () => undefined);
	t.teardown(async () => context.close());
	await run({context});
	// A squashfs uploaded next to the published VM disk: the whole version is held while it settles.
	await copyFile(path.join(root, container, 'root.squashfs'), path.join(root, vm, 'root.squashfs'));
	const settling = await run({context, settleMs: 60_000});
	t.deepEqual(paths(settling.events, 'settling'), [vm]);
	t.deepEqual(settling.of('queued'), []);
	const settled = await run({context});
	t.deepEqual(paths(settled.events, 'queued'), [`${vm}/root.squashfs`], 'the disk\'s fingerprint came from the cache');
});

test('a digest cache that cannot be saved is a warning, not a failure', async t => {
	const {dir, root, run} = await fixture(t);
	const blocker = path.join(dir, 'not-a-dir');
	await writeFile(blocker, '');
	const {of} = await run({cachePath: path.join(blocker, 'cache.json')});
	t.true(of('warning').some(w => w.path === path.join(blocker, 'cache.json') && /digest cache not saved \(E[A-Z]+\)/.test(w.message)), JSON.stringify(of('warning')));
	t.truthy(await stat(path.join(root, 'streams/v1/images.json')));
});
