// What the hashing of a cold build takes with nothing else around it: the same files read and hashed
// by bare worker threads, one per core, with the same 1 MiB blocking reads and the same passes as a
// build (each rootfs once for its own digest and its metadata ‖ rootfs fingerprint together, or the
// two apart on two threads when there are fewer rootfs than cores), and no start-up, scan, pool or
// write. The limit (limit.ts) counts SHA-256 only, at one core's rate times the cores; this shows
// how much of a build's distance from it the reads and two cores hashing at once already take.
import {createHash} from 'node:crypto';
import {closeSync, openSync, readSync, statSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {Worker, isMainThread, parentPort, workerData} from 'node:worker_threads';
import type {Corpus} from './corpus.js';

/** One read of `file` after `prefix` (if any) into the digests asked for. */
type Pass = {file: string; prefix?: string; own: boolean; combined: boolean; bytes: number};

const chunk = 1024 * 1024;

/** Milliseconds from the first read to the last digest. */
function run(passes: readonly Pass[]): number {
	const started = performance.now();
	const buffer = Buffer.allocUnsafe(chunk);
	const feed = (file: string, hashes: ReadonlyArray<ReturnType<typeof createHash>>) => {
		const fd = openSync(file, 'r');
		try {
			for (let position = 0, bytesRead = 0; (bytesRead = readSync(fd, buffer, 0, chunk, position)) > 0; position += bytesRead) {
				for (const hash of hashes) {
					hash.update(buffer.subarray(0, bytesRead));
				}
			}
		} finally {
			closeSync(fd);
		}
	};

	for (const pass of passes) {
		const own = pass.own ? createHash('sha256') : undefined;
		const combined = pass.combined ? createHash('sha256') : undefined;
		if (combined && pass.prefix) {
			feed(pass.prefix, [combined]);
		}

		feed(pass.file, [own, combined].filter(hash => hash !== undefined));
		own?.digest();
		combined?.digest();
	}

	return performance.now() - started;
}

/** The passes of `c`, largest first, dealt to `cores` threads each to the one with the least work so far. */
function deal(c: Corpus, cores: number): Pass[][] {
	const size = (file: string) => statSync(file).size;
	let passes: Pass[] = c.versions.flatMap(({meta, roots}) => roots.map(root => ({file: root, prefix: meta, own: true, combined: true, bytes: size(meta) + (2 * size(root))})));
	passes.push(...c.versions.map(({meta}) => ({file: meta, own: true, combined: false, bytes: size(meta)})));
	if (c.versions.reduce((sum, version) => sum + version.roots.length, 0) < cores) {
		passes = passes.flatMap(pass => pass.combined ? [{...pass, own: false, bytes: pass.bytes / 2}, {file: pass.file, own: true, combined: false, bytes: pass.bytes / 2}] : [pass]);
	}

	const threads = Array.from({length: cores}, () => ({work: 0, passes: [] as Pass[]}));
	for (const pass of passes.sort((a, b) => b.bytes - a.bytes)) {
		const least = threads.reduce((best, thread) => (thread.work < best.work ? thread : best));
		least.work += pass.bytes;
		least.passes.push(pass);
	}

	return threads.map(thread => thread.passes);
}

/** Milliseconds the busiest thread hashes for, its start-up left out (files in the page cache). */
export async function measureFloor(c: Corpus): Promise<number> {
	const times = await Promise.all(deal(c, availableParallelism()).map(async passes => new Promise<number>((resolve, reject) => {
		const worker = new Worker(new URL(import.meta.url), {workerData: passes});
		worker.once('message', resolve);
		worker.on('error', reject);
		worker.on('exit', code => {
			reject(new Error(`a floor thread exited with ${code} before it said how long it took`));
		});
	})));
	return Math.max(...times);
}

if (!isMainThread) {
	parentPort!.postMessage(run(workerData as Pass[]));
}
