// Between scan and plan: what is each file? The cache answers for unchanged files; the others get
// their first bytes read (never more) to learn their content kind, except small files, which are
// read whole once and hashed in the same pass (hash/small.ts).
import type {DigestCache} from '../cache/digest-cache.js';
import type {FileFacts} from '../domain/file.js';
import type {Content} from '../domain/ftypes.js';
import {inspectContent} from '../domain/magic.js';
import {because} from '../domain/reasons.js';
import {errorCode} from '../util/errors.js';
import {mapLimit} from '../util/map-limit.js';
import type {Emit} from './events.js';
import {smallWork} from './hash/pool.js';
import {probeSmall, readBuffer, type EarlyDigests} from './hash/small.js';
import type {ImageFile, Tree} from '../domain/tree.js';

/** How long probing small files may hold the event loop before timers and I/O get a turn. */
const sliceMilliseconds = 8;

export type Probed = {facts: Map<string, FileFacts>; early: EarlyDigests};

/**
 * The facts of a file that has nothing but its content kind, one object a kind: a tree of small
 * files has tens of thousands of them, alike but for the kind. Read only, as all facts are.
 */
const plainFacts = new Map<Content, FileFacts>();

function shared(facts: FileFacts): FileFacts {
	if (facts.problem !== undefined || facts.sha256 !== undefined) {
		return facts;
	}

	let plain = plainFacts.get(facts.content);
	if (!plain) {
		plain = {content: facts.content};
		plainFacts.set(facts.content, plain);
	}

	return plain;
}

export async function probe(tree: Tree, cache: DigestCache, emit: Emit): Promise<Probed> {
	const facts = new Map<string, FileFacts>();
	const early: EarlyDigests = new Map();
	const record = (file: ImageFile, known: FileFacts) => {
		cache.record(file.path, file.identity, known);
		facts.set(file.path, shared(known));
	};

	// Unchanged files first, without an await each: on a re-run that is every file, and 20,000 async
	// calls through mapLimit cost more than the lookups themselves.
	const unknown: ImageFile[] = [];
	const buffer = readBuffer();
	let sliceStarted = performance.now();
	for (const product of tree.products) {
		for (const version of product.versions) {
			const small: ImageFile[] = [];
			for (const file of version.files) {
				const cached = cache.lookup(file.path, file.identity);
				if (!cached) {
					(file.identity.size <= smallWork ? small : unknown).push(file);
					continue;
				}

				facts.set(file.path, cached);
				if (cached.sha256) {
					emit({type: 'cached', path: file.path});
				}
			}

			if (small.length > 0) {
				unknown.push(...probeSmall(small, record, early, buffer));
				// Thousands of versions in a row would never give the event loop a turn (timers, Ctrl-C).
				if (performance.now() - sliceStarted >= sliceMilliseconds) {
					await new Promise(resolve => {
						setImmediate(resolve);
					});
					sliceStarted = performance.now();
				}
			}
		}
	}

	await mapLimit(unknown, 64, async file => {
		try {
			record(file, await inspectContent(file.absolute));
		} catch (error) {
			emit({type: 'skipped', scope: 'file', path: file.path, ...because('unreadable', errorCode(error))});
		}
	});
	return {facts, early};
}
