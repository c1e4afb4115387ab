// `simplestreams [-N] [rootdir]`: the pipeline with the live tree in a terminal, the plain reporter
// elsewhere; a dry run prints images.json. Ctrl-C (or q) stops the workers and writes nothing: exit 130.
import {setMaxListeners} from 'node:events';
import {access, constants, mkdir, stat} from 'node:fs/promises';
import {join} from 'node:path';
import type {Emit} from '../pipeline/events.js';
import {generate} from '../pipeline/generate.js';
import {plainReporter, type Reporter} from '../report/plain.js';
import {acquireLock} from '../util/lock.js';
import {UsageError} from './errors.js';

export type GenerateFlags = {root: string; write: boolean; jobs: number; cache?: string; plain?: boolean};

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
		const streams = join(root, 'streams', 'v1');
		try {
			await mkdir(streams, {recursive: true});
			await access(streams, constants.W_OK);
		} catch (error) {
			throw new UsageError(`cannot write to ${streams} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
		}
	}
}

/** The live tree only on a terminal outside CI (Ink loaded lazily: it costs ~340 ms); plain lines otherwise. */
async function pickReporter(flags: GenerateFlags, onCancel: () => void): Promise<Reporter> {
	if (!process.stderr.isTTY || process.env['CI'] || flags.plain) {
		return plainReporter(process.stderr, {write: flags.write});
	}

	const {liveReporter} = await import('../report/live/reporter.js');
	return liveReporter({out: process.stderr, input: process.stdin.isTTY ? process.stdin : undefined, write: flags.write, jobs: flags.jobs, onCancel});
}

export async function runGenerate(flags: GenerateFlags): Promise<number> {
	await checkRoot(flags.root, flags.write);
	const controller = new AbortController();
	const {signal} = controller;
	setMaxListeners(0, signal); // Every queued digest task listens to it.
	const cancel = () => {
		if (signal.aborted) {
			process.exit(130); // A second Ctrl-C does not wait for the workers.
		}

		controller.abort();
		reporter.cancel();
	};

	const reporter = await pickReporter(flags, cancel);
	// generate() stops on the signal only while hashing: when cancelled, stop it at the end of the scan
	// or, at the latest, between the catalog and the write, so nothing is ever published.
	const emit: Emit = event => {
		reporter.emit(event);
		if (event.type === 'scanned' || event.type === 'cataloged') {
			signal.throwIfAborted();
		}
	};

	// One writer per root; a dry run writes nothing and needs no lock.
	const lock = flags.write ? await acquireLock(flags.root, 'simplestreams -N') : undefined;
	process.on('SIGINT', cancel);
	try {
		const result = await generate({root: flags.root, write: flags.write, jobs: flags.jobs, cachePath: flags.cache, signal}, emit);
		await reporter.finish('done');
		if (!flags.write) {
			process.stdout.write(result.productsText);
		}

		return 0;
	} catch (error) {
		await reporter.finish(signal.aborted ? 'cancelled' : 'failed');
		if (signal.aborted) {
			return 130;
		}

		throw error;
	} finally {
		process.off('SIGINT', cancel);
		await lock?.release();
	}
}
