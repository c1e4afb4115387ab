// A served file's gzip beside it (X.gz) is what a server with nginx's gzip_static sends, as it is,
// to every client that accepts gzip, and both clients do: a gzip of another version than X gives
// them another catalog than the one the rest of verify reads. Each must be a regular file, read
// within the streams' bound, that unpacks to exactly X's bytes.
import {join} from 'node:path';
import {maxStreamsBytes} from '../streams/read.js';
import {gzipPath} from '../streams/paths.js';
import {unpacked} from '../streams/write.js';
import {errorCode} from '../util/errors.js';
import {readBoundedFile, SmallFileProblem} from '../util/small-file.js';
import type {Problem} from './schema.js';

const sent = 'a server with gzip_static sends it to clients that accept gzip';

/** The bytes at `path`, undefined when there is none, or why they cannot be read. */
async function read(path: string): Promise<{bytes: Buffer} | {problem: string} | undefined> {
	try {
		return {bytes: await readBoundedFile(path, {limit: maxStreamsBytes})};
	} catch (error) {
		if (errorCode(error) === 'ENOENT') {
			return undefined;
		}

		return {problem: error instanceof SmallFileProblem ? error.message : `cannot be read (${errorCode(error)})`};
	}
}

/** The problems of the gzips beside `paths` (relative to `root`); a file without a gzip has none. */
export async function checkGzips(root: string, paths: readonly string[]): Promise<Problem[]> {
	const problems: Problem[] = [];
	for (const path of paths) {
		const file = gzipPath(path);
		const packed = await read(join(root, file));
		if (packed === undefined) {
			continue;
		}

		if ('problem' in packed) {
			problems.push({file, message: `${packed.problem}: ${sent}`});
			continue;
		}

		const plain = await read(join(root, path));
		let held: Buffer;
		try {
			held = await unpacked(packed.bytes);
		} catch (error) {
			problems.push({file, message: `is not a gzip of ${path} (${(error as Error).message}): ${sent}, and they fail to read it`});
			continue;
		}

		if (!plain || !('bytes' in plain) || !held.equals(plain.bytes)) {
			problems.push({file, message: `is not a gzip of ${path} as it is but of another version: ${sent}, and they get that version`});
		}
	}

	return problems;
}
