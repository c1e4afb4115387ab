#!/usr/bin/env node
// The command line: which command an invocation names, its flags read (commands/flags.ts), and how
// it ended. Each command maps its flags onto the library (source/index.ts) in its own module; a new
// command is its module and one entry in `words`.
import {availableParallelism} from 'node:os';
import type {Command} from './source/commands/command.js';
import {CommandLineError, parse, type Flags} from './source/commands/flags.js';
import {generateCommand} from './source/commands/generate.js';
import {importCommand} from './source/commands/import.js';
import {listCommand} from './source/commands/list.js';
import {mirrorCommand} from './source/commands/mirror.js';
import {outliveOutputErrors} from './source/commands/output.js';
import {pruneCommand, removeCommand, restoreCommand} from './source/commands/retire.js';
import {endWhenWritten, quitAfterHangUp} from './source/commands/stop.js';
import {verifyCommand} from './source/commands/verify.js';
import {watchCommand} from './source/commands/watch.js';
import {defaultDeltaRatio} from './source/pipeline/delta-options.js';
import {UsageError} from './source/util/errors.js';

/** Commands named by their first word: `simplestreams list ROOT`. */
const words: Record<string, Command> = {verify: verifyCommand, list: listCommand, prune: pruneCommand, remove: removeCommand, restore: restoreCommand, mirror: mirrorCommand};

/** `simplestreams [options] [rootdir]` is one of these, by its flags: -i imports, --watch watches. */
const rootCommand = (flags: Flags) => (flags.import !== undefined ? importCommand : flags.watch ? watchCommand : generateCommand);

const help = `
	Usage
	  $ simplestreams [options] [rootdir]
	  $ simplestreams -i SRC [-N] [import options] [rootdir]
	  $ simplestreams verify [--json] [rootdir]
	  $ simplestreams list [--format table|json|csv] [rootdir] [TERM...]
	  $ simplestreams prune [-N] [--keep N] [--older-than D] [--grace D] [--to s3://…] [rootdir]
	  $ simplestreams remove [-N] [--grace D] [--to s3://…] [rootdir] TARGET...
	  $ simplestreams restore [-N] [--to s3://…] [rootdir] TARGET...
	  $ simplestreams mirror [-N] [--filter K=V[,V…]]... [--keep N] [--every D] URL [rootdir]

	Turns rootdir/images/OS/RELEASE/ARCH/VARIANT/VERSION/ into the simplestreams
	index (streams/v1/index.json and images.json) that lxc and incus read.
	Without -N this is a dry run: the images.json it would write goes to stdout.

	Options
	  -N, --write      Write rootdir/streams/v1/images.json and index.json
	  -j, --jobs N     Hashing threads, the main one among them (default: ${availableParallelism()}, this machine's parallelism)
	      --cache FILE Digest cache (default: ~/.cache/simplestreams/<root>.json)
	      --plain      Plain lines instead of the live tree (the default off a terminal or in CI)
	      --watch      Publish, then regenerate whenever images/ changes (until SIGINT/SIGTERM)
	      --settle S   With --watch: seconds a change must rest before it is published (default 2)
	      --log FORMAT With --watch: log lines instead of the live screen, also in a terminal:
	                   plain (timestamped lines on stderr; the default off a terminal) or json
	                   (one event a line on stdout)
	      --allow-empty  Publish an empty catalog when images/ holds nothing publishable (refused
	                   otherwise, the published streams kept: that is what an unmounted share looks like)
	      --deltas     With -N or --watch: publish each squashfs rootfs's delta from the version
	                   before it (delta-BASE.vcdiff in the version directory), made with xdelta3
	      --delta-ratio R  Leave out a delta larger than R times its full file (default ${defaultDeltaRatio})
	      --vm-deltas  Also disk.qcow2 deltas (implies --deltas): for LXD only, Incus patches them
	                   against the wrong base image and the download fails
	      --to s3://BUCKET[/PREFIX]  With -N: publish the tree to a bucket as its web root (without
	                   -N: what would be uploaded and deleted); credentials and region as for any
	                   S3 tool. Retired versions leave the bucket after their grace, as on disk
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

	Checking what is published (reads rootdir/streams/v1/ and the files it names)${verifyCommand.help}${listCommand.help}
	  A rootdir literally named verify or list is reached as ./verify or ./list.

	Retention (a dry run prints the plan; -N carries it out and publishes)${pruneCommand.help}${removeCommand.help}${restoreCommand.help}

	Mirroring another image server (a dry run prints the plan)${mirrorCommand.help}

	Examples
	  $ simplestreams /srv/images > /tmp/images.json
	  $ simplestreams -N /srv/images
	  $ simplestreams -i ./build -N /srv/images
	  $ simplestreams --deltas -N /srv/images
	  $ simplestreams verify /srv/images
`;

/** meow's layout: the text's own indent replaced by two spaces, a blank line around it. */
function showHelp(command: Command): never {
	const text = words[command.name] === command ? `
	Usage
	  $ simplestreams ${command.name} [options] ${command === mirrorCommand ? 'URL ' : ''}[rootdir]${command === removeCommand || command === restoreCommand ? ' TARGET...' : ''}
${command.help}
` : help;
	process.stdout.write(`${text.replace(/^\n/, '').replaceAll(/^\t/gm, '  ')}\n`);
	process.exit(0);
}

async function main(): Promise<number> {
	const {command, flags, operands, version} = parse(process.argv.slice(2), [generateCommand, watchCommand, importCommand, ...Object.values(words)], given => {
		const word = Object.hasOwn(words, given.operands[0] ?? '') ? words[given.operands[0]!] : undefined;
		return word ? {command: word, operands: given.operands.slice(1)} : {command: rootCommand(given.flags), operands: given.operands};
	});
	if (flags.help) {
		showHelp(command);
	}

	if (flags.version !== undefined && command !== importCommand) {
		process.stdout.write(`${version}\n`);
		return 0;
	}

	return command.run({flags, operands});
}

/** main, how it ended, and the process's end; not awaited at the top, so the start can run as a script (scripts/bundle.mjs). */
async function run(): Promise<void> {
	outliveOutputErrors();
	try {
		process.exitCode = await main();
		quitAfterHangUp();
	} catch (error) {
		if (error instanceof CommandLineError) {
			process.stderr.write(`simplestreams: ${error.message}\n`);
			process.exitCode = 2;
		} else if (error instanceof UsageError) {
			process.stderr.write(`simplestreams: ${error.message}\n`);
			process.exitCode = 1;
		} else {
			const code = (error as NodeJS.ErrnoException).code;
			process.stderr.write(`simplestreams: ${code ? `${(error as NodeJS.ErrnoException).path ?? ''} ${code}: ` : ''}${(error as Error).stack ?? String(error)}\n`);
			process.exitCode = 1;
		}
	}

	await endWhenWritten();
}

void run();
