// The gzip of a served file joined from pieces: each large piece (a product's entry in images.json,
// its section of the page) is a deflate stream of its own, ended by a sync flush so that the next
// follows it on a byte boundary, and the small ones between them are packed together; one final
// block and the gzip trailer (the CRC and size of the whole text) end it. A piece packed once is
// kept by the object it was made of (a watcher keeps its products), so a regeneration packs what
// changed. The pieces depend only on the text, so the same text gives the same bytes either way.
import {once} from 'node:events';
import {constants, crc32, createDeflateRaw, deflateRawSync} from 'node:zlib';
import {utf8Slices} from '../util/slices.js';
import type {PublishedBytes} from './published.js';

/**
 * A run of a served file's text; `of`: what it was made of (a product entry, a page section), for a
 * piece large enough to be packed alone. `bytes`: the rest of the run, as it lies in a file published
 * before (published.ts), after `text`; such a run is always packed alone.
 */
export type Piece = {text: string; of?: object; bytes?: PublishedBytes};

/** A piece's text, then its bytes read from where they were published. */
export function * pieceParts(piece: Piece): Generator<string | Uint8Array> {
	yield piece.text;
	if (piece.bytes) {
		yield * piece.bytes.chunks();
	}
}

/** The bytes of a piece in UTF-8. */
export const pieceSize = (piece: Piece) => Buffer.byteLength(piece.text) + (piece.bytes?.length ?? 0);

/**
 * Each large piece packed, by what it was made of, with the size of the text it was packed from:
 * the same product entry is written with a comma before it or without (when it is the first), and
 * what was packed with one is not the piece without.
 */
export type PackedPieces = WeakMap<object, {size: number; bytes: Buffer}>;

/** A piece this long or longer is packed alone: splitting the text there costs its gzip next to nothing. */
export const packedAlone = 1024 * 1024;

/** No name, no time (the same text gives the same bytes), level 9 (XFL 2), Unix. */
const header = Buffer.from([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 2, 3]);

/** A final empty block (fixed Huffman): the deflate stream ends after the last sync flush. */
const finalBlock = Buffer.from([3, 0]);

/** Characters of a run handed to zlib per step: each run packed at once has a Buffer of a step's most. */
const step = 16 * 1024;

/**
 * A text this short is packed at once on the calling thread: a millisecond or two, and the zlib
 * state (some hundreds of KB at level 9) is freed before the next file's is made, where the thread
 * pool held one for each file of a small run at the same time.
 */
export const packedAtOnce = 64 * 1024;

/**
 * `text` deflated at level 9 and ended by a sync flush, as the parts zlib gave, its bytes handed to
 * zlib a step at a time through one Buffer: given whole, zlib took a copy of each run's bytes (of
 * all runs at once, the length of the text), left for the collector after the write
 * (bench/RESULTS.md).
 */
async function deflated(text: string | Iterable<string | Uint8Array>): Promise<Buffer[]> {
	if (typeof text === 'string' && text.length <= packedAtOnce) {
		return [deflateRawSync(text, {level: 9, finishFlush: constants.Z_SYNC_FLUSH})];
	}

	const zip = createDeflateRaw({level: 9, finishFlush: constants.Z_SYNC_FLUSH});
	const parts: Buffer[] = [];
	zip.on('data', (part: Buffer) => {
		parts.push(part);
	});
	const ended = once(zip, 'end');
	ended.catch(() => undefined);
	try {
		// The Buffer is encoded into again only once zlib has taken in the step before.
		for (const bytes of utf8Slices(text, step)) {
			await new Promise<void>((resolve, reject) => {
				zip.write(bytes, error => {
					if (error) {
						reject(error);
					} else {
						resolve();
					}
				});
			});
		}

		zip.end();
		await ended;
	} finally {
		zip.destroy();
	}

	return parts;
}

/** The runs packed apart: each large piece alone, the small ones between joined. */
function runs(pieces: readonly Piece[]): Piece[] {
	const joined: Piece[] = [];
	let small: string[] = [];
	for (const piece of pieces) {
		if (piece.bytes || piece.text.length >= packedAlone) {
			joined.push({text: small.join('')}, piece);
			small = [];
		} else {
			small.push(piece.text);
		}
	}

	joined.push({text: small.join('')});
	return joined.filter(run => run.text.length > 0 || run.bytes);
}

/**
 * The gzip of the text the pieces join into, as its parts in order: written as they are, where one
 * Buffer of the whole gzip (and one of each run's) was a copy of every byte beside the parts, alive
 * until the collector came by after the write, at a large run's peak memory (bench/RESULTS.md).
 */
export async function packPieces(pieces: readonly Piece[], packed?: PackedPieces): Promise<Buffer[]> {
	const parts = await Promise.all(runs(pieces).map(async run => {
		const kept = run.of && packed?.get(run.of);
		if (kept && kept.size === pieceSize(run)) {
			return [kept.bytes];
		}

		const made = await deflated(run.bytes ? pieceParts(run) : run.text);
		const {of} = run;
		if (!of || !packed) {
			return made;
		}

		// Kept whole: a watcher keeps it for its life, not as the slices of zlib's output chunks.
		const whole = Buffer.concat(made);
		packed.set(of, {size: pieceSize(run), bytes: whole});
		return [whole];
	}));
	let crc = 0;
	let size = 0;
	for (const piece of pieces) {
		for (const part of pieceParts(piece)) {
			crc = crc32(part, crc);
		}

		size += pieceSize(piece);
	}

	const trailer = Buffer.alloc(8);
	trailer.writeUInt32LE(crc >>> 0, 0);
	trailer.writeUInt32LE(size % (2 ** 32), 4);
	return [header, ...parts.flat(), finalBlock, trailer];
}
