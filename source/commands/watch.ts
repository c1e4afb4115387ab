// `simplestreams --watch [rootdir]`: publish, then keep the streams regenerated as the tree changes,
// until SIGINT or SIGTERM (or q in the live screen): exit 0. SIGHUP forces a full rescan.
// In a terminal (as generate decides it) the live tree and a status line, unless --log asks for log
// lines; elsewhere log lines.
import {realpath} from 'node:fs/promises';
import {runContext} from '../pipeline/context.js';
import type {DeltaOptions} from '../pipeline/delta-options.js';
import {startWatchReporter} from '../report/start.js';
import type {RetentionOptions} from '../retention/retain.js';
import {UsageError} from '../util/errors.js';
import {acquireLock, watchCommand} from '../util/lock.js';
import {Watcher} from '../watch/watcher.js';
import type {TargetFlags} from '../publish/target.js';

export type WatchFlags = {
	root: string;
	jobs: number;
	cache?: string;
	settleSeconds: number;
	/** Log lines even in a terminal; unset, a terminal gets the live screen and anything else plain lines. */
	log?: 'plain' | 'json';
	plain?: boolean;
	deltas?: DeltaOptions;
	/** --to: every regeneration is sent on to a bucket. */
	target?: TargetFlags;
	retention?: RetentionOptions;
};

/** How often the whole tree is regenerated even without events: a safety net for lost events. */
const rescanMs = 10 * 60 * 1000;

export async function runWatch(flags: WatchFlags): Promise<number> {
	if (!Number.isFinite(flags.settleSeconds) || flags.settleSeconds < 0) {
		throw new UsageError(`--settle must be a number of seconds, got ${String(flags.settleSeconds)}`);
	}

	const root = await realpath(flags.root).catch(() => {
		throw new UsageError(`root directory ${flags.root} does not exist`);
	});
	const lock = await acquireLock(root, watchCommand);
	// Checked before the watch starts: a wrong key or bucket is one line, not a failure every change.
	const target = flags.target ? await import('../publish/run.js').then(async ({openTarget}) => openTarget(flags.target!, 'watch')).catch(async (error: unknown) => {
		await lock.release();
		throw error;
	}) : undefined;
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
	// Uploads are told in plain lines, which a live screen would draw over.
	const reporter = await startWatchReporter({log: flags.log ?? (target ? 'plain' : undefined), plain: flags.plain, jobs: flags.jobs, onQuit: () => stop()});
	const context = runContext({root, jobs: flags.jobs, cachePath: flags.cache, settleMs: flags.settleSeconds * 1000, deltas: flags.deltas, retention: flags.retention}, reporter.emit);
	const watcher = new Watcher({context, rescanMs, lock, ...(target ? {publish: async streams => target.send(root, streams)} : {})}, reporter.emit);
	const hangup = () => {
		watcher.rescan('SIGHUP');
	};

	process.on('SIGHUP', hangup);
	try {
		await watcher.start();
		await stopped;
	} finally {
		await watcher.stop(); // Releases the root's lock too.
		await context.close();
		await target?.close();
		process.off('SIGHUP', hangup);
		await reporter.close();
	}

	return 0;
}
