// Where import journals lie in a web root (import/journal.ts), found without loading the journal's
// code: every run that writes the root looks for one a killed import left, and almost never finds
// one, so the journal's module is loaded only when there is (bench/RESULTS.md).
import {readdir} from 'node:fs/promises';

/** How a journal's name in the root begins; it ends `.json`. */
export const journalPrefix = '.simplestreams.import-';

/** The names of the journals in the web root `root`; none when it cannot be read. */
export async function journalNames(root: string): Promise<string[]> {
	const names = await readdir(root).catch(() => []);
	return names.filter(name => name.startsWith(journalPrefix) && name.endsWith('.json'));
}
