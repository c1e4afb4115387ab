// A publish's uploads on the live screen: PublishEvents folded into the lines under the tree, drawn by
// the real Ink component through ink-testing-library; rows as for a mirror's downloads (transfers.ts).
import {render} from './helpers/ink.js';
import test from 'ava';
import stringWidth from 'string-width';
import type {PublishEvent} from '../source/publish/events.js';
import {Uploads} from '../source/report/live/uploads.js';

const {paint, Screen} = await import('../source/report/live/Screen.js');

const mib = 1024 * 1024;
const target = 's3://images/stable/';
const dir = `${target}images/debian/12/amd64/default/20240101_0000`;

function uploads(events: Array<[number, PublishEvent]>, dryRun = false): Uploads {
	const model = new Uploads(dryRun);
	for (const [time, event] of events) {
		model.apply(event, time);
	}

	return model;
}

const started: Array<[number, PublishEvent]> = [
	[0, {type: 'bucket-read', target, objects: 0, bytes: 0}],
	[0, {type: 'upload-planned', key: `${dir}/incus.tar.xz`, size: mib, reason: 'missing'}],
	[0, {type: 'upload-planned', key: `${dir}/root.squashfs`, size: 64 * mib, reason: 'missing'}],
	[500, {type: 'uploaded', key: `${dir}/incus.tar.xz`, size: mib, milliseconds: 500}],
	[1000, {type: 'upload-progress', key: `${dir}/root.squashfs`, done: 8 * mib, size: 64 * mib}],
	[2000, {type: 'upload-progress', key: `${dir}/root.squashfs`, done: 16 * mib, size: 64 * mib}],
	[3000, {type: 'upload-progress', key: `${dir}/root.squashfs`, done: 24 * mib, size: 64 * mib}],
];

const drawn = (model: Uploads, width: number, now: number) => {
	const {lastFrame, unmount} = render(<Screen lines={model.lines(width, now)}/>);
	const text = lastFrame() ?? '';
	unmount();
	return text.replaceAll(/\u001B\[[\d;]*m/g, '');
};

test('a row per large file going up with its bytes, rate and time left; the files sent; the total with its rate and time left', t => {
	const screen = drawn(uploads(started), 120, 3000);
	t.regex(screen, /uploading to s3:\/\/images\/stable\//);
	// Named under the target (its middle cut to fit); 8 MiB a second over the last two seconds, 40 MiB left.
	t.regex(screen, /^ {2}images\/debian\/12\/amd64\/.*root\.squashfs .* 37% {2}24\.0 MiB of 64\.0 MiB {2}8\.00 MiB\/s {2}5\.0 s left/m);
	t.notRegex(screen, /incus\.tar\.xz/, 'a file sent whole has no row');
	t.regex(screen, /✓ 1 of 2 files uploaded/);
	t.regex(screen, /total 25\.0 MiB of 65\.0 MiB · [\d.]+ MiB\/s · [\d.]+ s left/);
});

test('published: one line of what went up; a dry run says what would; a stop says the streams stay', t => {
	const done = uploads([...started,
		[9000, {type: 'uploaded', key: `${dir}/root.squashfs`, size: 64 * mib, milliseconds: 8500}],
		[9100, {type: 'published', target, uploaded: 2, bytes: 65 * mib, deleted: 2, deletedBytes: 3 * mib, milliseconds: 9100, dryRun: false}]]);
	t.deepEqual(done.lines(120, 9100).map(line => paint(line, false)), ['↑ published to s3://images/stable/: 2 files uploaded (65.0 MiB), 2 objects deleted (3.00 MiB) in 9.1 s']);

	const dry = uploads([...started.slice(0, 3), [100, {type: 'published', target, uploaded: 2, bytes: 65 * mib, deleted: 0, deletedBytes: 0, milliseconds: 100, dryRun: true}]], true);
	t.regex(paint(dry.lines(100, 100)[0]!, false), /s3:\/\/images\/stable\/: would upload 2 files \(65\.0 MiB\); nothing sent/);

	const stopped = uploads(started);
	stopped.cancelling = true;
	t.regex(drawn(stopped, 100, 3000), /cancelling: aborting the upload; the bucket's streams stay as they were/);
	stopped.outcome = 'cancelled';
	t.regex(drawn(stopped, 100, 3000), /✗ cancelled: the upload is aborted, the bucket's streams are as they were/);
	t.deepEqual(new Uploads(false).lines(100, 0), [], 'nothing before a send');
});

test('every line fits the width, and more large files than rows fold into a line', t => {
	const many: Array<[number, PublishEvent]> = Array.from({length: 9}, (_, index) => [3000, {type: 'upload-progress', key: `${dir}/file-${index}-${'x'.repeat(80)}`, done: mib, size: 16 * mib}]);
	const model = uploads([...started, ...many]);
	for (const width of [120, 80, 60]) {
		const lines = model.lines(width, 3000);
		t.is(lines.length, 7, 'the header, four rows, the count and the total');
		for (const line of lines) {
			t.true(stringWidth(paint(line, false)) <= width, `${stringWidth(paint(line, false))} cells at ${width}: ${paint(line, false)}`);
		}
	}

	t.regex(paint(model.lines(80, 3000).at(-3)!, false), /… 7 more on their way/);
});
