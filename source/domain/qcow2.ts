// Is a qcow2 file whole? Its header points to the L1 and refcount tables, which point to L2 tables and
// refcount blocks, which point to data clusters. A file cut short (an upload still running, a broken
// copy) has pointers past its end. Reads only metadata: about 1/8192 of the disk with 64 KiB clusters.
// The header is an uploader's word: tables larger than qemu accepts are refused before any is read,
// and L2 tables are read at most up to the file's own size, so a crafted header costs no more than
// the file itself.
/**
 * A check that reads as it goes: each `[position, length]` it yields is answered with up to `length`
 * bytes from `position` (fewer at the end), of a file or of bytes already read. Bytes in memory are
 * checked without a promise a read (magic.ts: tens of thousands of small files a run).
 */
export type Reading<T> = Generator<[position: number, length: number], T, Buffer>;

// A table entry is read as two 32-bit halves, not a BigInt an entry (bench/RESULTS.md has what
// that cost the probe of a few large disks).
const high = 2 ** 32;
/** Four zero bytes: what a table cut short by the file's end reads as past it. */
const zeros = Buffer.alloc(4);
/**
 * The big-endian 32 bits at `i`, from its bytes: Buffer's readUInt32BE passes every offset through
 * Node's argument validators, which V8's optimising compiler then takes up during a small run
 * (bench/RESULTS.md). A table in a short last cluster may end inside an entry; past the end it reads
 * as zeros, as qemu reads a file past its end, never as an error.
 */
const u32 = (table: Buffer, i: number): number => (i + 4 <= table.length
	? (table[i]! * 0x100_0000) + (table[i + 1]! << 16) + (table[i + 2]! << 8) + table[i + 3]!
	: u32(Buffer.concat([table.subarray(i, i + 4), zeros]), 0));
/** Bits 9–55 of the entry at `i`: the host offset of a table or standard cluster. */
const offsetAt = (table: Buffer, i: number) => ((u32(table, i) & 0x00ff_ffff) * high) + ((u32(table, i + 4) & 0xffff_fe00) >>> 0);
/** Bit 62 of the entry at `i`: a compressed cluster. */
const compressedAt = (table: Buffer, i: number) => (u32(table, i) & 0x4000_0000) !== 0;
/** qemu's own limits (QCOW_MAX_L1_SIZE, QCOW_MAX_REFTABLE_SIZE): it refuses to open an image beyond them. */
const maxL1Bytes = 32 * 1024 * 1024;
const maxRefcountTableBytes = 8 * 1024 * 1024;

/** Why the qcow2 image of `size` bytes is not whole, or undefined when every pointer lands inside it. */
export function * qcow2Problem(size: number): Reading<string | undefined> {
	const header = yield [0, 104];
	if (header.length < 72) {
		return 'truncated: shorter than a qcow2 header';
	}

	const version = header.readUInt32BE(4);
	const clusterBits = header.readUInt32BE(20);
	const clusterSize = 2 ** clusterBits;
	const l1Size = header.readUInt32BE(36);
	const l1Offset = Number(header.readBigUInt64BE(40));
	const refcountOffset = Number(header.readBigUInt64BE(48));
	const refcountClusters = header.readUInt32BE(56);
	// Extended L2 entries (incompatible feature bit 4) are 16 bytes, the first 8 as usual.
	const l2EntrySize = version >= 3 && header.length >= 80 && (header.readBigUInt64BE(72) & 16n) !== 0n ? 16 : 8;
	if (clusterBits < 9 || clusterBits > 21) {
		return `not a usable qcow2 image: cluster_bits ${clusterBits}`;
	}

	// A last cluster may be short; anything that starts past the end is missing.
	const end = Math.ceil(size / clusterSize) * clusterSize;
	const missing = (offset: number, length: number, what: string) =>
		offset + length > end ? `truncated: its ${what} at byte ${offset} lies past the end (${size} bytes)` : undefined;

	if (l1Size * 8 > maxL1Bytes || refcountClusters * clusterSize > maxRefcountTableBytes) {
		const [what, bytes, limit] = l1Size * 8 > maxL1Bytes ? ['L1 table', l1Size * 8, maxL1Bytes] : ['refcount table', refcountClusters * clusterSize, maxRefcountTableBytes];
		return `not a usable qcow2 image: its header claims a ${what} of ${bytes} bytes (qemu opens at most ${limit})`;
	}

	const tables = missing(l1Offset, l1Size * 8, 'L1 table') ?? missing(refcountOffset, refcountClusters * clusterSize, 'refcount table');
	if (tables) {
		return tables;
	}

	const l1 = yield [l1Offset, l1Size * 8];
	const refcounts = yield [refcountOffset, refcountClusters * clusterSize];
	for (let i = 0; i < refcounts.length; i += 8) {
		const block = offsetAt(refcounts, i);
		const problem = block === 0 ? undefined : missing(block, clusterSize, 'refcount block');
		if (problem) {
			return problem;
		}
	}

	// A compressed cluster's offset: bits 0 to 61 - (clusterBits - 8), of which 32 in the low half.
	const compressedHigh = (2 ** (62 - (clusterBits - 8) - 32)) - 1;
	let l2Read = 0;
	for (let i = 0; i < l1.length; i += 8) {
		const l2Offset = offsetAt(l1, i);
		if (l2Offset === 0) {
			continue;
		}

		const problem = missing(l2Offset, clusterSize, 'L2 table');
		if (problem) {
			return problem;
		}

		// Distinct L2 tables fit in the file: more means entries point to the same tables again.
		l2Read += clusterSize;
		if (l2Read > end) {
			return 'not a usable qcow2 image: its L1 table points to more L2 tables than the file holds';
		}

		const l2 = yield [l2Offset, clusterSize];
		for (let j = 0; j < l2.length; j += l2EntrySize) {
			const compressed = compressedAt(l2, j);
			const data = compressed ? ((u32(l2, j) & compressedHigh) * high) + u32(l2, j + 4) : offsetAt(l2, j);
			const cluster = data === 0 ? undefined : missing(data, compressed ? 1 : clusterSize, 'data cluster');
			if (cluster) {
				return cluster;
			}
		}
	}

	return undefined;
}
