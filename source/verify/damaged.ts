// Pure: verify's problems as an operator acts on them, one entry per file that is wrong (the same
// damaged file is named by every item and client that uses it), with what to do next.
import type {Problem} from './schema.js';

export type DamagedFile = {
	/** Relative to the web root: an image file, or a streams file. */
	file: string;
	messages: string[];
	next: string;
};

const missing = (message: string) => message.startsWith('is missing');

/** What brings the file right again, for a web root published by this tool. */
function nextStep(file: string, messages: readonly string[], root: string): string {
	if (!file.startsWith('images/')) {
		// The writer replaces files, never a thing of another kind in a file's place.
		const odd = messages.some(message => message.includes('not a regular file'));
		return `${odd ? `remove ${file}, then ` : ''}simplestreams -N ${root} writes the streams anew`;
	}

	if (messages.every(message => missing(message))) {
		return `put the file back, or simplestreams -N ${root} publishes the tree without it`;
	}

	if (file.endsWith('.vcdiff')) {
		return `simplestreams -N --deltas ${root} makes the delta again`;
	}

	// The digest cache trusts a file whose size and times are unchanged: touch makes it read again.
	return `if the file on disk is the right one, touch it and run simplestreams -N ${root}; if not, put back the one the streams name`;
}

export function damagedFiles(problems: readonly Problem[], root: string): DamagedFile[] {
	const byFile = new Map<string, string[]>();
	for (const {file, message} of problems) {
		const messages = byFile.get(file) ?? [];
		if (!messages.includes(message)) {
			messages.push(message);
		}

		byFile.set(file, messages);
	}

	return [...byFile].map(([file, messages]) => ({file, messages, next: nextStep(file, messages, root)}));
}
