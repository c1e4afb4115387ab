// Between scan and plan: what is each file? The cache answers for unchanged files; the others get
// their first bytes read (never more) to learn their content kind.
import type {DigestCache} from '../cache/digest-cache.js';
import type {FileFacts} from '../domain/file.js';
import {inspectContent} from '../domain/magic.js';
import {because} from '../domain/reasons.js';
import {errorCode} from '../util/errors.js';
import {mapLimit} from '../util/map-limit.js';
import type {Emit} from './events.js';
import type {ImageFile, Tree} from './model.js';

export async function probe(tree: Tree, cache: DigestCache, emit: Emit): Promise<Map<string, FileFacts>> {
	const known = new Map<string, FileFacts>();
	// Unchanged files first, without an await each: on a re-run that is every file, and 20,000 async
	// calls through mapLimit cost more than the lookups themselves.
	const unknown: ImageFile[] = [];
	for (const product of tree.products) {
		for (const version of product.versions) {
			for (const file of version.files) {
				const cached = cache.lookup(file.path, file.identity);
				if (!cached) {
					unknown.push(file);
					continue;
				}

				known.set(file.path, cached);
				if (cached.sha256) {
					emit({type: 'cached', path: file.path});
				}
			}
		}
	}

	await mapLimit(unknown, 64, async file => {
		try {
			const facts = await inspectContent(file.absolute);
			cache.record(file.path, file.identity, facts);
			known.set(file.path, facts);
		} catch (error) {
			emit({type: 'skipped', scope: 'file', path: file.path, ...because('unreadable', errorCode(error))});
		}
	});
	return known;
}
