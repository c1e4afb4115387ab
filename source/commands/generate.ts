// `simplestreams [-N] [rootdir]`: the pipeline with the plain reporter; a dry run prints images.json.
import {access, constants, mkdir, stat} from 'node:fs/promises';
import {join} from 'node:path';
import {generate} from '../pipeline/generate.js';
import {plainReporter} from '../report/plain.js';
import {UsageError} from './errors.js';

export type GenerateFlags = {root: string; write: boolean; jobs: number; cache?: string};

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

export async function runGenerate(flags: GenerateFlags): Promise<number> {
	await checkRoot(flags.root, flags.write);
	const reporter = plainReporter(process.stderr, {write: flags.write});
	const result = await generate({root: flags.root, write: flags.write, jobs: flags.jobs, cachePath: flags.cache}, reporter.emit);
	if (!flags.write) {
		process.stdout.write(result.productsText);
	}

	return 0;
}
