// `simplestreams [-N] [rootdir]`: the pipeline with the live tree in a terminal, the plain reporter
// elsewhere; a dry run prints images.json. Ctrl-C (or q), SIGTERM or a hang-up stops the workers and
// writes nothing (stop.ts).
import {access, constants, mkdir, stat} from 'node:fs/promises';
import {join} from 'node:path';
import type {DeltaOptions} from '../pipeline/delta-options.js';
import {ImportJournal} from '../import/journal.js';
import {withRunContext} from '../pipeline/context.js';
import {generate, publish} from '../pipeline/generate.js';
import {streamsDirectory} from '../streams/paths.js';
import type {RetentionOptions} from '../retention/retain.js';
import {errorCode, UsageError} from '../util/errors.js';
import {acquireLock} from '../util/lock.js';
import {runReported} from './reported.js';
import type {TargetFlags} from '../publish/target.js';

export type GenerateFlags = {root: string; write: boolean; jobs: number; cache?: string; plain?: boolean; deltas?: DeltaOptions; target?: TargetFlags; retention?: RetentionOptions};

async function checkRoot(root: string, write: boolean): Promise<void> {
	try {
		if (!(await stat(root)).isDirectory()) {
			throw new UsageError(`${root} is not a directory`);
		}
	} catch (error) {
		if (error instanceof UsageError) {
			throw error;
		}

		throw new UsageError(`root directory ${root} does not exist`);
	}

	if (write) {
		// Fail before hours of hashing, not after them.
		const streams = join(root, streamsDirectory);
		try {
			await mkdir(streams, {recursive: true});
			await access(streams, constants.W_OK);
		} catch (error) {
			throw new UsageError(`cannot write to ${streams} (${errorCode(error)})`);
		}
	}
}

export async function runGenerate(flags: GenerateFlags): Promise<number> {
	await checkRoot(flags.root, flags.write);
	// One writer per root; a dry run writes nothing and needs no lock. Taken before the live screen
	// opens, so a refusal is printed where the operator can read it.
	const lock = flags.write ? await acquireLock(flags.root, 'simplestreams -N') : undefined;
	try {
		if (lock) {
			for (const {path, message} of await ImportJournal.recover(flags.root)) {
				process.stderr.write(`simplestreams: ${path}: ${message}\n`);
			}
		}

		// The bucket, like the root, before any work: a wrong key, bucket or a held lock is one line.
		const target = flags.target ? await import('../publish/run.js').then(async ({openTarget}) => openTarget(flags.target!, flags.write ? 'publish' : 'plan')) : undefined;
		try {
			let dryRun: {productsText: string; indexText: string} | undefined;
			const code = await runReported({plain: flags.plain, write: flags.write, jobs: flags.jobs}, async (reporter, signal) => {
				const options = {root: flags.root, jobs: flags.jobs, cachePath: flags.cache, signal, deltas: flags.deltas, retention: flags.retention};
				return withRunContext(options, reporter.emit, async context => {
					if (flags.write) {
						await publish(context);
					} else {
						dryRun = await generate(context, false);
					}

					await reporter.finish('done');
					return 0;
				});
			});
			if (code !== 0) {
				return code;
			}

			if (target) {
				await target.send(flags.root, dryRun);
			} else if (dryRun) {
				process.stdout.write(dryRun.productsText);
			}

			return 0;
		} finally {
			await target?.close();
		}
	} finally {
		await lock?.release();
	}
}
