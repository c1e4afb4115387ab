#!/usr/bin/env node
import {availableParallelism} from 'node:os';
import {statSync} from 'node:fs';
import {join, resolve} from 'node:path';
import meow from 'meow';
import {UsageError} from './source/util/errors.js';
import {quitAfterHangUp} from './source/commands/stop.js';
import {defaultDeltaRatio} from './source/pipeline/delta-options.js';
import {listFormats, type ListFormat} from './source/list/formats.js';
import {parseDuration} from './source/retention/duration.js';
import type {RetentionOptions} from './source/retention/retain.js';
import type {RetireCommand} from './source/commands/retire.js';
// Commands other than the generator load on demand: their dependencies (chokidar, lzma-native, yaml,
// tar-stream) would otherwise cost every run, --help included, a few hundred milliseconds.
import {runGenerate} from './source/commands/generate.js';

const cli = meow(`
	Usage
	  $ simplestreams [options] [rootdir]
	  $ simplestreams -i SRC [-N] [import options] [rootdir]
	  $ simplestreams verify [--json] [rootdir]
	  $ simplestreams list [--format table|json|csv] [rootdir]
	  $ simplestreams prune [-N] [--keep N] [--older-than D] [--grace D] [rootdir]
	  $ simplestreams remove [-N] [--grace D] [rootdir] TARGET...
	  $ simplestreams restore [-N] [rootdir] TARGET...

	Turns rootdir/images/OS/RELEASE/ARCH/VARIANT/VERSION/ into the simplestreams
	index (streams/v1/index.json and images.json) that lxc and incus read.
	Without -N this is a dry run: the images.json it would write goes to stdout.

	Options
	  -N, --write      Write rootdir/streams/v1/images.json and index.json
	  -j, --jobs N     Hash workers (default: ${availableParallelism()}, this machine's parallelism)
	      --cache FILE Digest cache (default: ~/.cache/simplestreams/<root>.json)
	      --plain      Plain lines instead of the live tree (the default off a terminal or in CI)
	      --watch      Publish, then regenerate whenever images/ changes (until SIGINT/SIGTERM)
	      --settle S   With --watch: seconds a change must rest before it is published (default 2)
	      --log FORMAT With --watch: log lines instead of the live screen, also in a terminal:
	                   plain (timestamped lines on stderr; the default off a terminal) or json
	                   (one event a line on stdout)
	      --deltas     With -N or --watch: publish each squashfs rootfs's delta from the version
	                   before it (delta-BASE.vcdiff in the version directory), made with xdelta3
	      --delta-ratio R  Leave out a delta larger than R times its full file (default ${defaultDeltaRatio})
	      --vm-deltas  Also disk.qcow2 deltas (implies --deltas): for LXD only, Incus patches them
	                   against the wrong base image and the download fails
	      --to s3://BUCKET[/PREFIX]  With -N: publish the tree to a bucket as its web root (without
	                   -N: what would be uploaded); credentials and region as for any S3 tool
	      --endpoint URL  The S3 store's URL (Ceph RGW, MinIO, R2; default AWS_ENDPOINT_URL or AWS)
	      --keep N     With -N, --watch or prune: retire every version of a product beyond its newest N
	      --older-than D  The same for versions older than D (90s, 30m, 6h, 2d or seconds); the
	                   newest version of a product always stays
	      --grace D    How long a retired version's files stay before they are deleted (default 6h)
	  -h, --help       Show this help
	      --version    Show the version

	Import (-i): file the image built in SRC under rootdir/images/, then regenerate
	  -i, --import SRC Import the image in SRC: a wizard in a terminal; without -N only the plan
	      --os, --release, --arch, --variant, --version VALUE
	                   Set a field instead of taking it from metadata.yaml
	      --alias A    An extra alias for the product (repeatable)
	      --requirement K=V  A requirement for the product, such as secureboot=false (repeatable)
	      --yes        No wizard: take metadata.yaml and the flags as they are
	      --copy       Copy the files and keep them in SRC (default: move them)
	      --force      Replace the version if it exists

	Checking what is published (reads rootdir/streams/v1/ and the files it names)
	  verify           Check every file, fingerprint and delta as a client would; exit 1 on any problem
	      --json       The report as JSON on stdout
	  list             The images the streams publish, as lxc and incus see them
	      --format F   table (default), json or csv
	  A rootdir literally named verify or list is reached as ./verify or ./list.

	Retention (a dry run prints the plan; -N carries it out and publishes)
	  prune            Retire by --keep/--older-than; delete what retired earlier and is past its grace
	  remove TARGET... Retire a product (os/release/arch/variant), a version (…/VERSION) or an image
	                   by fingerprint (a unique prefix will do)
	  restore TARGET...  Publish a retired product or version again (while its files are there)

	Examples
	  $ simplestreams /srv/images > /tmp/images.json
	  $ simplestreams -N /srv/images
	  $ simplestreams -i ./build -N /srv/images
	  $ simplestreams --deltas -N /srv/images
	  $ simplestreams verify /srv/images
`, {
	importMeta: import.meta,
	allowUnknownFlags: false,
	autoVersion: false, // --version VALUE is an import field; bare --version still shows the version.
	flags: {
		write: {type: 'boolean', shortFlag: 'N', default: false},
		jobs: {type: 'number', shortFlag: 'j', default: availableParallelism()},
		cache: {type: 'string'},
		plain: {type: 'boolean', default: false},
		watch: {type: 'boolean', default: false},
		settle: {type: 'number', default: 2},
		log: {type: 'string', choices: ['plain', 'json']}, // No default: an explicit --log plain asks for log lines in a terminal too.
		deltas: {type: 'boolean', default: false},
		deltaRatio: {type: 'number', default: defaultDeltaRatio},
		vmDeltas: {type: 'boolean', default: false},
		json: {type: 'boolean', default: false},
		format: {type: 'string', choices: [...listFormats], default: 'table'},
		help: {type: 'boolean', shortFlag: 'h'},
		import: {type: 'string', shortFlag: 'i'},
		os: {type: 'string'},
		release: {type: 'string'},
		arch: {type: 'string'},
		variant: {type: 'string'},
		version: {type: 'string'},
		alias: {type: 'string', isMultiple: true, default: []},
		requirement: {type: 'string', isMultiple: true, default: []},
		yes: {type: 'boolean', default: false},
		copy: {type: 'boolean', default: false},
		force: {type: 'boolean', default: false},
		to: {type: 'string'},
		endpoint: {type: 'string'},
		keep: {type: 'number'},
		olderThan: {type: 'string'},
		grace: {type: 'string'},
	},
});

