// Between scan and plan: what is each file? The cache answers for unchanged files; the others get
// their first bytes read (never more) to learn their content kind.
import type {DigestCache} from '../cache/digest-cache.js';
import {inspectContent} from '../domain/magic.js';
import {mapLimit} from '../util/map-limit.js';
import type {Emit} from './events.js';
import type {Knowledge, Tree} from './model.js';

export async function probe(tree: Tree, cache: DigestCache, emit: Emit): Promise<Map<string, Knowledge>> {
	const files = tree.products.flatMap(p => p.versions.flatMap(v => v.files));
	const known = new Map<string, Knowledge>();
	await mapLimit(files, 64, async file => {
		const cached = cache.lookup(file.path, file.identity);
		if (cached) {
			known.set(file.path, cached);
			if (cached.sha256) {
				emit({type: 'cached', path: file.path});
			}

			return;
		}

		try {
			const knowledge = await inspectContent(file.absolute);
			cache.record(file.path, file.identity, knowledge);
			known.set(file.path, knowledge);
		} catch (error) {
			const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
			emit({type: 'skipped', scope: 'file', path: file.path, reason: `cannot be read (${code})`});
		}
	});
	return known;
}
