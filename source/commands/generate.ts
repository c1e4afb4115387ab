// `simplestreams [-N] [rootdir]`: the pipeline with the live tree in a terminal, the plain reporter
// elsewhere; a dry run prints images.json on stdout off a terminal, or with --json. Ctrl-C (or q),
// SIGTERM or a hang-up stops the workers and writes nothing (stop.ts). With --to the published tree
// is then sent to a bucket (without -N: what would be); a stop then aborts the upload.
import {setFlagsFromString} from 'node:v8';
import {generate, publish, type GenerateResult} from '../index.js';
import {reportWidth} from '../report/terminal.js';
import {rootOperand, runOptions, targetOf, type Command} from './command.js';
import {CommandLineError} from './flags.js';
import {showingProgress} from './progress.js';

export const generateCommand: Command = {
	name: '-N and dry runs',
	flags: ['write', 'json', 'jobs', 'cache', 'plain', 'allowEmpty', 'deltas', 'deltaRatio', 'vmDeltas', 'to', 'endpoint', 'keep', 'olderThan', 'grace', 'help', 'version'],
	help: '',
	async run({flags, operands}) {
		// Most of what a run's stages make is let go by the next stage, and V8 lets its old generation
		// grow to up to four times what its last full collection kept before it collects again: the
		// peak memory of a large tree was that garbage. One run, one heap: it is collected at half as
		// much again instead, and the young generation keeps its first size rather than doubling up
		// to 16 MB a semi-space while a stage keeps most of what it makes (bench/RESULTS.md). A
		// watcher keeps V8's own sizes.
		setFlagsFromString('--heap-growing-percent=50 --semi-space-growth-factor=1');
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
