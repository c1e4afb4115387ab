// Text measured in terminal cells, as Ink measures it (string-width): a CJK character or an emoji
// takes two cells, a combining mark none. Cuts fall between graphemes, never inside one.
import {createRequire} from 'node:module';

// string-width builds a grapheme segmenter and Unicode-property regular expressions as it loads, and
// ICU's segmentation data comes with the first segmenter: some 40 ms of every start, while most text
// measured is ASCII (bench/RESULTS.md). Both are made with the first text that is not. (Not named
// `require`: each module of the bundle, scripts/bundle.mjs, declares one of its own.)
const load = createRequire(import.meta.url);
let stringWidth: ((text: string) => number) | undefined;
let graphemes: Intl.Segmenter | undefined;
const measured = (text: string) => (stringWidth ??= (load('string-width') as typeof import('string-width')).default)(text);

const ascii = /^[\u0020-\u007E]*$/;

/** The cells `text` takes on a terminal. */
export const cells = (text: string) => (ascii.test(text) ? text.length : measured(text));

/** The longest start of `text` that fits in `width` cells (from the end with `fromEnd`). */
export function cut(text: string, width: number, fromEnd = false): string {
	if (ascii.test(text)) {
		return fromEnd ? text.slice(Math.max(0, text.length - width)) : text.slice(0, Math.max(0, width));
	}

	graphemes ??= new Intl.Segmenter(undefined, {granularity: 'grapheme'});
	const parts = [...graphemes.segment(text)].map(part => part.segment);
	if (fromEnd) {
		parts.reverse();
	}

	const kept: string[] = [];
	let used = 0;
	for (const part of parts) {
		const size = measured(part);
		if (used + size > width) {
			break;
		}

		kept.push(part);
		used += size;
	}

	return (fromEnd ? kept.reverse() : kept).join('');
}

/** `text` padded with spaces to `width` cells. */
export const padCells = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - cells(text)));
