// `--watch` in a terminal without one: the status folded from watch events, drawn under the tree by
// the real Ink components (ink-testing-library), and the live watch screen's redraw budget.
import {render} from './helpers/ink.js';
import {EventEmitter} from 'node:events';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import type {PipelineEvent} from '../source/pipeline/events.js';
import {frame} from '../source/report/live/layout.js';
import {LiveModel} from '../source/report/live/state.js';
import {WatchStatus} from '../source/report/live/watch-status.js';
import {clock} from '../source/util/format.js';
import type {WatchEvent} from '../source/watch/events.js';

const {Screen} = await import('../source/report/live/Screen.js');
const {liveWatch} = await import('../source/report/live/reporter.js');

const plain = (text = '') => text.replaceAll(/\u001B\[[\d;]*m/g, '');
const ref = {id: 'acme:1.0:amd64:default', os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', path: 'images/acme/1.0/amd64/default'};
const dir = `${ref.path}/20240102_0000`;
const regeneration: PipelineEvent[] = [
	{type: 'scan-started', root: '/srv/www'},
	{type: 'found', product: ref, version: '20240102_0000', path: dir, files: [{path: `${dir}/root.squashfs`, size: 4096}]},
	{type: 'scanned', products: 1, versions: 1, files: 1, bytes: 4096},
	{type: 'hash-finished', files: 0, bytes: 0, milliseconds: 0},
	{type: 'cataloged', products: 1, versions: 1, images: {lxd: 1, incus: 1}},
];
const regenerated: WatchEvent = {type: 'regenerated', milliseconds: 312, added: ['acme:1.0:amd64:default 20240102_0000'], removed: [], images: {lxd: 3, incus: 2}, streamsChanged: true, hashedBytes: 4096, retired: 0, deleted: 0, deletedBytes: 0};

/** The status after `events`, drawn under a finished tree at `now`. */
function draw(events: WatchEvent[], now: number, width = 100): string {
	const status = new WatchStatus();
	const model = new LiveModel({write: true, jobs: 2});
	for (const event of regeneration) {
		model.apply(event, 0);
	}

	model.finish('done', 10);
	for (const event of events) {
		status.apply(event, 1_000_000);
	}

	const {lastFrame, unmount} = render(<Screen lines={frame(model, {width, height: 30, now: 20, keys: true, status: status.lines(now, true)}).lines}/>);
	const text = plain(lastFrame());
	unmount();
	return text;
}

const start = 1_000_000;
const watching: WatchEvent = {type: 'watching', root: '/srv/www', settleMs: 2000};

test('the status: watching since, the last regeneration with what it added, idle; the keys replace the tree\'s hint', t => {
	const text = draw([watching, {type: 'regenerating', reason: 'start', changes: 0}, regenerated], start + 125_000);
	t.regex(text, new RegExp(`watching /srv/www since ${clock(start)} \\(2m05s\\)`));
	t.regex(text, new RegExp(`last regeneration ${clock(start, true)} in 312 ms · \\+1 -0 · 3 images for LXD, 2 for Incus · streams updated`));
	t.regex(text, /^ {2}\+acme:1\.0:amd64:default 20240102_0000$/m);
	t.regex(text, /✓ idle · ↑↓ j\/k scroll · esc follow · q stops watching$/m);
	t.notRegex(text, /q cancel/);
	t.regex(text, /acme/, 'the tree is above it');
	t.is(text.split('\n').at(-1), '✓ idle · ↑↓ j/k scroll · esc follow · q stops watching', 'the status is last');
});

test('the status: regenerating and why, settling until when, root missing, a failure until the next success', t => {
	const regenerating: WatchEvent = {type: 'regenerating', reason: 'changes under images/acme', changes: 3};
	t.regex(draw([watching, regenerating], start), /↻ regenerating: changes under images\/acme \(3 changes\)/);
	t.regex(draw([watching], start), /no regeneration finished yet/);
	const settling: WatchEvent = {type: 'settling', path: dir, readyAt: start + 1500};
	t.regex(draw([watching, regenerating, settling, regenerated], start + 500), new RegExp(`◦ settling: 1 version until ${clock(start + 1500, true)}`));
	t.regex(draw([watching, regenerating, settling, regenerated], start + 2000), /✓ idle/, 'no longer once due');
	t.regex(draw([watching, {type: 'root-missing', root: '/srv/www'}], start), /✗ \/srv\/www is gone; waiting for it to come back/);
	const failed: WatchEvent = {type: 'regeneration-failed', message: 'EACCES: images.json'};
	t.regex(draw([watching, regenerating, failed], start), /✗ last regeneration failed, previous streams kept: EACCES: images\.json/);
	t.regex(draw([watching, regenerating, failed, regenerating, regenerated], start), /✓ idle/);
	t.regex(draw([watching, regenerated, {type: 'rescan', reason: 'SIGHUP'}], start), /↻ rescan pending: SIGHUP/);
	t.regex(draw([watching, regenerated, {type: 'stopped'}], start), /^stopped$/m);
});

test('the live watch screen: each regeneration starts a new tree; idle, it draws once a second at most', async t => {
	const frames: string[] = [];
	const out = Object.assign(new EventEmitter(), {columns: 100, rows: 30, isTTY: true, write(data: string) {
		frames.push(plain(data));
		return true;
	}});
	const live = liveWatch({out: out as unknown as NodeJS.WriteStream, jobs: 2, onQuit() {}, fps: 50});
	const last = () => frames.filter(f => f.includes('simplestreams')).at(-1) ?? '';
	live.emit(watching);
	live.emit({type: 'regenerating', reason: 'start', changes: 0});
	for (const event of regeneration) {
		live.emit(event);
	}

	live.emit(regenerated);
	// Frames come as often as their cost allows (the draw budget): wait for the one that shows it.
	const shown = async (pattern: RegExp) => {
		for (const end = Date.now() + 30_000; !pattern.test(last()) && Date.now() < end;) {
			await delay(20);
		}

		return last();
	};

	t.regex(await shown(/root\.squashfs/), /root\.squashfs/);
	t.regex(last(), /✓ idle · Ctrl-C stops watching/, 'no keys without a terminal on stdin');
	const drawn = frames.length;
	await delay(600); // 30 ticks at 50 fps, and nothing changed.
	t.true(frames.length - drawn <= 1, `${frames.length - drawn} frames while idle`);
	live.emit({type: 'regenerating', reason: 'changes under images/acme', changes: 1});
	t.notRegex(await shown(/↻ regenerating/), /root\.squashfs/, 'a new tree');
	t.regex(last(), /↻ regenerating: changes under images\/acme/);
	live.emit({type: 'stopped'});
	await live.close();
	t.regex(frames.at(-1)!, /stopped/, 'the last frame is printed');
});
