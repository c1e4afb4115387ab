// The page at the web root (index.html) as a real browser shows it: headless Chromium parses the
// page a publish wrote and the test reads back, from the DOM it built, every product and image row,
// compared with the images the clients derive from the published streams. Hostile names stay text.
import {mkdir, readFile, stat, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import test, {type ExecutionContext} from 'ava';
import {execa} from 'execa';
import {clientImages} from '../source/list/derive.js';
import {pagePieces, type PageSections} from '../source/page/page.js';
import type {ProductsFile} from '../source/streams/model.js';
import {streamsText, writeStreams} from '../source/streams/write.js';
import {collector, copyExample, distPath, tempDir} from './helpers/fixtures.js';

const cli = distPath('cli.js');

/** The page's text, as a publish joins its pieces. */
const pageHtml = (products: ProductsFile, sections?: PageSections) => pagePieces(products, sections).map(piece => piece.text).join('');

/** Chromium, headless, with a profile of its own: `args` then the page's file URL; stdout. */
async function chromium(dir: string, args: string[], file: string): Promise<string> {
	const profile = path.join(dir, `chromium-${Math.random().toString(16).slice(2)}`);
	await mkdir(profile);
	const result = await execa('chromium', ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`, ...args, pathToFileURL(file).href], {timeout: 180_000});
	return result.stdout;
}

const text = (html: string) => html.replaceAll(/<[^>]*>/g, '').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', '\'').replaceAll('&nbsp;', ' ').replaceAll('&amp;', '&');

/** What the browser's DOM holds: the title, each tbody's heading, and its rows' cells, as text. */
function shown(dom: string) {
	const title = text(/<title>([\s\S]*?)<\/title>/.exec(dom)?.[1] ?? '');
	const sections = [...dom.matchAll(/<tbody>([\s\S]*?)<\/tbody>/g)].map(match => {
		const rows = [...match[1]!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map(row => [...row[1]!.matchAll(/<t([dh])[^>]*>([\s\S]*?)<\/t\1>/g)].map(cell => text(cell[2]!).trim()));
		return {heading: rows[0]!, images: rows.slice(1)};
	});
	return {title, sections, scripts: (dom.match(/<script/g) ?? []).length, imgs: (dom.match(/<img/g) ?? []).length};
}

test('the page of the example tree, as Chromium shows it: every product, and every image both clients see', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await copyExample(root);
	await execa(process.execPath, [cli, '-N', '--cache', path.join(dir, 'cache.json'), root], {env: {CI: 'true'}});
	const page = path.join(root, 'index.html');
	const products = JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as ProductsFile;
	const view = shown(await chromium(dir, ['--dump-dom'], page));
	t.is(view.title, 'Images');
	t.is(view.scripts, 0);

	const expected = new Map<string, Set<string>>();
	for (const client of ['lxd', 'incus'] as const) {
		for (const image of clientImages(products, client)) {
			const rows = expected.get(image.product) ?? new Set();
			rows.add([image.version, image.type === 'container' ? 'container' : 'VM', image.fingerprint.slice(0, 12)].join(' '));
			expected.set(image.product, rows);
		}
	}

	t.deepEqual(view.sections.map(section => /\b(\S+:\S+:\S+:\S+)\b/.exec(section.heading[0]!)?.[1]).sort(), [...expected.keys()].sort(), 'one section a product');
	for (const section of view.sections) {
		const id = /\b(\S+:\S+:\S+:\S+)\b/.exec(section.heading[0]!)![1]!;
		const product = products.products[id]!;
		t.true(section.heading[0]!.includes(`aliases ${product.aliases!.split(',').join(', ')}`), section.heading[0]);
		t.true(section.heading[0]!.includes('requires secureboot=false'), section.heading[0]);
		t.true(section.images.every(cells => cells.length === 7), 'seven cells a row');
		t.deepEqual(new Set(section.images.map(cells => [cells[0], cells[1], cells[3]].join(' '))), expected.get(id), id);
		for (const cells of section.images) {
			t.is(cells[5], 'LXD, Incus', `${id}: the example's images are seen by both clients`);
			t.regex(cells[6]!, /^20\d\d-\d\d-\d\d \d\d:\d\d$/);
			t.regex(cells[2]!, /^[\d.]+ (B|KiB|MiB)$/);
		}
	}

	const newest = view.sections.find(section => section.heading[0]!.includes('demo:1.0:amd64:default'))!;
	t.deepEqual(newest.images.map(cells => cells[0]), ['20240615_00:00', '20240615_00:00', '20240601_00:00', '20240601_00:00'], 'newest version first');
	t.true(newest.images[0]![4]!.split(', ').includes('demo/1.0'), 'the alias is on the newest image');

	const screenshot = path.join(dir, 'page.png');
	await chromium(dir, [`--screenshot=${screenshot}`, '--window-size=1100,520', '--hide-scrollbars'], page);
	t.true((await stat(screenshot)).size > 1000, 'a screenshot was taken');
});

