// Between scan and plan: what is each file? The cache answers for unchanged files; the others get
// their first bytes read (never more) to learn their content kind, except small files, which are
// read whole once and hashed in the same pass (hash/small.ts), on the pool's threads when there are
// many.
import type {DigestCache} from '../cache/digest-cache.js';
import type {FileFacts} from '../domain/file.js';
import {inspectContent} from '../domain/magic.js';
import {because} from '../domain/reasons.js';
import {errorCode} from '../util/errors.js';
import {mapLimit} from '../util/map-limit.js';
import type {Emit} from './events.js';
import {smallOnPool, smallWork, type HashPool} from './hash/pool.js';
import {noEarlyDigests, readVersion, type EarlyDigests, type SmallRead, type SmallSource} from './hash/small.js';
import {pathPair, type ImageFile, type Tree} from '../domain/tree.js';

/** How long probing small files may hold the event loop before timers and I/O get a turn. */
const sliceMilliseconds = 8;

/** Small files per pool task: whole versions, enough of them that a task's messages are a small part of it. */
const filesPerTask = 384;

export type Probed = {facts: Map<string, FileFacts>; early: EarlyDigests};

const sources = (files: readonly ImageFile[]): SmallSource[] => files.map(file => ({absolute: file.absolute, identity: file.identity, kind: file.role.kind}));

export async function probe(tree: Tree, cache: DigestCache, emit: Emit, pool: HashPool): Promise<Probed> {
	const facts = new Map<string, FileFacts>();
	const early = noEarlyDigests();
	const record = (file: ImageFile, known: FileFacts) => {
		cache.record(file.path, file.identity, known);
		facts.set(file.path, known);
	};

	// Unchanged files first, without an await each: on a re-run that is every file, and 20,000 async
	// calls through mapLimit cost more than the lookups themselves. Each version's small files that
	// the cache does not know are read together, metadata first (small.ts).
	const unknown: ImageFile[] = [];
	const versions: ImageFile[][] = [];
	let smallFiles = 0;
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
				versions.push([...small.filter(f => f.role.kind === 'meta'), ...small.filter(f => f.role.kind !== 'meta')]);
				smallFiles += small.length;
			}
		}
	}

	const take = (files: readonly ImageFile[], reads: ReadonlyArray<SmallRead | undefined>) => {
		for (const [index, read] of reads.entries()) {
			const file = files[index]!;
			if (!read) {
				unknown.push(file);
				continue;
			}

			record(file, read.facts);
			early.files.set(file.path, read.sha256);
			early.milliseconds.set(file.path, read.milliseconds);
			for (const {meta, digest} of read.combined) {
				early.combined.set(pathPair(files[meta]!.path, file.path), digest);
			}
		}
	};

	if (smallOnPool(smallFiles, pool.jobs)) {
		const tasks: Array<Promise<void>> = [];
		for (let start = 0; start < versions.length;) {
			let end = start;
			for (let files = 0; end < versions.length && files < filesPerTask; end++) {
				files += versions[end]!.length;
			}

			const batch = versions.slice(start, end);
			tasks.push(pool.readVersions(batch.map(sources)).then(reads => {
				for (const [index, files] of batch.entries()) {
					take(files, reads[index]!);
				}
			}));
			start = end;
		}

		await Promise.all(tasks);
	} else {
		let sliceStarted = performance.now();
		for (const files of versions) {
			take(files, await readVersion(sources(files)));
			// Thousands of versions in a row would never give the event loop a turn (timers, Ctrl-C).
			if (performance.now() - sliceStarted >= sliceMilliseconds) {
				await new Promise(resolve => {
					setImmediate(resolve);
				});
				sliceStarted = performance.now();
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
