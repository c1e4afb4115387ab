// The live tree without a terminal: the model folded from the core's events, drawn by the real Ink
// components through ink-testing-library, and the reporter's keys.
import {render} from './helpers/ink.js';
import {EventEmitter} from 'node:events';
import path from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import stringWidth from 'string-width';
import {because, warning} from '../source/domain/reasons.js';
import {withRunContext} from '../source/pipeline/context.js';
import type {PipelineEvent} from '../source/pipeline/events.js';
import {generate} from '../source/pipeline/generate.js';
import {frame, shortReason, truncateMiddle, type FrameOptions} from '../source/report/live/layout.js';
import {frameGap, threadCpuMs} from '../source/report/live/pace.js';
import {Rate} from '../source/report/live/rates.js';
import {rollup, totals} from '../source/report/live/rows.js';
import {LiveModel} from '../source/report/live/state.js';
import {liveTree} from './live-tree.js';

const {liveReporter} = await import('../source/report/live/reporter.js');
const {paint, Screen} = await import('../source/report/live/Screen.js');

const sgr = /\u001B\[[\d;]*m/g;
const plain = (text = '') => text.replaceAll(sgr, '');

const product = (os: string, release: string, arch: string, variant: string) => ({
	id: `${os}:${release}:${arch}:${variant}`, os, release, arch, variant, path: `images/${os}/${release}/${arch}/${variant}`,
});

const gib = 1024 ** 3;

/** A version found by the scan: its metadata and rootfs, as the core reports them. */
function found(os: string, release: string, arch: string, variant: string, version: string, rootSize = gib): PipelineEvent {
	const ref = product(os, release, arch, variant);
	const dir = `${ref.path}/${version}`;
	return {type: 'found', product: ref, version, path: dir, files: [{path: `${dir}/lxd.tar.xz`, size: 1000}, {path: `${dir}/root.squashfs`, size: rootSize}]};
}

const v1 = 'images/debian/12/amd64/default/20240101_0000';
const v2 = 'images/debian/12/amd64/default/20240201_0000';
const v3 = 'images/debian/12/amd64/default/20240301_0000';

/** A job mid-hash: one version done, one hashing, one reused, one skipped, a failed and a skipped file. */
const midHash: Array<[number, PipelineEvent]> = [
	[0, {type: 'scan-started', root: '/srv/images'}],
	[0, {type: 'skipped', scope: 'version', path: 'images/debian/12/amd64/default/.20240401_0000', ...because('uploading')}],
	[1, found('debian', '12', 'amd64', 'default', '20240101_0000')],
	[1, found('debian', '12', 'amd64', 'default', '20240201_0000')],
	[1, found('debian', '12', 'amd64', 'default', '20240301_0000')],
	[1, found('ubuntu', 'noble', 'arm64', 'cloud', '20240101_0000')],
	[2, {type: 'scanned', products: 2, versions: 4, files: 8, bytes: (4 * gib) + 4000}],
	[3, {type: 'cached', path: `${v3}/lxd.tar.xz`}],
	[3, {type: 'cached', path: `${v3}/root.squashfs`}],
	[3, {type: 'skipped', scope: 'file', path: 'images/ubuntu/noble/arm64/cloud/20240101_0000/root.squashfs', ...because('wrong-content', 'unknown', 'a squashfs image')}],
	[3, {type: 'skipped', scope: 'version', path: 'images/ubuntu/noble/arm64/cloud/20240101_0000', ...because('no-rootfs')}],
	[4, {type: 'queued', path: `${v1}/root.squashfs`, work: gib + 1000}],
	[4, {type: 'queued', path: `${v2}/root.squashfs`, work: gib + 1000}],
	[4, {type: 'queued', path: `${v1}/lxd.tar.xz`, work: 1000}],
	[4, {type: 'queued', path: `${v2}/lxd.tar.xz`, work: 1000}],
	[100, {type: 'progress', path: `${v1}/root.squashfs`, done: 100 * 1024 ** 2, work: gib + 1000}],
	[600, {type: 'progress', path: `${v1}/root.squashfs`, done: gib + 1000, work: gib + 1000}],
	[600, {type: 'hashed', path: `${v1}/root.squashfs`, size: gib, work: gib + 1000, milliseconds: 600}],
	[610, {type: 'progress', path: `${v1}/lxd.tar.xz`, done: 1000, work: 1000}],
	[610, {type: 'hashed', path: `${v1}/lxd.tar.xz`, size: 1000, work: 1000, milliseconds: 2}],
	[700, {type: 'progress', path: `${v2}/root.squashfs`, done: 100 * 1024 ** 2, work: gib + 1000}],
	[1700, {type: 'progress', path: `${v2}/root.squashfs`, done: 512 * 1024 ** 2, work: gib + 1000}],
	[1700, {type: 'skipped', scope: 'file', path: `${v2}/lxd.tar.xz`, ...because('changed')}],
	[1700, {type: 'warning', path: 'images/debian/12/requirements.yaml', ...warning('requirements-broken', 'unknown key "foo"; ignored')}],
];

function model(events = midHash, options = {write: true, jobs: 2}) {
	const live = new LiveModel(options);
	for (const [at, event] of events) {
		live.apply(event, at);
	}

	return live;
}

const view = (live: LiveModel, options: Partial<FrameOptions> = {}) => frame(live, {width: 100, height: 40, now: 1750, keys: true, ...options});

/** The frame as the terminal shows it, through the real Ink component. */
function screen(live: LiveModel, options: Partial<FrameOptions> = {}) {
	const {lastFrame, unmount} = render(<Screen lines={view(live, options).lines}/>);
	const text = plain(lastFrame());
	unmount();
	return text;
}

const lineOf = (text: string, needle: string) => text.split('\n').find(line => line.includes(needle)) ?? '';

test('the tree: os → release → arch → variant → version → file, each file with its state', t => {
	const text = screen(model());
	const lines = text.split('\n');
	let at = 0;
	for (const name of ['debian', '12', 'amd64', 'default', '20240201_0000', 'root.squashfs']) {
		const next = lines.findIndex((line, index) => index > at && new RegExp(`^\\s*([▾▸] )?\\S ${name}\\s`).test(line));
		t.true(next > at, `${name} below the one before`);
		at = next;
	}

	// Hashing: a bar with its percent and its own throughput (400 MiB in the last second).
	t.regex(lineOf(text, `${'20240201_0000'}`), /0\/1 files · 49%/);
	t.regex(text, /root\.squashfs\s+━+╸?─+\s+49%\s+392 MiB\/s$/m);
	t.regex(text, /✗ lxd\.tar\.xz\s+changed while it was being hashed\s+changed$/m);
	t.regex(lineOf(text, '.20240401_0000'), /◦ \.20240401_0000\s+upload in progress .*uploading$/, 'an upload in progress is no problem');
	t.regex(lineOf(text, 'requirements.yaml'), /! requirements\.yaml: unknown key "foo"; ignored/);
	t.regex(lineOf(text, 'ubuntu'), /\s2 problems$/);
	// The skipped version says why, in a word or two, and stays open on the file that caused it.
	t.regex(lineOf(text, 'cloud'), /problem/);
	t.regex(text, /▾ ! 20240101_0000\s+metadata but no usable rootfs.*no rootfs$/m);
	t.regex(text, /! root\.squashfs\s+content is not recognised.*wrong content$/m);
	t.regex(text, /· lxd\.tar\.xz\s+1000 B$/m, 'with the files it does have');
});

test('a product left out because each of its versions was stays open on their reasons', t => {
	const dir = 'images/acme/1.0/amd64/default';
	const live = model([
		[0, {type: 'scan-started', root: '/srv/images'}],
		[0, found('acme', '1.0', 'amd64', 'default', '20240101_0000')],
		[1, {type: 'skipped', scope: 'file', path: `${dir}/20240101_0000/lxd.tar.xz`, ...because('damaged', 'truncated: the xz stream has no footer')}],
		[1, {type: 'skipped', scope: 'version', path: `${dir}/20240101_0000`, ...because('no-metadata')}],
		[2, {type: 'skipped', scope: 'product', path: dir, ...because('no-publishable-version')}],
	]);
	const text = screen(live);
	t.regex(text, /▾ ! default\s+no publishable version\s+nothing usable$/m);
	t.regex(text, /▾ ! 20240101_0000\s+a rootfs but no usable metadata .*no metadata$/m);
	t.regex(text, /! lxd\.tar\.xz\s+truncated: the xz stream has no footer\s+damaged$/m);
	t.regex(text, /files 0\/0/);
});

test('rollups: a version is done when all its files are, reused when the cache had them', t => {
	const live = model();
	const done = screen(live);
	t.regex(lineOf(done, '20240101_0000'), /✓ 20240101_0000\s+2 files · 1\.00 GiB$/);
	t.regex(lineOf(done, '20240301_0000'), /✓ 20240301_0000\s+2 files · 1\.00 GiB$/);
	t.regex(lineOf(done, '20240201_0000'), /20240201_0000\s+0\/1 files · 49% · 1\.00 GiB · 1 problem$/);
	const sum = rollup(live.tree);
	// Problems: the upload in progress, the warning, the changed file, the skipped version and its file.
	t.like(sum, {files: 5, finished: 4, active: 1, problems: 4}, 'two skipped, a failed file, a warning; the upload in progress is none');
	// A tree as big as the screen allows shows every file, reused ones too.
	const all = screen(live, {height: 60});
	t.regex(all, /↺ root\.squashfs\s+1\.00 GiB\s+reused$/m);
	t.regex(all, /✓ root\.squashfs\s+1\.00 GiB\s+1\.67 GiB\/s\s+done$/m);
});

test('the footer: files, bytes, throughput, ETA, workers, cache, warnings', t => {
	const text = screen(model());
	const footer = text.slice(text.indexOf('─'));
	t.regex(footer, /files 4\/5/);
	t.regex(footer, /1\.50 GiB \/ 2\.00 GiB hashed 74%/);
	t.regex(footer, /ETA (< 1 s|\d+(\.\d)? s)/);
	t.notRegex(footer, /ETA \d+ ms/, 'no end is foretold to the millisecond');
	t.regex(footer, /workers 1\/2/);
	t.regex(footer, /2 reused from cache/);
	t.regex(footer, /3 skipped/, 'the upload in progress is not counted');
	t.regex(footer, /1 warning\b/);
	t.regex(footer, /q cancel/);
	const t1 = totals(model(), 1750);
	// 1.5 GiB hashed between 100 ms and 1.7 s: the rate covers the last three seconds.
	t.is(Math.round(t1.perSecond! / 1024 ** 2), Math.round((1.5 * 1024 - 100) / 1.65));
	t.is(Math.round(t1.eta!), Math.round((((0.5 * gib) + 1000) * 1000) / t1.perSecond!));
});

test('a rate follows the last seconds and falls when the bytes stop', t => {
	const rate = new Rate(3000);
	t.is(rate.perSecond(0), undefined);
	for (let at = 0; at <= 10_000; at += 100) {
		rate.add(at, at < 5000 ? at * 1000 : 5_000_000 + ((at - 5000) * 100));
	}

	t.is(Math.round(rate.perSecond(10_000)!), 100_000, 'only the last 3 s count');
	t.true(rate.perSecond(10_900)! < 100_000, 'a stall shows');
});

/** A big job: 6 releases × 4 arches × 5 versions, nearly all done, one file hashing, one problem. */
function bigJob() {
	const events: Array<[number, PipelineEvent]> = [[0, {type: 'scan-started', root: '/srv/images'}]];
	const versions: string[] = [];
	for (const release of ['10', '11', '12', '13', '14', '15']) {
		for (const arch of ['amd64', 'arm64', 'armhf', 'riscv64']) {
			for (const day of [1, 2, 3, 4, 5]) {
				const event = found('debian', release, arch, 'default', `2024010${day}_0000`);
				versions.push((event as {path: string}).path);
				events.push([0, event]);
			}
		}
	}

	for (const dir of versions) {
		for (const file of ['lxd.tar.xz', 'root.squashfs']) {
			events.push([1, {type: 'queued', path: `${dir}/${file}`, work: file === 'lxd.tar.xz' ? 1000 : gib}]);
		}
	}

	const active = versions.at(-3)!;
	const failed = versions[7]!;
	for (const dir of versions.filter(d => d !== active && d !== failed).slice(0, -2)) {
		for (const [file, work] of [['lxd.tar.xz', 1000], ['root.squashfs', gib]] as const) {
			events.push([2, {type: 'hashed', path: `${dir}/${file}`, size: work, work, milliseconds: 500}]);
		}
	}

	events.push([900, {type: 'progress', path: `${active}/root.squashfs`, done: gib / 8, work: gib}],
		[1000, {type: 'progress', path: `${active}/root.squashfs`, done: gib / 4, work: gib}],
		[1000, {type: 'skipped', scope: 'file', path: `${failed}/root.squashfs`, ...because('unreadable', 'EIO')}]);
	return {live: model(events, {write: false, jobs: 4}), active};
}

test('a tree larger than the screen: finished subtrees fold, active and problem nodes stay, the footer stays', t => {
	const {live, active} = bigJob();
	for (const height of [40, 24, 16]) {
		const text = screen(live, {height, now: 1000});
		const lines = text.split('\n');
		t.true(lines.length <= height, `${lines.length} lines fit in ${height}`);
		t.regex(text, /root\.squashfs\s+━+╸?─+\s+25%/, 'the hashing file is visible');
		t.true(lines.some(line => line.includes(active.split('/').at(-1)!)), 'its version is visible');
		// The failed file is visible, or (on a screen too small for both) announced where it is.
		t.regex(text, /✗ root\.squashfs\s+cannot be read \(EIO\)\s+unreadable$|[↑↓] \d+ more · 1 problem$/m);
		t.regex(lines.at(-1)!, /q cancel/, 'the footer is last');
		t.regex(text, /files 232\/239/);
		// Finished subtrees are one line each (and on a small screen, a run of them is one line).
		t.regex(text, height === 40 ? /▸ ✓ 11\s+20 versions · 20\.0 GiB$/m : /▸ ✓ 4 releases\s+80 versions · 80\.0 GiB$/m);
	}
});

test('scrolling browses the unfinished tree; following comes back to the hashing', t => {
	const {live} = bigJob();
	const top = screen(live, {height: 16, now: 1000, scroll: 0});
	t.notRegex(top, /↑ \d+ more/, 'at the top');
	t.regex(top, /↓ \d+ more/);
	const further = screen(live, {height: 16, now: 1000, scroll: 5});
	t.regex(further, /↑ 5 more/);
	const end = view(live, {height: 16, now: 1000, scroll: 10_000});
	const bottom = screen(live, {height: 16, now: 1000, scroll: end.start});
	t.notRegex(bottom, /↓ \d+ more/, 'at the bottom');
	t.regex(screen(live, {height: 16, now: 1000}), /25%/);
});

test('60 columns: nothing wraps and long names are cut in the middle', t => {
	const long = 'a-very-long-variant-name-that-goes-on-and-on-and-on-until-the-end';
	const live = model([...midHash, [1, found('debian', '12', 'amd64', long, '20240101_0000')]]);
	for (const width of [60, 45, 120]) {
		const {lines} = view(live, {width, height: 60});
		for (const line of lines) {
			t.true(plain(paint(line)).length <= width, `${width}: ${plain(paint(line))}`);
		}

		const text = screen(live, {width, height: 60});
		if (width < 100) {
			t.regex(text, /a-very-long-v.*….*until-the-end|a-very.*….*the-end/, `${width}`);
		}

		t.regex(text, /root\.squashfs\s+━+╸?─+\s+49%/);
		t.regex(text, /files 4\/7/);
	}

	t.is(truncateMiddle('20240101_0000', 9), '2024…0000');
	t.is(truncateMiddle('short', 9), 'short');
});

test('80 columns: a summary longer than the screen wraps between words; only a word wider than the screen is cut', t => {
	const root = '/srv/www/images.example.org/simplestreams/published-for-the-lab';
	const live = model([[0, {type: 'scan-started', root}], [1, found('debian', '12', 'amd64', 'default', '20240101_0000')],
		[2, {type: 'cataloged', products: 1, versions: 1, images: {lxd: 1, incus: 1}}],
		[3, {type: 'written', path: 'streams/v1/images.json', changed: true}], [3, {type: 'written', path: 'streams/v1/index.json', changed: true}],
		[3, {type: 'written', path: 'index.html', changed: false}]]);
	live.finish('done', 10);
	const text = screen(live, {width: 80, now: 10});
	const summary = 'wrote streams/v1/images.json, streams/v1/index.json; unchanged index.html in ' + root;
	const start = text.indexOf('wrote ');
	const lines = text.slice(start).split('\n').slice(0, 2);
	t.true(lines.every(line => stringWidth(line) <= 80), lines.join('\n'));
	t.is(lines.map(line => line.trim()).join(' '), summary, 'every word whole, on one line or the next');

	const wide = `/${'x'.repeat(100)}`;
	const far = model([[0, {type: 'scan-started', root: wide}], [1, found('debian', '12', 'amd64', 'default', '20240101_0000')],
		[2, {type: 'cataloged', products: 1, versions: 1, images: {lxd: 1, incus: 1}}], [3, {type: 'written', path: 'index.html', changed: true}]]);
	far.finish('done', 10);
	const cutText = screen(far, {width: 80, now: 10});
	const cutLines = cutText.slice(cutText.indexOf('wrote ')).split('\n').slice(0, 3);
	const whole = `wrote index.html in ${wide}`;
	t.deepEqual(cutLines.slice(0, 2).map(line => line.trimEnd()), [whole.slice(0, 80), whole.slice(80)]);
});

test('reasons in a word or two, by their code whatever their text says', t => {
	t.is(shortReason('unreadable'), 'unreadable');
	t.is(shortReason('damaged'), 'damaged');
	t.is(shortReason('duplicate-fingerprint'), 'duplicate');
	t.is(shortReason('no-metadata'), 'no metadata');
	const live = model([[0, {type: 'scan-started', root: '/srv'}], [0, found('acme', '1.0', 'amd64', 'default', '20240101_0000')],
		[1, {type: 'skipped', scope: 'file', path: 'images/acme/1.0/amd64/default/20240101_0000/root.squashfs', code: 'uploading', reason: 'reworded entirely'}]]);
	t.regex(screen(live), /! root\.squashfs\s+reworded entirely\s+uploading$/m);
});

test('names from the disk cannot drive the terminal', t => {
	const live = model([[0, {type: 'scan-started', root: '/srv'}], [0, {type: 'skipped', scope: 'tree', path: 'images/evil\u001B[2J\u0007', ...because('bad-name', '"evil\u001B[2J" has characters LXD and Incus escape differently', 'os')}]]);
	const text = view(live).lines.map(line => paint(line, false)).join('\n');
	t.false(text.includes('\u001B'));
	t.false(text.includes('\u0007'));
	t.regex(text, /evil\?\[2J\?/);
});

test('the summary: published, a dry run, a cancelled run', t => {
	const events: Array<[number, PipelineEvent]> = [...midHash,
		[1800, {type: 'hash-finished', files: 4, bytes: (2 * gib) + 2000, milliseconds: 1700}],
		[1800, {type: 'cache-saved', path: '/cache/x.json', entries: 8}],
		[1800, {type: 'cataloged', products: 1, versions: 2, images: {lxd: 2, incus: 2}}],
		[1810, {type: 'written', path: 'streams/v1/images.json', changed: true}],
		[1810, {type: 'written', path: 'streams/v1/index.json', changed: false}]];
	const published = model(events);
	published.finish('done', 2000);
	const done = screen(published, {now: 2000});
	t.regex(done, /^simplestreams .* ! done in 2\.0 s with 4 problems/m, 'not green while problems are listed');
	t.regex(done, /✓ published 2 images for LXD, 2 for Incus · 1 product · 2 versions/);
	t.regex(done, /wrote streams\/v1\/images\.json; unchanged streams\/v1\/index\.json in \/srv\/images/);
	t.regex(done, /over 1\.7 s/);
	t.false(done.includes('ETA'));
	t.false(done.includes('q cancel'));
	t.false(done.includes('workers'), 'once it is over no worker is busy');

	const reused = model([[0, {type: 'scan-started', root: '/srv/images'}], [1, found('debian', '12', 'amd64', 'default', '20240101_0000')],
		[2, {type: 'cached', path: `${v1}/lxd.tar.xz`}], [2, {type: 'cached', path: `${v1}/root.squashfs`}],
		[3, {type: 'cataloged', products: 1, versions: 1, images: {lxd: 1, incus: 1}}],
		[4, {type: 'delta-made', path: `${v1}/delta-20231201_0000.vcdiff`, size: 1000, fraction: 0.1, milliseconds: 5}]]);
	reused.finish('done', 10);
	const all = screen(reused, {now: 10});
	t.regex(all, /✓ done in 10 ms/, 'green when nothing went wrong');
	t.regex(all, /nothing to hash/);
	t.false(all.includes('hashing not started'));
	t.false(all.includes('workers 0/2'));
	t.regex(all, /✓ published 1 image for LXD, 1 for Incus · 1 product · 1 version · made 1 delta/);

	const dry = model(events.filter(([, e]) => e.type !== 'written'), {write: false, jobs: 2});
	dry.finish('done', 2000);
	t.regex(screen(dry, {now: 2000}), /would publish 2 images for LXD.*\n.*dry run: nothing written/);

	const cancelled = model(midHash);
	cancelled.cancel();
	t.regex(screen(cancelled), /cancelling: stopping the hash workers; nothing will be written/);
	cancelled.apply({type: 'cache-saved', path: '/cache/x.json', entries: 5}, 1800);
	cancelled.finish('cancelled', 1900);
	const text = screen(cancelled, {now: 1900});
	t.regex(text, /✗ cancelled: nothing written; the digest cache keeps what finished/);
	t.regex(text, /◦ root\.squashfs\s+━+╸?─+\s+49%\s+stopped$/m, 'nothing spins once stopped');
});

test('the final frame of a real run, from the core\'s own events', async t => {
	const {dir, root} = await liveTree(t, 4096);
	const live = new LiveModel({write: false, jobs: 1});
	await withRunContext({root, jobs: 1, cachePath: path.join(dir, 'cache.json')}, event => live.apply(event, performance.now()), async context => generate(context, false));
	live.finish('done', performance.now());
	const text = screen(live, {now: performance.now()});
	t.regex(text, /✓ would publish 1 image for LXD, 1 for Incus · 1 product · 1 version/, text);
	t.regex(text, /✓ root\.squashfs\s+4\.00 KiB .* done$/m);
	t.regex(text, /files 2\/2/);
});

/** A terminal stand-in: what the reporter writes, and keys to type. */
function terminal(columns = 80, rows = 24) {
	const out = Object.assign(new EventEmitter(), {columns, rows, isTTY: true, frames: [] as string[], write(data: string) {
		out.frames.push(data);
		return true;
	}});
	let pending: string | null = null;
	const input = Object.assign(new EventEmitter(), {
		isTTY: true,
		setRawMode() {},
		setEncoding() {},
		resume() {},
		pause() {},
		ref() {},
		unref() {},
		read() {
			const data = pending;
			pending = null;
			return data;
		},
		type(data: string) {
			pending = data;
			input.emit('readable');
		},
	});
	const last = () => plain(out.frames.filter(f => f.includes('simplestreams')).at(-1));
	/** The last frame once it matches: frames come as often as their cost allows (the draw budget). */
	const shown = async (pattern: RegExp) => {
		for (const end = Date.now() + 30_000; !pattern.test(last()) && Date.now() < end;) {
			await delay(20);
		}

		return last();
	};

	return {out, input, last, shown};
}

test('the reporter: draws on a timer, q and Ctrl-C cancel, j/k scroll, the last frame stays', async t => {
	const {out, input, last, shown} = terminal(80, 16);
	let cancels = 0;
	const reporter = liveReporter({out: out as unknown as NodeJS.WriteStream, input: input as unknown as NodeJS.ReadStream, write: true, jobs: 4, onCancel: () => cancels++, fps: 50});
	for (const [, event] of midHash) {
		reporter.emit(event);
	}

	t.regex(await shown(/root\.squashfs/), /root\.squashfs/, 'the timer draws what came since the first frame');
	input.type('j');
	await delay(50);
	t.regex(last(), /↑ 1 more|↓/);
	input.type('q');
	input.type('\u0003');
	await delay(50);
	t.is(cancels, 2);
	reporter.cancel();
	await delay(50);
	t.regex(last(), /cancelling/);
	await reporter.finish('cancelled');
	t.regex(last(), /✗ cancelled: nothing written/);
	const frames = out.frames.length;
	await delay(100);
	t.is(out.frames.length, frames, 'no drawing after finish');
});

test.serial('finishing the live tree waits for Ink to end and leaves no listener on the process behind', async t => {
	const {out, shown} = terminal(80, 24);
	const before = process.listenerCount('beforeExit');
	const reporter = liveReporter({out: out as unknown as NodeJS.WriteStream, write: true, jobs: 2, onCancel() {}, fps: 50});
	for (const [, event] of midHash) {
		reporter.emit(event);
	}

	await shown(/root\.squashfs/);
	await reporter.finish('done');
	t.is(process.listenerCount('beforeExit'), before);
});

test('without a terminal on stdin there are no keys, and no raw mode to crash on', async t => {
	const {out, last, shown} = terminal(60, 20);
	const reporter = liveReporter({out: out as unknown as NodeJS.WriteStream, write: false, jobs: 2, onCancel() {}, fps: 50});
	for (const [, event] of midHash) {
		reporter.emit(event);
	}

	t.regex(await shown(/Ctrl-C cancels/), /Ctrl-C cancels/);
	await reporter.finish('done');
	t.regex(last(), /dry run: nothing written/);
});

test('wide characters are measured in terminal cells: every line fits the width, however the names are written', t => {
	const wide = '日本語のイメージ名前'.repeat(4); // Two cells a character.
	const live = model([[0, {type: 'scan-started', root: `/srv/${wide}`}],
		[0, {type: 'skipped', scope: 'tree', path: `images/${wide}`, ...because('bad-name', `"${wide}" has characters LXD and Incus escape differently`, 'os')}],
		[0, {type: 'skipped', scope: 'tree', path: 'images/e\u0301moji👩‍👩‍👧', ...because('uploading')}]]);
	for (const width of [100, 60, 41]) {
		const {lines} = view(live, {width});
		for (const line of lines) {
			t.true(stringWidth(paint(line, false)) <= width, `${stringWidth(paint(line, false))} cells at ${width}: ${paint(line, false)}`);
		}

		t.true(lines.some(line => stringWidth(paint(line, false)) === width), 'the header spans the width');
	}
});

test('frames are paced by their CPU time, and the screen moves at least once a second however dear they are', t => {
	t.is(frameGap(1, 166), 166, 'a cheap frame: the frame rate');
	t.is(frameGap(10, 166), 500, 'a dearer one: 2% of a core');
	t.is(frameGap(411, 166), 1000, 'however dear: once a second');
	const before = threadCpuMs();
	t.not(before, undefined, 'this thread\'s CPU time, on Linux');
	let spin = 0;
	for (const end = performance.now() + 50; performance.now() < end;) {
		spin++;
	}

	t.true(spin > 0 && threadCpuMs()! >= before!, 'it only grows');
});
