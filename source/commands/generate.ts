// `simplestreams [-N] [rootdir]`: the pipeline with the live tree in a terminal, the plain reporter
// elsewhere; a dry run prints images.json on stdout off a terminal, or with --json. Ctrl-C (or q),
// SIGTERM or a hang-up stops the workers and writes nothing (stop.ts). With --to the published tree
// is then sent to a bucket (without -N: what would be).
import {generate, publish, type GenerateResult} from '../index.js';
import {rootOperand, runOptions, targetOf, type Command} from './command.js';
import {CommandLineError} from './flags.js';
import {showingProgress} from './progress.js';
import {Stop} from './stop.js';

export const generateCommand: Command = {
	name: '-N and dry runs',
	flags: ['write', 'json', 'jobs', 'cache', 'plain', 'allowEmpty', 'deltas', 'deltaRatio', 'vmDeltas', 'to', 'endpoint', 'keep', 'olderThan', 'grace', 'help', 'version'],
	help: '',
	async run({flags, operands}) {
		const options = {root: rootOperand(operands), ...runOptions(flags)};
		const write = Boolean(flags.write);
		if (write && flags.json) {
			throw new CommandLineError('--json applies to a dry run (without -N): it prints the images.json -N would write');
		}

		// A terminal gets the summary and what would change, not pages of JSON, unless asked for it.
		const streamsOut = !write && !targetOf(flags) && (Boolean(flags.json) || !process.stdout.isTTY);
		const targetFlags = targetOf(flags);
		// The bucket, like the root, before any work: a wrong key, bucket or a held lock is one line.
		const target = targetFlags ? await import('../publish/run.js').then(async ({openTarget}) => openTarget(targetFlags, write ? 'publish' : 'plan')) : undefined;
		try {
			let dryRun: GenerateResult | undefined;
			const code = await showingProgress({plain: flags.plain, write, streamsOut, jobs: options.jobs}, async (reporter, signal) => {
				if (write) {
					await publish({...options, signal}, reporter.emit);
				} else {
					dryRun = await generate({...options, signal}, reporter.emit);
				}

				await reporter.finish('done');
				return 0;
			});
			if (code !== 0) {
				return code;
			}

			if (target) {
				// Ctrl-C, SIGTERM or a hang-up while uploading: the upload is aborted and the bucket's lock released (below).
				const stop = new Stop(() => undefined);
				const unlisten = stop.listen();
				try {
					await target.send(options.root, dryRun, stop.signal);
				} catch (error) {
					if (stop.signal.aborted) {
						process.stderr.write('simplestreams: cancelled: the bucket\'s streams are as they were\n');
						return stop.code;
					}

					throw error;
				} finally {
					unlisten();
				}
			} else if (dryRun && streamsOut) {
				process.stdout.write(dryRun.productsText);
			}

			return 0;
		} finally {
			await target?.close();
		}
	},
};