test('names, aliases and requirements with markup and quotes are shown as text: no element, no script run', async t => {
	const dir = await tempDir(t);
	const hostile = '<script>document.title="pwned"</script>"\'><img src=x onerror="document.title=1">&amp;';
	const fingerprint = 'a'.repeat(64);
	const products: ProductsFile = {products: {[`${hostile}:1:amd64:default`]: {
		arch: 'amd64', os: hostile, release: '1', variant: 'default', aliases: `${hostile},plain`, requirements: {[hostile]: hostile},
		versions: {'20240101_0000': {items: {
			'incus.tar.xz': {ftype: 'incus.tar.xz', path: 'images/m', sha256: 'b'.repeat(64), size: 10, combined_squashfs_sha256: fingerprint},
			'root.squashfs': {ftype: 'squashfs', path: 'images/r', sha256: 'c'.repeat(64), size: 20},
		}}},
	}}};
	const page = path.join(dir, 'index.html');
	await writeFile(page, pageHtml(products));
	const view = shown(await chromium(dir, ['--dump-dom'], page));
	t.is(view.title, 'Images', 'no script ran');
	t.is(view.scripts, 0);
	t.is(view.imgs, 0);
	t.is(view.sections.length, 1);
	const heading = view.sections[0]!.heading[0]!;
	t.true(heading.startsWith(`${hostile} 1 default amd64 ${hostile}:1:amd64:default`), heading);
	t.true(heading.includes(`aliases ${hostile}, plain`), heading);
	t.true(heading.includes(`requires ${hostile}=${hostile}`), heading);
	t.deepEqual(view.sections[0]!.images.map(cells => cells.slice(0, 4)), [['20240101_0000', 'container', '30 B', fingerprint.slice(0, 12)]]);
});

test('an index.html the operator wrote is left alone, said once as a warning; the streams are published', async t => {
	const root = await tempDir(t);
	await writeFile(path.join(root, 'index.html'), '<!doctype html><title>my own page</title>');
	const written = collector();
	const kept: string[] = [];
	const pageKept = (why: string) => kept.push(why);
	const products: ProductsFile = {products: {}};
	await writeStreams(root, {...streamsText(products, {index: {}}), page: pageHtml(products)}, written.emit, {pageKept});
	t.is(await readFile(path.join(root, 'index.html'), 'utf8'), '<!doctype html><title>my own page</title>');
	await t.throwsAsync(stat(path.join(root, 'index.html.gz')), {code: 'ENOENT'});
	t.deepEqual(kept, ['index.html is not a page simplestreams wrote']);
	t.deepEqual(written.of('written').map(w => w.path), ['streams/v1/images.json', 'streams/v1/index.json']);
	const published = await execa('node', [path.resolve('dist/cli.js'), '-N', root, '--allow-empty', '--cache', path.join(root, '.cache.json')], {reject: false, env: {CI: 'true'}});
	t.is(published.exitCode, 0, published.stderr);
	t.regex(published.stderr, /^warning index\.html: index\.html is not a page simplestreams wrote: left alone, and no page of the images is written; move it away to have one$/m);

	// A page this program wrote is its own to replace.
	await writeFile(path.join(root, 'index.html'), pageHtml({products: {}}).replace('Images</h1>', 'Old</h1>'));
	const again = collector();
	await writeStreams(root, {...streamsText(products, {index: {}}), page: pageHtml(products)}, again.emit, {pageKept});
	t.is(await readFile(path.join(root, 'index.html'), 'utf8'), pageHtml(products));
	t.is(kept.length, 1);
});

