// `simplestreams --watch [rootdir]`: publish, then keep the streams regenerated as the tree changes,
// until SIGINT or SIGTERM (or q in the live screen): exit 0. SIGHUP forces a full rescan.
// In a terminal (as generate decides it) the live tree and a status line, unless --log asks for log
// lines; elsewhere log lines.
import {watch, type WatchEvent} from '../index.js';
import {startWatchReporter} from '../report/start.js';
import {rootOperand, runOptions, targetOf, type Command} from './command.js';
import {fullCollection, keepHeapNearLive} from './heap.js';

/** How often the whole tree is regenerated even without events: a safety net for lost events. */
const rescanMs = 10 * 60 * 1000;

const defaultSettleSeconds = 2;

export const watchCommand: Command = {
	name: '--watch',
	flags: ['watch', 'write', 'jobs', 'cache', 'plain', 'settle', 'log', 'allowEmpty', 'deltas', 'deltaRatio', 'vmDeltas', 'to', 'endpoint', 'keep', 'olderThan', 'grace', 'help', 'version'],
	help: '',
	async run({flags, operands}) {
		keepHeapNearLive(25);
		const options = {root: rootOperand(operands), ...runOptions(flags), settleMs: (flags.settle ?? defaultSettleSeconds) * 1000, rescanMs};
		// The reporter (a live screen in a terminal) starts once the watch holds the root: a refusal
		// (no root, another writer) is one line without a screen. What the watcher says meanwhile waits.
		const early: WatchEvent[] = [];
		let emit = (event: WatchEvent) => {
			early.push(event);
		};

		const to = targetOf(flags);
		const collect = fullCollection();
		const watching = await watch({...options, ...(to ? {to} : {})}, event => {
			emit(event);
			if (event.type === 'regenerated') {
				// Once the regeneration has let go of what it made: after the jobs it left are done.
				setImmediate(collect);
			}
		});

		let stop = () => {};
		const stopped = new Promise<void>(resolve => {
			stop = () => {
				process.off('SIGINT', stop);
				process.off('SIGTERM', stop);
				resolve();
			};

			process.on('SIGINT', stop);
			process.on('SIGTERM', stop);
		});
		const hangup = () => {
			watching.rescan('SIGHUP');
		};

		process.on('SIGHUP', hangup);
		let reporter: Awaited<ReturnType<typeof startWatchReporter>> | undefined;
		try {
			reporter = await startWatchReporter({log: flags.log, plain: flags.plain, jobs: options.jobs, onQuit: () => stop()});
			emit = reporter.emit;
			for (const event of early.splice(0)) {
				emit(event);
			}

			await stopped;
		} finally {
			await watching.stop(); // Releases the root's lock (and the bucket's) too.
			process.off('SIGHUP', hangup);
			await reporter?.close();
		}

		return 0;
	},
};
