// `simplestreams mirror [-N] [--filter KEY=VALUE[,VALUE…]]... [--keep N] [--grace D] [--ca FILE]
// [--jobs N] [--every D] [--to s3://BUCKET[/PREFIX]] URL [rootdir]`: a dry run prints the plan on
// stdout; -N fetches, places and publishes, and with --to sends the tree to a bucket; --every keeps
// mirroring until SIGINT or SIGTERM. Progress goes to the live screen in a
// terminal (-N, without --every, --plain or --log), to the log (mirrorLog) elsewhere.
import {availableParallelism} from 'node:os';
import {resolve} from 'node:path';
import {mirror, mirrorEvery, planMirror, UpstreamError, type Filters, type MirrorPass} from '../index.js';
import {filterKeys, type FilterKey} from '../mirror/plan.js';
import {mirrorLog} from '../report/loggers/mirror.js';
import {startMirrorReporter} from '../report/start.js';
import {liveTerminal} from '../report/terminal.js';
import {formatBytes, formatDuration} from '../util/format.js';
import {runOptions, targetOf, type Command} from './command.js';
import {CommandLineError, type Flags} from './flags.js';
import {showing} from './progress.js';

function filtersOf(given: readonly string[] = []): Filters {
	const filters: Filters = {};
	for (const text of given) {
		const match = /^([a-z]+)=(.+)$/.exec(text);
		const key = match?.[1] as FilterKey | undefined;
		if (!match || !filterKeys.includes(key!)) {
			throw new CommandLineError(`--filter takes KEY=VALUE[,VALUE…] with KEY one of ${filterKeys.join(', ')}, got ${JSON.stringify(text)}`);
		}

		const values = match[2]!.split(',').filter(Boolean);
		if (key === 'type' && values.some(v => v !== 'container' && v !== 'vm')) {
			throw new CommandLineError(`--filter type= takes container or vm, got ${JSON.stringify(match[2])}`);
		}

		filters[key!] = [...filters[key!] ?? [], ...values];
	}

	return filters;
}

function operandsOf(operands: readonly string[]): {url: string; root: string} {
	if (operands.length === 0 || operands.length > 2) {
		throw new CommandLineError(`mirror takes the upstream URL and at most one rootdir, got: ${operands.length === 0 ? 'nothing' : operands.join(' ')}`);
	}

	return {url: operands[0]!, root: resolve(operands[1] ?? '.')};
}

/** The plan as the dry run prints it: what is fetched (with sizes), what is there, skipped, and retires. */
function formatPass(pass: MirrorPass, graceMs?: number): string {
	const lines = [`mirror of ${pass.url}`];
	let files = 0;
	let bytes = 0;
	for (const version of pass.missing) {
		const size = version.files.reduce((n, f) => n + f.size, 0);
		files += version.files.length;
		bytes += size;
		lines.push(`fetch   ${version.dir} (${version.files.length} files, ${formatBytes(size)})`);
		for (const file of version.files) {
			lines.push(`          ${file.name}  ${formatBytes(file.size)}  ${file.ftypes.join(', ')}  <- ${file.path}`);
		}
	}

	for (const dir of pass.present) {
		lines.push(`present ${dir}`);
	}

	for (const {where, reason} of pass.plan.skipped) {
		lines.push(`skip    ${where}: ${reason}`);
	}

	const grace = graceMs === undefined ? '' : ` after ${formatDuration(graceMs)}`;
	for (const dir of pass.retiring) {
		lines.push(`retire  ${dir}: upstream no longer offers it (its files are deleted${grace || ' after the grace'})`);
	}

	for (const dir of pass.restoring) {
		lines.push(`restore ${dir}: retired, and upstream offers it again`);
	}

	lines.push(`${pass.missing.length} versions to fetch (${files} files, ${formatBytes(bytes)}), ${pass.present.length} present, ${pass.retiring.length} retiring, ${pass.plan.skipped.length} skipped`);
	return `${lines.join('\n')}\n`;
}

function mirrorOptions(flags: Flags, operands: readonly string[]) {
	const {url, root} = operandsOf(operands);
	const {retention, ...run} = runOptions(flags);
	const to = targetOf(flags);
	if (to && !flags.write) {
		throw new CommandLineError('mirror --to goes with -N: a dry run fetches nothing, so there is nothing to send');
	}

	return {
		...run, root, url, filters: filtersOf(flags.filter),
		...(to ? {to} : {}),
		...(flags.keep === undefined ? {} : {keep: flags.keep}),
		...(flags.grace === undefined ? {} : {graceMs: flags.grace}),
		...(flags.ca === undefined ? {} : {caFile: resolve(flags.ca)}),
		jobs: flags.jobs ?? Math.min(4, availableParallelism()),
	};
}

export const mirrorCommand: Command = {
	name: 'mirror',
	flags: ['write', 'jobs', 'cache', 'plain', 'log', 'filter', 'keep', 'grace', 'ca', 'every', 'to', 'endpoint', 'help', 'version'],
	help: `
	  mirror URL       Mirror the simplestreams server at URL into rootdir (a dry run prints the plan):
	                   -N fetches what is missing into a dot-directory, checks size, sha256 and the
	                   fingerprints, places each version under images/ and publishes for both clients
	      --filter KEY=VALUE[,VALUE…]  Only products (or images) with these values; KEY is os,
	                   release, arch, variant or type (container, vm); repeatable, all must hold
	      --keep N     The newest N versions of each product (default: all upstream has)
	      --grace D    How long versions upstream dropped keep their files (default 6h)
	      --ca FILE    Trust the CA certificates in FILE besides the system's
	  -j, --jobs N     Downloads at once (default 4)
	      --every D    With -N: mirror again every D (30m, 6h, …) until SIGINT or SIGTERM
	      --to s3://BUCKET[/PREFIX]  With -N: then send the tree to a bucket, its web root
	      --endpoint URL  With --to: the S3 store's URL (default: AWS_ENDPOINT_URL, or AWS itself)
	      --log FORMAT Lines instead of the live screen of -N in a terminal: plain (timestamped,
	                   on stderr, the default elsewhere) or json (one event a line on stdout)`,
	async run({flags, operands}) {
		const options = mirrorOptions(flags, operands);
		const log = mirrorLog(flags.log ?? 'plain');
		if (flags.every !== undefined && !flags.write) {
			throw new CommandLineError('--every goes with -N');
		}

		try {
			if (!flags.write) {
				process.stdout.write(formatPass(await planMirror(options, log), options.graceMs));
				return 0;
			}

			if (flags.every === undefined && flags.log === undefined && liveTerminal(flags.plain)) {
				return await showing(onCancel => startMirrorReporter({jobs: options.jobs, onCancel}), async (reporter, signal) => {
					const {pass} = await mirror({...options, signal}, reporter.emit);
					await reporter.finish('done');
					return pass.refused.length > 0 ? 1 : 0;
				});
			}

			if (flags.every === undefined) {
				const {pass} = await mirror(options, log);
				return pass.refused.length > 0 ? 1 : 0;
			}

			const mirroring = await mirrorEvery({...options, everyMs: flags.every}, log);
			await new Promise<void>(resolveStop => {
				const stop = () => {
					process.off('SIGINT', stop);
					process.off('SIGTERM', stop);
					resolveStop();
				};

				process.on('SIGINT', stop);
				process.on('SIGTERM', stop);
			});
			await mirroring.stop();
			return 0;
		} catch (error) {
			if (error instanceof UpstreamError) {
				process.stderr.write(`simplestreams: upstream: ${error.message}; the mirror is left as it was\n`);
				return 1;
			}

			throw error;
		}
	},
};
