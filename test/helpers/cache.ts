// The digest cache as it is on disk: its snapshot with its journal's lines applied, read here
// independently of DigestCache so that a test sees what a later run would load.
import {readFile} from 'node:fs/promises';
import {journalPath} from '../../source/cache/digest-cache.js';

type Entries = {files: Record<string, unknown>; combined: Record<string, unknown>; deltas: Record<string, unknown>};

export async function cacheOnDisk(cachePath: string): Promise<Entries> {
	const snapshot = JSON.parse(await readFile(cachePath, 'utf8')) as Partial<Entries>;
	const entries: Entries = {files: snapshot.files ?? {}, combined: snapshot.combined ?? {}, deltas: snapshot.deltas ?? {}};
	const kinds = {file: entries.files, combined: entries.combined, delta: entries.deltas};
	const journal = await readFile(journalPath(cachePath), 'utf8').catch(() => '');
	for (const line of journal.split('\n').slice(0, -1)) {
		const [kind, key, value] = JSON.parse(line) as [keyof typeof kinds, string, unknown?];
		if (value === undefined) {
			delete kinds[kind][key];
		} else {
			kinds[kind][key] = value;
		}
	}

	return entries;
}
