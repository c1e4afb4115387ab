/** `text` in slices of at most `size` characters (one more to keep a surrogate pair whole). */
export function * slices(text: string, size: number): Generator<string> {
	let offset = 0;
	while (offset < text.length) {
		let end = Math.min(text.length, offset + size);
		const last = text.charCodeAt(end - 1);
		if (end < text.length && last >= 0xd8_00 && last <= 0xdb_ff) {
			end++;
		}

		yield text.slice(offset, end);
		offset = end;
	}
}

/**
 * `text` (or the pieces it comes in) as UTF-8 bytes, `size` characters at a time, each step encoded
 * into the same Buffer (the one yielded, valid until the next step): a large text never costs a
 * Buffer of its own bytes, nor a text in pieces one Buffer a piece. A piece given as bytes is
 * yielded as it is. The Buffer is made for the first step, and for a step's most only when a later
 * step needs more: a short text (a few hundred bytes) does not cost the most a step can take.
 */
export function * utf8Slices(text: string | Iterable<string | Uint8Array>, size: number): Generator<Uint8Array> {
	const encoder = new TextEncoder();
	let encoded: Buffer | undefined;
	for (const piece of typeof text === 'string' ? [text] : text) {
		if (typeof piece !== 'string') {
			yield piece;
			continue;
		}

		for (const slice of slices(piece, size)) {
			const most = slice.length * 3;
			if (!encoded || encoded.length < most) {
				encoded = Buffer.allocUnsafe(encoded ? (size + 1) * 3 : most);
			}

			const {written} = encoder.encodeInto(slice, encoded);
			yield encoded.subarray(0, written);
		}
	}
}
