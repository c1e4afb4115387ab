// `simplestreams [-N] [rootdir]`: the pipeline with the live tree in a terminal, the plain reporter
// elsewhere; a dry run prints images.json on stdout off a terminal, or with --json. Ctrl-C (or q),
// SIGTERM or a hang-up stops the workers and writes nothing (stop.ts). With --to the published tree
// is then sent to a bucket (without -N: what would be); a stop then aborts the upload.
import {generate, publish, type GenerateResult} from '../index.js';
import {reportWidth} from '../report/terminal.js';
import {rootOperand, runOptions, targetOf, type Command} from './command.js';
import {CommandLineError} from './flags.js';
import {keepHeapNearLive} from './heap.js';
import {showingProgress} from './progress.js';

export const generateCommand: Command = {
	name: '-N and dry runs',
	flags: ['write', 'json', 'jobs', 'cache', 'plain', 'allowEmpty', 'deltas', 'deltaRatio', 'vmDeltas', 'to', 'endpoint', 'keep', 'olderThan', 'grace', 'help', 'version'],
	help: '',
	async run({flags, operands}) {
		keepHeapNearLive();
		const options = {root: rootOperand(operands), ...runOptions(flags)};
		const write = Boolean(flags.write);
		if (write && flags.json) {
			throw new CommandLineError('--json applies to a dry run (without -N): it prints the images.json -N would write');
		}

		// A terminal gets the summary and what would change, not pages of JSON, unless asked for it.
		const to = targetOf(flags);
		const streamsOut = !write && !to && (Boolean(flags.json) || reportWidth() === undefined);
		let dryRun: GenerateResult | undefined;
		const code = await showingProgress({plain: flags.plain, write, streamsOut, jobs: options.jobs}, async (reporter, signal) => {
			const run = {...options, ...(to ? {to} : {}), signal};
			if (write) {
				await publish(run, reporter.emit);
			} else {
				dryRun = await generate(run, reporter.emit);
			}

			await reporter.finish('done');
			return 0;
		});
		if (code === 0 && dryRun && streamsOut) {
			process.stdout.write(dryRun.productsText);
		}

		return code;
	},
};
