// The heap flags of a publishing process (commands/heap.ts), in a process of its own: V8's flags are
// the process's, and the test runner's threads share this one.
import test from 'ava';
import {execa} from 'execa';
import {distPath} from './helpers/fixtures.js';

/** The young generation's size after a loop that keeps all it makes, in a process that set the flags (or not) and started a worker thread first. */
async function youngGeneration(keep: boolean): Promise<number> {
	const {stdout} = await execa('node', ['--input-type=module', '-e', `
		import {getHeapSpaceStatistics} from 'node:v8';
		import {Worker} from 'node:worker_threads';
		import {keepHeapNearLive} from ${JSON.stringify(distPath('source/commands/heap.js'))};
		if (${keep}) keepHeapNearLive();
		const worker = new Worker('setTimeout(() => {}, 60000)', {eval: true});
		await new Promise(resolve => worker.once('online', resolve));
		// Objects kept as they are made: V8 grows a young generation most of which survives, unless told not to.
		const kept = [];
		for (let index = 0; index < 400000; index++) kept.push({index, name: 'x' + index});
		console.log(getHeapSpaceStatistics().find(space => space.space_name === 'new_space').space_size);
		await worker.terminate();
	`]);
	return Number(stdout);
}

test('the young generation keeps its first size after a worker thread has started', async t => {
	const [kept, grown] = await Promise.all([youngGeneration(true), youngGeneration(false)]);
	t.true(kept <= 2 * 1024 * 1024, `kept: ${kept} bytes`);
	// Without the flags the same loop grows it: what the first assertion tells is the flags' doing.
	t.true(grown > 4 * kept, `without the flags: ${grown} bytes`);
});
