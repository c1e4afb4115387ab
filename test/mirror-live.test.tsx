// A mirror's downloads on the live screen: the mirror's events folded into the downloads' lines,
// drawn by the real Ink component through ink-testing-library.
import {render} from './helpers/ink.js';
import test from 'ava';
import stringWidth from 'string-width';
import type {MirrorEvent} from '../source/mirror/events.js';
import {Downloads} from '../source/report/live/downloads.js';

const {paint, Screen} = await import('../source/report/live/Screen.js');

const mib = 1024 * 1024;
const dir = 'images/debian/12/amd64/default/20240101_0000';

function downloads(events: Array<[number, MirrorEvent]>): Downloads {
	const model = new Downloads();
	for (const [time, event] of events) {
		model.apply(event, time);
	}

	return model;
}

const started: Array<[number, MirrorEvent]> = [
	[0, {type: 'upstream-read', url: 'https://images.example/', products: 1, versions: 1}],
	[0, {type: 'fetching', files: 2, bytes: 5 * mib}],
	[0, {type: 'download-started', path: `${dir}/lxd.tar.xz`, url: 'https://images.example/a', size: mib, resumedFrom: 0}],
	[0, {type: 'download-started', path: `${dir}/root.squashfs`, url: 'https://images.example/b', size: 4 * mib, resumedFrom: mib}],
	[1000, {type: 'download-progress', path: `${dir}/lxd.tar.xz`, done: mib / 2, size: mib}],
	[1000, {type: 'download-progress', path: `${dir}/root.squashfs`, done: 2 * mib, size: 4 * mib}],
	[2000, {type: 'download-progress', path: `${dir}/root.squashfs`, done: 3 * mib, size: 4 * mib}],
];

const drawn = (model: Downloads, width: number, now: number) => {
	const {lastFrame, unmount} = render(<Screen lines={model.lines(width, 20, now)}/>);
	const text = lastFrame() ?? '';
	unmount();
	return text.replaceAll(/\u001B\[[\d;]*m/g, '');
};

test('a row per file on its way with its bytes, rate and time left, and the total with its own', t => {
	const screen = drawn(downloads(started), 120, 2000);
	t.regex(screen, /mirror of https:\/\/images\.example\//);
	// Nothing came for a second: its rate falls, and its time left grows.
	t.regex(screen, /lxd\.tar\.xz .* 50% {2}512 KiB of 1\.00 MiB {2}256 KiB\/s {2}2\.0 s left/);
	// Resumed after 1 MiB: the rate counts what came over the wire, not what an earlier pass left.
	t.regex(screen, /root\.squashfs .* 75% {2}3\.00 MiB of 4\.00 MiB {2}1\.00 MiB\/s {2}1\.0 s left/);
	t.regex(screen, /✓ 0 of 2 files fetched/);
	// 3.5 MiB of 5 done; 2.5 MiB came in two seconds; 1.5 MiB left.
	t.regex(screen, /total 3\.50 MiB of 5\.00 MiB · 1\.25 MiB\/s · 2\.0 s left/);
});

test('files that arrived fold into the count, refused ones are counted apart, and the summary says what came', t => {
	const model = downloads([...started,
		[2500, {type: 'downloaded', path: `${dir}/lxd.tar.xz`, size: mib, resumedFrom: 0, milliseconds: 2500}],
		[2600, {type: 'download-failed', path: `${dir}/root.squashfs`, url: 'https://images.example/b', reason: 'sha256 differs'}]]);
	const screen = drawn(model, 100, 2600);
	t.notRegex(screen, /lxd\.tar\.xz|root\.squashfs/, 'no row for a file that is not on its way');
	t.regex(screen, /✓ 1 of 2 files fetched · ✗ 1 refused/);
	t.regex(paint(model.summary()[0]!, false), /https:\/\/images\.example\/: 1 files fetched \(1\.00 MiB\), 0 versions placed, 1 files refused/);
});

test('every line fits the width, and more files than rows fold into a line', t => {
	const many: Array<[number, MirrorEvent]> = Array.from({length: 30}, (_, index) => [0, {type: 'download-started', path: `${dir}/file-${index}-${'x'.repeat(80)}`, url: 'https://images.example/x', size: mib, resumedFrom: 0}]);
	const model = downloads([...started, ...many]);
	for (const width of [120, 80, 60]) {
		const lines = model.lines(width, 12, 2000);
		t.true(lines.length <= 12);
		for (const line of lines) {
			t.true(stringWidth(paint(line, false)) <= width, `${stringWidth(paint(line, false))} cells at ${width}: ${paint(line, false)}`);
		}
	}

	t.regex(paint(model.lines(80, 12, 2000).at(-3)!, false), /… 25 more on their way/);
});
