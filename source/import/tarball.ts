// Entries of a tarball whatever its compression, told from its bytes like the clients do. xz goes
// through lzma-native and gzip through zlib, in process; bzip2 and zstd through the `bzip2` and
// `zstd` tools, the same ones LXD and Incus run to unpack such an image (Node 20 has no zstd, and
// the reference tools handle every variant of their format).
import {createReadStream} from 'node:fs';
import type {Readable} from 'node:stream';
import {createGunzip} from 'node:zlib';
import {execa} from 'execa';
import lzma from 'lzma-native';
import tar from 'tar-stream';
import type {Content} from '../domain/ftypes.js';

export type TarContent = Extract<Content, 'xz' | 'gzip' | 'bzip2' | 'zstd' | 'tar'>;

export const tarContents: readonly Content[] = ['xz', 'gzip', 'bzip2', 'zstd', 'tar'] satisfies TarContent[];

export type TarEntry = tar.Entry;

/** The decompressed bytes of `file`; `stop` ends reading early, `ended` says whether a tool failed. */
function decompressed(file: string, content: TarContent): {stream: Readable; stop: () => void; ended: () => Promise<void>} {
	if (content === 'bzip2' || content === 'zstd') {
		const child = execa(content, ['-dcq'], {inputFile: file, buffer: {stdout: false, stderr: true}, reject: false});
		return {
			stream: child.stdout,
			stop: () => child.kill(),
			async ended() {
				const result = await child;
				if (result.failed) {
					throw new Error((result as {code?: string}).code === 'ENOENT'
						? `is ${content}-compressed and the ${content} tool is not installed`
						: `cannot be decompressed (${result.stderr.trim() || result.shortMessage})`);
				}
			},
		};
	}

	const raw = createReadStream(file);
	const ended = async () => undefined;
	if (content === 'tar') {
		return {stream: raw, stop: () => raw.destroy(), ended};
	}

	const decoder = content === 'xz' ? lzma.createDecompressor() : createGunzip();
	raw.on('error', error => decoder.destroy(error));
	return {stream: raw.pipe(decoder), stop: () => {
		raw.destroy();
		decoder.destroy();
	}, ended};
}

/** Normalised entry name: `./metadata.yaml` and `metadata.yaml` are the same file to the clients; `rootfs/` is `rootfs`. */
export const entryName = (entry: TarEntry) => entry.header.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

/** A tarball that unpacks to more than its reader's budget (a few KiB of xz can unpack to gigabytes). */
export class OverBudget extends Error {
	constructor(readonly budget: number) {
		super(`it unpacks to more than ${budget / (1024 * 1024)} MiB`);
	}
}

/**
 * The entries in order; stopping the loop early stops reading the file. An entry the loop did not
 * read is skipped over when the next one is asked for. Past `budget` unpacked bytes the loop
 * throws OverBudget.
 */
export async function * tarEntries(file: string, content: TarContent, budget: number): AsyncGenerator<TarEntry> {
	const {stream, stop, ended} = decompressed(file, content);
	const extract = tar.extract();
	let unpacked = 0;
	stream.on('data', (chunk: Buffer) => {
		unpacked += chunk.length;
		if (unpacked > budget) {
			extract.destroy(new OverBudget(budget));
		}
	});
	stream.on('error', error => extract.destroy(error));
	stream.pipe(extract);
	try {
		for await (const entry of extract) {
			yield entry;
			entry.resume();
		}

		// A tool that failed may still have produced a valid-looking (empty) tar stream.
		await ended();
	} finally {
		stop();
		extract.destroy();
	}
}

/** The first `limit` bytes of an entry (the rest is read and dropped, as tar must). */
export async function entryHead(entry: TarEntry, limit: number): Promise<Buffer> {
	const chunks: Buffer[] = [];
	let length = 0;
	for await (const chunk of entry) {
		if (length < limit) {
			chunks.push(chunk as Buffer);
			length += (chunk as Buffer).length;
		}
	}

	return Buffer.concat(chunks).subarray(0, limit);
}