/** The page's products in order, each image row's aliases as the clients derive them: compared by Chromium's view of the page. */
async function checkOrderAndAliases(t: ExecutionContext, products: ProductsFile): Promise<string[][]> {
	const dir = await tempDir(t);
	const page = path.join(dir, 'index.html');
	await writeFile(page, pageHtml(products));
	t.is(pageHtml(products, new WeakMap()), pageHtml(products), 'the same page with sections kept');
	const view = shown(await chromium(dir, ['--dump-dom'], page));
	const order: string[] = [];
	const aliases = new Map<string, Set<string>>();
	for (const client of ['lxd', 'incus'] as const) {
		for (const image of clientImages(products, client)) {
			if (!order.includes(image.product)) {
				order.push(image.product);
			}

			const key = `${image.product} ${image.version} ${image.fingerprint.slice(0, 12)}`;
			aliases.set(key, new Set([...aliases.get(key) ?? [], ...image.aliases]));
		}
	}

	const ids = view.sections.map(section => /\b(\S+:\S+:\S+:\S+)\b/.exec(section.heading[0]!)![1]!);
	t.deepEqual(ids, order);
	for (const [at, section] of view.sections.entries()) {
		for (const cells of section.images) {
			t.deepEqual(new Set(cells[4] ? cells[4].split(', ') : []), aliases.get(`${ids[at]!} ${cells[0]!} ${cells[3]!}`), `${ids[at]!} ${cells[0]!} ${cells[1]!}`);
		}
	}

	return view.sections[ids.indexOf('zed:1.0:amd64:default')]!.images.map(cells => cells[4]!.split(', '));
}

test('products in the order the clients list their images, each alias on the image that owns it across products, as the clients derive them', async t => {
	const hex = (seed: number) => seed.toString(16).padStart(64, '0');
	let seed = 0;
	const version = () => ({items: {
		'incus.tar.xz': {ftype: 'incus.tar.xz', path: `images/m${++seed}`, sha256: hex(++seed), size: 10, combined_squashfs_sha256: hex(++seed), 'combined_disk-kvm-img_sha256': hex(++seed)},
		'lxd.tar.xz': {ftype: 'lxd.tar.xz', path: `images/m${seed}`, sha256: hex(seed), size: 10, combined_squashfs_sha256: hex(++seed)},
		'root.squashfs': {ftype: 'squashfs', path: `images/r${++seed}`, sha256: hex(++seed), size: 20},
		'disk.qcow2': {ftype: 'disk-kvm.img', path: `images/d${++seed}`, sha256: hex(++seed), size: 30},
	}});
	const entry = (os: string, arch: string, aliases: string, versions: string[]) => ({
		[`${os}:1.0:${arch}:default`]: {arch, os, release: '1.0', variant: 'default', aliases, requirements: {}, versions: Object.fromEntries(versions.map(name => [name, version()]))},
	});
	const tree = (zedAliases: string): ProductsFile => ({products: {
		...entry('zed', 'amd64', zedAliases, ['20240301_0000', '20240101_0000']),
		...entry('acme', 'arm64', 'acme', ['20240201_0000', '20240101_0000']),
		...entry('acme', 'amd64', 'acme,shared', ['20240101_0000']),
	}});
	t.deepEqual((await checkOrderAndAliases(t, tree('zed')))[0], ['zed', 'zed/amd64']);
	// zed's "shared/amd64" is also what the clients make of acme's "shared" on amd64: acme's images come first and own it.
	t.deepEqual((await checkOrderAndAliases(t, tree('shared/amd64,zed')))[0], ['shared/amd64/amd64', 'zed', 'zed/amd64']);
});
