#!/usr/bin/env node
import {availableParallelism} from 'node:os';
import {resolve} from 'node:path';
import meow from 'meow';
import {UsageError} from './source/commands/errors.js';
import {runGenerate} from './source/commands/generate.js';

const cli = meow(`
	Usage
	  $ simplestreams [options] [rootdir]

	Turns rootdir/images/OS/RELEASE/ARCH/VARIANT/VERSION/ into the simplestreams
	index (streams/v1/index.json and images.json) that lxc and incus read.
	Without -N this is a dry run: the images.json it would write goes to stdout.

	Options
	  -N, --write      Write rootdir/streams/v1/images.json and index.json
	  -j, --jobs N     Hash workers (default: ${availableParallelism()}, this machine's parallelism)
	      --cache FILE Digest cache (default: ~/.cache/simplestreams/<root>.json)
	  -h, --help       Show this help
	      --version    Show the version

	Examples
	  $ simplestreams /srv/images > /tmp/images.json
	  $ simplestreams -N /srv/images
`, {
	importMeta: import.meta,
	allowUnknownFlags: false,
	flags: {
		write: {type: 'boolean', shortFlag: 'N', default: false},
		jobs: {type: 'number', shortFlag: 'j', default: availableParallelism()},
		cache: {type: 'string'},
		help: {type: 'boolean', shortFlag: 'h'},
	},
});

async function main(): Promise<number> {
	const {flags, input} = cli;
	if (flags.help) {
		cli.showHelp(0);
	}

	if (input.length > 1) {
		throw new UsageError(`expected at most one rootdir, got: ${input.join(' ')}`);
	}

	if (!Number.isInteger(flags.jobs) || flags.jobs < 1) {
		throw new UsageError(`--jobs must be a whole number of at least 1, got ${String(flags.jobs)}`);
	}

	return runGenerate({root: resolve(input[0] ?? '.'), write: flags.write, jobs: flags.jobs, cache: flags.cache});
}

try {
	process.exitCode = await main();
} catch (error) {
	if (error instanceof UsageError) {
		process.stderr.write(`simplestreams: ${error.message}\n`);
		process.exitCode = 1;
	} else {
		const code = (error as NodeJS.ErrnoException).code;
		process.stderr.write(`simplestreams: ${code ? `${(error as NodeJS.ErrnoException).path ?? ''} ${code}: ` : ''}${(error as Error).stack ?? String(error)}\n`);
		process.exitCode = 1;
	}
}
