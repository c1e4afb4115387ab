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
