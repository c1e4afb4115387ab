// An idle watcher costs nothing between events: besides its inotify watches it keeps one
// timer, the periodic rescan. A poll (of the root, say) would show here as a second one.
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import test from 'ava';
import {runContext} from '../source/pipeline/context.js';
import type {WatchEvent} from '../source/watch/events.js';
import {Watcher} from '../source/watch/watcher.js';
import {copyExample} from './helpers/fixtures.js';
import {tempDir} from './helpers/images.js';

const timers = () => process.getActiveResourcesInfo().filter(kind => kind === 'Timeout').length;

test('once a regeneration is done, the periodic rescan is the only timer', async t => {
	const tmp = await tempDir('ss-watch-idle');
	t.teardown(async () => tmp.cleanup());
	const root = path.join(tmp.path, 'webroot');
	await copyExample(root);
	const before = timers();
	const events: WatchEvent[] = [];
	const emit = (event: WatchEvent) => events.push(event);
	const context = runContext({root, jobs: 1, cachePath: path.join(tmp.path, 'cache.json'), settleMs: 0}, emit);
	const watcher = new Watcher({context, rescanMs: 600_000, recover: async () => false}, emit);
	try {
		await watcher.start();
		while (!events.some(event => event.type === 'regenerated')) {
			await sleep(20);
		}

		await sleep(1500);
		t.is(timers() - before, 1, process.getActiveResourcesInfo().join(', '));
	} finally {
		await watcher.stop();
		await context.close();
	}

	t.is(timers() - before, 0, 'stop clears it');
});