async function main(): Promise<number> {
	const {flags, input} = cli;
	if (flags.help) {
		cli.showHelp(0);
	}

	if (flags.version !== undefined && flags.import === undefined) {
		cli.showVersion();
	}

	const [command, ...operands] = input;
	if (flags.keep !== undefined && !(Number.isInteger(flags.keep) && flags.keep >= 1)) {
		throw new UsageError(`--keep must be a whole number of at least 1, got ${String(flags.keep)}`);
	}

	const policy = {keep: flags.keep, olderThanMs: flags.olderThan === undefined ? undefined : parseDuration('--older-than', flags.olderThan)};
	const graceMs = flags.grace === undefined ? undefined : parseDuration('--grace', flags.grace);
	let retire: {command: RetireCommand; root: string; retention: RetentionOptions} | undefined;
	if (command === 'prune' || command === 'remove' || command === 'restore') {
		// The rootdir, if given, comes first, and is known by its images/ directory: a TARGET has none.
		const [root, ...targets] = command === 'prune' || statSync(join(operands[0] ?? '', 'images'), {throwIfNoEntry: false})?.isDirectory() ? operands : ['.', ...operands];
		if (command === 'prune' ? targets.length > 0 : targets.length === 0) {
			throw new UsageError(command === 'prune' ? `expected at most one rootdir after prune, got: ${operands.join(' ')}` : `${command} needs at least one TARGET: os/release/arch/variant[/VERSION]${command === 'remove' ? ' or a fingerprint' : ''}`);
		}

		const retention = command === 'prune' ? {policy, graceMs} : command === 'remove' ? {remove: targets, graceMs} : {restore: targets.map(t => `images/${t.replace(/^\.?\/*(images\/)?/, '').replace(/\/+$/, '')}`)};
		retire = {command, root: root ?? '.', retention};
	}

	if (command === 'verify' || command === 'list') {
		if (operands.length > 1) {
			throw new UsageError(`expected at most one rootdir after ${command}, got: ${operands.join(' ')}`);
		}

		const root = resolve(operands[0] ?? '.');
		return command === 'verify' ? (await import('./source/commands/verify.js')).runVerify({root, jobs: flags.jobs, json: flags.json, plain: flags.plain}) : (await import('./source/commands/list.js')).runList({root, format: flags.format as ListFormat});
	}

	if (input.length > 1 && !retire) {
		throw new UsageError(`expected at most one rootdir, got: ${input.join(' ')}`);
	}

	if (!Number.isInteger(flags.jobs) || flags.jobs < 1) {
		throw new UsageError(`--jobs must be a whole number of at least 1, got ${String(flags.jobs)}`);
	}

	if (!(flags.deltaRatio > 0 && flags.deltaRatio <= 1)) {
		throw new UsageError(`--delta-ratio must be a number above 0 and at most 1, got ${String(flags.deltaRatio)}`);
	}

	const deltas = flags.deltas || flags.vmDeltas ? {vm: flags.vmDeltas, ratio: flags.deltaRatio} : undefined;
	// Absolute, as the receipt beside it names it: a later run may start elsewhere.
	const cache = flags.cache === undefined ? undefined : resolve(flags.cache);
	if (retire) {
		return (await import('./source/commands/retire.js')).runRetire(retire.command, {root: resolve(retire.root), write: flags.write, jobs: flags.jobs, cache, plain: flags.plain, deltas, retention: retire.retention});
	}

	const target = flags.to === undefined ? undefined : {to: flags.to, endpoint: flags.endpoint};
	if (target === undefined && flags.endpoint !== undefined) {
		throw new UsageError('--endpoint goes with --to s3://BUCKET');
	}

	if (flags.to !== undefined && flags.import !== undefined) {
		throw new UsageError('--to publishes with -N or --watch (or plans without them); not with -i');
	}

	if (flags.import !== undefined) {
		const {os, release, arch, variant, version} = flags;
		return (await import('./source/commands/import.js')).runImport({
			source: flags.import, root: resolve(input[0] ?? '.'), write: flags.write, jobs: flags.jobs, cache, plain: flags.plain,
			copy: flags.copy, force: flags.force, yes: flags.yes, fields: {os, release, arch, variant, version}, aliases: flags.alias, requirements: flags.requirement, deltas,
		});
	}

	if (flags.watch) {
		return (await import('./source/commands/watch.js')).runWatch({root: resolve(input[0] ?? '.'), jobs: flags.jobs, cache, settleSeconds: flags.settle, log: flags.log as 'plain' | 'json' | undefined, plain: flags.plain, deltas, target, retention: {policy, graceMs}});
	}

	return runGenerate({root: resolve(input[0] ?? '.'), write: flags.write, jobs: flags.jobs, cache, plain: flags.plain, deltas, target, retention: {policy, graceMs}});
}

try {
	process.exitCode = await main();
	quitAfterHangUp();
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
