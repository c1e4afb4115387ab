// The live tree of a run that retires (-N --keep, prune, remove): each retired version says so on its
// own line, with its size and when its files go; each deleted one, the space it freed; the footer
// counts both. A dry run says what it would do.
import path from 'node:path';
import test from 'ava';
import type {PipelineEvent} from '../source/pipeline/events.js';
import {frame} from '../source/report/live/layout.js';
import {rollup} from '../source/report/live/rows.js';
import {LiveModel} from '../source/report/live/state.js';
import {copyExample, tempDir} from './helpers/fixtures.js';
import {terminal} from './helpers/terminal.js';

const product = {id: 'acme:1.0:amd64:default', os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', path: 'images/acme/1.0/amd64/default'};
const mib = 1024 ** 2;
const names = ['20240101_0000', '20240102_0000', '20240103_0000', '20240104_0000'];
const dir = (name: string) => `${product.path}/${name}`;
const deleteAfter = '2030-06-01T12:00:00.000Z';
const local = new Date(deleteAfter);
const pad = (n: number) => String(n).padStart(2, '0');
const shownAfter = `${local.getFullYear()}-${pad(local.getMonth() + 1)}-${pad(local.getDate())} ${pad(local.getHours())}:${pad(local.getMinutes())}`;

/** Four versions scanned; the oldest was retired earlier and is past its grace, the next two retire now, the newest is published. */
function run(write: boolean): LiveModel {
	const model = new LiveModel({write, jobs: 2});
	const events: PipelineEvent[] = [
		{type: 'scan-started', root: '/srv/images'},
		...names.map((name): PipelineEvent => ({type: 'found', product, version: name, path: dir(name), files: [{path: `${dir(name)}/lxd.tar.xz`, size: 1000}, {path: `${dir(name)}/root.squashfs`, size: 100 * mib}]})),
		{type: 'scanned', products: 1, versions: 4, files: 8, bytes: 400 * mib},
		{type: 'retired', path: dir(names[1]!), why: 'beyond the newest 1', bytes: 100 * mib, deleteAfter},
		{type: 'retired', path: dir(names[2]!), why: 'beyond the newest 1', bytes: 50 * mib, deleteAfter},
		{type: 'deleted', path: dir(names[0]!), files: 2, bytes: 30 * mib},
		// A delta file nobody publishes any more: a leftover, not a version.
		{type: 'retired', path: `${dir(names[3]!)}/delta-20231231_0000.vcdiff`, why: 'not published', bytes: mib, deleteAfter},
		{type: 'cached', path: `${dir(names[3]!)}/lxd.tar.xz`},
		{type: 'cached', path: `${dir(names[3]!)}/root.squashfs`},
		{type: 'cataloged', products: 1, versions: 1, images: {lxd: 1, incus: 1}},
	];
	for (const event of events) {
		model.apply(event, 0);
	}

	model.finish('done', 10);
	return model;
}

const text = (model: LiveModel, width = 120) => frame(model, {width, height: 30, now: 10, keys: false}).lines.map(line => line.map(segment => segment.text).join('')).join('\n');
const lineOf = (screen: string, needle: string) => screen.split('\n').find(line => line.includes(needle)) ?? '';

test('-N: retired versions show their size and when their files go, deleted ones the space freed, the footer counts both', t => {
	const model = run(true);
	const screen = text(model);
	t.regex(lineOf(screen, names[1]!), /− 20240102_0000\s+retired · 100 MiB · files deleted after /, screen);
	t.true(lineOf(screen, names[1]!).endsWith(shownAfter), 'in local time');
	t.regex(lineOf(screen, names[2]!), /− 20240103_0000\s+retired · 50\.0 MiB/);
	t.regex(lineOf(screen, names[0]!), /× 20240101_0000\s+deleted · freed 30\.0 MiB$/);
	t.regex(lineOf(screen, names[3]!), /✓ 20240104_0000\s+2 files/, 'the published version as ever');
	t.regex(lineOf(screen, 'delta-20231231_0000.vcdiff'), /− delta-20231231_0000\.vcdiff\s+retired · 1\.00 MiB/);
	t.regex(screen, /retired 2 versions, 1 leftover \(151 MiB, files deleted after [\d-]+ [\d:]+\)/);
	t.regex(screen, /deleted 1 version \(freed 30\.0 MiB\)/);
	// Their files are no work of this run: the run is done, all it publishes is there.
	t.like(rollup(model.tree), {files: 2, finished: 2, versions: 1, problems: 0});
	t.regex(screen, /files 2\/2/);
	t.is(screen.split('\n').filter(line => line.includes('root.squashfs')).length, 1, 'a retired version is not opened on its files');
});

test('a dry run says what it would retire and delete', t => {
	const screen = text(run(false));
	t.regex(lineOf(screen, names[1]!), /would retire · 100 MiB/);
	t.regex(lineOf(screen, names[0]!), /would delete · frees 30\.0 MiB$/);
	t.regex(screen, /would retire 2 versions, 1 leftover \(151 MiB, /);
	t.regex(screen, /would delete 1 version \(frees 30\.0 MiB\)/);
});

test('a narrow screen keeps the word and drops the rest; a version retired earlier says so', t => {
	const model = run(true);
	model.apply({type: 'retirement-pending', path: dir(names[2]!), bytes: 50 * mib, deleteAfter}, 20);
	const screen = text(model, 50);
	t.true(screen.split('\n').every(line => line.length <= 50));
	t.regex(lineOf(screen, names[1]!), /retired( · 100 MiB)?$/);
	t.regex(lineOf(screen, names[2]!), /retired earlier/);
	t.regex(lineOf(screen, names[0]!), /deleted( · freed 30\.0 MiB)?$/);
});

test('in a real terminal: prune -N --keep 1 shows the version it retired on its line and in the footer', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await copyExample(root);
	const term = terminal(t, dir, ['prune', '-N', '--keep', '1', root], '', {width: 120, height: 40}, {env: `XDG_CACHE_HOME=${path.join(dir, 'xdg')}`});
	t.is(await term.exitCode(), 0, term.capture());
	const screen = term.capture();
	t.regex(lineOf(screen, '20240601_00:00'), /− 20240601_00:00\s+retired · [\d.]+ [KM]?i?B · files deleted after \d{4}-\d\d-\d\d \d\d:\d\d/, screen);
	t.regex(screen, /retired 1 version \([\d.]+ [KM]?i?B, files deleted after /);
});
