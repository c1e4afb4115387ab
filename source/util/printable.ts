// The one place where text bound for a terminal or a log is made printable. Names come from the
// disk, the streams and metadata.yaml: a control character in one would drive the operator's
// terminal (ESC ] 0 ; … BEL retitles it, ESC [ 2 J clears it) or split a log line in two.
import type {Writable} from 'node:stream';

/** C0 and C1 controls, DEL, line and paragraph separators and bidirectional overrides. */
const unprintable = /[\u0000-\u001F\u007F-\u009F\u2028-\u202E\u2066-\u2069]/g;

/** `text` with every character that would steer a terminal shown as `?`. */
export const printable = (text: string) => text.replaceAll(unprintable, '?');

/** One JSON object on one line, losslessly: the characters JSON leaves raw are written as \u escapes. */
export const jsonLine = (value: unknown, replacer?: (key: string, value: unknown) => unknown) => JSON.stringify(value, replacer).replaceAll(unprintable, char => `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`) + '\n';

/** Writes `text` as one printable line, `prefix()` before it: a newline in a name does not split it. */
export const lineWriter = (out: Pick<Writable, 'write'>, prefix = () => '') => (text: string) => {
	out.write(`${prefix()}${printable(text)}\n`);
};
