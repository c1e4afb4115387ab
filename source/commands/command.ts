// What a command of the command line is: its flags (any other is refused), its part of --help, and
// a run that maps the flags onto the library (source/index.ts) and picks how to report. A new
// command is a module exporting one of these and its entry in cli.tsx.
import {statSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {resolve} from 'node:path';
import {defaultDeltaRatio, type DeltaOptions} from '../pipeline/delta-options.js';
import type {PublishTarget} from '../index.js';
import type {RetentionOptions} from '../retention/retain.js';
import {CommandLineError, type CommandLine, type FlagName, type Flags} from './flags.js';

export type Command = {
	/** How messages name it: `list`, `--watch`. */
	name: string;
	/** The flags it takes, --help and --version included. */
	flags: readonly FlagName[];
	/** Its part of --help. */
	help: string;
	run(line: CommandLine): Promise<number>;
};

/** --to and --endpoint: where a publish is sent on to, if anywhere. */
export function targetOf(flags: Flags): PublishTarget | undefined {
	if (flags.to === undefined && flags.endpoint !== undefined) {
		throw new CommandLineError('--endpoint goes with --to s3://BUCKET');
	}

	return flags.to === undefined ? undefined : {to: flags.to, ...(flags.endpoint === undefined ? {} : {endpoint: flags.endpoint})};
}

/** The web root an invocation names (default: the current directory), absolute. */
export function rootOperand(operands: readonly string[]): string {
	if (operands.length > 1) {
		throw new CommandLineError(`expected at most one rootdir, got: ${operands.join(' ')}`);
	}

	return resolve(operands[0] ?? '.');
}

/** -j, --cache, --allow-empty, the delta flags and the retention flags, as the library takes them. */
export function runOptions(flags: Flags): {jobs: number; cachePath?: string; deltas?: DeltaOptions; allowEmpty?: boolean; retention?: RetentionOptions} {
	const deltas = flags.deltas || flags.vmDeltas;
	if (flags.deltaRatio !== undefined && !deltas) {
		throw new CommandLineError('--delta-ratio applies with --deltas or --vm-deltas');
	}

	// `--cache /srv/images` with the rootdir left out reads the web root as the cache's name.
	if (flags.cache !== undefined && statSync(flags.cache, {throwIfNoEntry: false})?.isDirectory()) {
		throw new CommandLineError(`--cache takes a file, and ${flags.cache} is a directory: a rootdir goes last, after --cache FILE`);
	}

	return {
		jobs: flags.jobs ?? availableParallelism(),
		// Absolute, as the receipt beside it names it: a later run may start elsewhere.
		...(flags.cache === undefined ? {} : {cachePath: resolve(flags.cache)}),
		...(deltas ? {deltas: {vm: Boolean(flags.vmDeltas), ratio: flags.deltaRatio ?? defaultDeltaRatio}} : {}),
		...(flags.allowEmpty ? {allowEmpty: true} : {}),
		...(flags.keep === undefined && flags.olderThan === undefined && flags.grace === undefined ? {} : {retention: {
			policy: {keep: flags.keep, olderThanMs: flags.olderThan}, ...(flags.grace === undefined ? {} : {graceMs: flags.grace}),
		}}),
	};
}
