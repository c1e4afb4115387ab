// The limit of a cold build, measured in the same run: the SHA-256 bytes a build cannot avoid
// hashing (every file once, every rootfs again inside each combined fingerprint), over the rate of
// one core times the cores. Both rates are CPU-time rates (openssl speed divides by user CPU time,
// Node's is timed by process.cpuUsage), so other load on the machine does not lower them.
import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {availableParallelism} from 'node:os';
import type {Corpus} from './corpus.js';

export type Limit = {
	/** Bytes per second of one core: the faster of openssl's and Node's. */
	rate: number;
	cores: number;
	openssl?: number;
	node: number;
};

/** `openssl speed` on 4 MiB blocks, one process: bytes per second of one core, if openssl runs. */
function opensslRate(): number | undefined {
	const result = spawnSync('openssl', ['speed', '-bytes', '4194304', '-seconds', '2', 'sha256'], {encoding: 'utf8'});
	const match = /^sha256\s+([\d.]+)k\s*$/m.exec(result.stdout ?? '');
	return match ? Number(match[1]) * 1000 : undefined;
}

/** Node's SHA-256 over 4 MiB blocks for about a second of CPU time. */
function nodeRate(): number {
	const block = Buffer.alloc(4 * 1024 * 1024, 0x5a);
	const hash = createHash('sha256');
	const before = process.cpuUsage();
	let bytes = 0;
	let micros = 0;
	while (micros < 1_000_000) {
		hash.update(block);
		bytes += block.length;
		const used = process.cpuUsage(before);
		micros = used.user + used.system;
	}

	hash.digest();
	return bytes / (micros / 1e6);
}

export function measureLimit(): Limit {
	const openssl = opensslRate();
	const node = nodeRate();
	return {rate: Math.max(openssl ?? 0, node), cores: availableParallelism(), openssl, node};
}

/** The SHA-256 bytes a cold build of `c` must hash: each file once, each metadata ‖ rootfs pair. */
export function shaBytes(c: Corpus, sizes: ReadonlyMap<string, number>): number {
	let bytes = 0;
	for (const {meta, roots} of c.versions) {
		const metaBytes = sizes.get(meta)!;
		bytes += metaBytes;
		for (const root of roots) {
			bytes += (2 * sizes.get(root)!) + metaBytes;
		}
	}

	return bytes;
}

/** The limit in milliseconds: on all cores (wall) and on one (CPU time). */
export const limitMilliseconds = (bytes: number, limit: Limit) => ({wall: (bytes / (limit.rate * limit.cores)) * 1000, cpu: (bytes / limit.rate) * 1000});
