// The watcher's logs of a regeneration that retires and deletes: the plain log names each version and
// counts them on the regeneration's line; --log json carries each as an event of its own.
import {PassThrough} from 'node:stream';
import test from 'ava';
import {jsonLog} from '../source/report/loggers/json.js';
import {plainLog} from '../source/report/loggers/plain-watch.js';
import type {WatchEmit, WatchEvent} from '../source/watch/events.js';

const version = 'images/acme/1.0/amd64/default/20240101_0000';
const events: WatchEvent[] = [
	{type: 'regenerating', reason: 'retired files are due for deletion', changes: 0},
	{type: 'retired', path: `${version.slice(0, -4)}0100`, why: 'beyond the newest 2', bytes: 2048, deleteAfter: '2030-06-01T12:00:00.000Z'},
	{type: 'deleted', path: version, files: 3, bytes: 1024 ** 3},
	{type: 'regenerated', milliseconds: 12, added: [], removed: ['acme:1.0:amd64:default 20240101_0100'], images: {lxd: 2, incus: 2}, streamsChanged: true, hashedBytes: 0, retired: 1, deleted: 3, deletedBytes: 1024 ** 3},
];

function logged(log: (out: PassThrough) => WatchEmit): string[] {
	const out = new PassThrough();
	const emit = log(out);
	for (const event of events) {
		emit(event);
	}

	return String(out.read() ?? '').trim().split('\n');
}

test('--log json: each retirement and deletion is an event with its path and bytes', t => {
	const lines = logged(jsonLog).map(line => JSON.parse(line) as Record<string, unknown>);
	t.like(lines.find(line => line['type'] === 'retired'), {path: `${version.slice(0, -4)}0100`, bytes: 2048, deleteAfter: '2030-06-01T12:00:00.000Z'});
	t.like(lines.find(line => line['type'] === 'deleted'), {path: version, files: 3, bytes: 1024 ** 3});
	t.like(lines.find(line => line['type'] === 'regenerated'), {retired: 1, deleted: 3, deletedBytes: 1024 ** 3});
});

test('the plain log names each one and counts them on the regeneration\'s line', t => {
	const text = logged(plainLog).join('\n');
	t.regex(text, /retired images\/acme\/1\.0\/amd64\/default\/20240101_0100 \(2\.00 KiB\): beyond the newest 2; files deleted after 2030-06-01T12:00:00\.000Z/);
	t.regex(text, /deleted images\/acme\/1\.0\/amd64\/default\/20240101_0000: 3 files \(1\.00 GiB\)/);
	t.regex(text, /regenerated in .*; -1 retired, 3 deleted \(1\.00 GiB\);/);
});
