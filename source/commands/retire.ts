// `simplestreams prune|remove|restore [-N] [rootdir] …`: retention on its own. A dry run prints the
// plan on stdout and changes nothing; -N records it, deletes what is due and publishes (holding the
// root's lock, as -N does). With --to the bucket is then brought to the same published state, its
// retired objects deleted after their grace there (publish/retirement.ts).
import {statSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {retire as retireVersions, type RetentionEvent, type RetentionOptions} from '../index.js';
import {collectRetention, formatSummary} from '../retention/summary.js';
import {runOptions, targetOf, type Command} from './command.js';
import {CommandLineError, type CommandLine, type FlagName} from './flags.js';
import {showingProgress} from './progress.js';

type RetireCommand = 'prune' | 'remove' | 'restore';

/** The rootdir, if given, comes first, and is known by its images/ directory: a TARGET has none. */
function rootAndTargets(command: RetireCommand, operands: readonly string[]): {root: string; targets: string[]} {
	const [root, ...targets] = command === 'prune' || statSync(join(operands[0] ?? '', 'images'), {throwIfNoEntry: false})?.isDirectory() ? operands : ['.', ...operands];
	if (command === 'prune' ? targets.length > 0 : targets.length === 0) {
		throw new CommandLineError(command === 'prune' ? `expected at most one rootdir after prune, got: ${operands.join(' ')}` : `${command} needs at least one TARGET: os/release/arch/variant[/VERSION]${command === 'remove' ? ' or a fingerprint' : ''}`);
	}

	return {root: resolve(root ?? '.'), targets};
}

async function retire(command: RetireCommand, {flags, operands}: CommandLine): Promise<number> {
	const {root, targets} = rootAndTargets(command, operands);
	const options = runOptions(flags);
	const retention: RetentionOptions = command === 'prune' ? options.retention ?? {}
		: command === 'remove' ? {remove: targets, ...(options.retention?.graceMs === undefined ? {} : {graceMs: options.retention.graceMs})}
		: {restore: targets.map(t => `images/${t.replace(/^\.?\/*(images\/)?/, '').replace(/\/+$/, '')}`)};
	const write = Boolean(flags.write);
	const events: RetentionEvent[] = [];
	const collect = collectRetention(events);
	const to = targetOf(flags);
	// Uploads are told in plain lines for now: the live tree does not draw them.
	const code = await showingProgress({plain: flags.plain || to !== undefined, write, jobs: options.jobs}, async (reporter, signal) => {
		await retireVersions({...options, root, signal, retention, write, ...(to ? {to} : {})}, event => {
			collect(event);
			reporter.emit(event);
		});
		await reporter.finish('done');
		return 0;
	});
	process.stdout.write(formatSummary(events, write));
	return code;
}

const common: FlagName[] = ['write', 'jobs', 'cache', 'plain', 'allowEmpty', 'deltas', 'deltaRatio', 'vmDeltas', 'to', 'endpoint', 'help', 'version'];

export const pruneCommand: Command = {
	name: 'prune',
	flags: [...common, 'keep', 'olderThan', 'grace'],
	help: `
	  prune            Retire by --keep/--older-than; delete what retired earlier and is past its grace`,
	run: async line => retire('prune', line),
};

export const removeCommand: Command = {
	name: 'remove',
	flags: [...common, 'grace'],
	help: `
	  remove TARGET... Retire a product (os/release/arch/variant), a version (…/VERSION) or an image
	                   by fingerprint (a unique prefix will do)`,
	run: async line => retire('remove', line),
};

export const restoreCommand: Command = {
	name: 'restore',
	flags: common,
	help: `
	  restore TARGET...  Publish a retired product or version again (while its files are there)`,
	run: async line => retire('restore', line),
};
