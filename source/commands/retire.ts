// `simplestreams prune|remove|restore [-N] [rootdir] …`: retention on its own. A dry run prints the
// plan on stdout and changes nothing; -N records it, deletes what is due and publishes (holding the
// root's lock, as -N does).
import {mkdir} from 'node:fs/promises';
import {join} from 'node:path';
import {withRunContext} from '../pipeline/context.js';
import type {DeltaOptions} from '../pipeline/delta-options.js';
import {publish} from '../pipeline/generate.js';
import {scan} from '../pipeline/scan.js';
import type {RetentionEvent} from '../retention/events.js';
import {retain, type RetentionOptions} from '../retention/retain.js';
import {collectRetention, formatSummary} from '../retention/summary.js';
import {errorCode, UsageError} from '../util/errors.js';
import {acquireLock} from '../util/lock.js';
import {requireDirectory} from './list.js';
import {runReported} from './reported.js';

export type RetireCommand = 'prune' | 'remove' | 'restore';

export type RetireFlags = {root: string; write: boolean; jobs: number; cache?: string; plain?: boolean; deltas?: DeltaOptions; retention: RetentionOptions};

export async function runRetire(command: RetireCommand, flags: RetireFlags): Promise<number> {
	await requireDirectory(flags.root);
	if (flags.write) {
		await mkdir(join(flags.root, 'streams', 'v1'), {recursive: true}).catch((error: unknown) => {
			throw new UsageError(`cannot write to ${join(flags.root, 'streams', 'v1')} (${errorCode(error)})`);
		});
	}

	const lock = flags.write ? await acquireLock(flags.root, `simplestreams ${command} -N`) : undefined;
	const events: RetentionEvent[] = [];
	const collect = collectRetention(events);
	try {
		const code = await runReported({plain: flags.plain, write: flags.write, jobs: flags.jobs}, async (reporter, signal) => {
			const emit: typeof reporter.emit = event => {
				collect(event);
				reporter.emit(event);
			};

			if (flags.write) {
				await withRunContext({root: flags.root, jobs: flags.jobs, cachePath: flags.cache, signal, deltas: flags.deltas, retention: flags.retention}, emit, publish);
			} else {
				await retain(await scan(flags.root, emit), {write: false, retention: flags.retention}, emit);
			}

			await reporter.finish('done');
			return 0;
		});
		process.stdout.write(formatSummary(events, flags.write));
		return code;
	} finally {
		await lock?.release();
	}
}
