// A long text kept for a long time (a watcher's product entries and page sections) is held outside
// V8's heap. V8 lets its heap grow to a multiple of what a full collection leaves before the next one,
// so every MB kept in the heap lets several MB of garbage pile up beside it; Node holds a Latin-1
// string of a MB or more as an external string, which counts only once.
import {Buffer} from 'node:buffer';

/** `text` itself, held outside the heap when it is long enough for Node to do so and all ASCII (as JSON and the page mostly are; Latin-1 would keep it). */
export function outsideHeap(text: string): string {
	// Node makes a string external from about 1 MB on (string_bytes.cc EXTERN_APEX); a shorter one would only be copied.
	if (text.length < 1_031_913 || Buffer.byteLength(text, 'utf8') !== text.length) {
		return text;
	}

	return Buffer.from(text, 'latin1').toString('latin1');
}
