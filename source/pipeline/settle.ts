// For the watcher: a version whose files were written within the settle window may still be
// arriving. It is held: not hashed, and published as it was before (if it was), until it has rested.
import type {Emit} from './events.js';
import {lastWritten, type Tree} from '../domain/tree.js';

/** Version paths held back, and when the earliest of them is due (ms since the epoch). */
export function settlingVersions(tree: Tree, now: number, settleMs: number, emit: Emit): {held: Set<string>; readyAt?: number} {
	const held = new Set<string>();
	let readyAt: number | undefined;
	for (const version of tree.products.flatMap(p => p.versions)) {
		const written = lastWritten(version);
		if (now - written < settleMs) {
			held.add(version.path);
			readyAt = Math.min(readyAt ?? Infinity, written + settleMs);
			emit({type: 'settling', path: version.path, readyAt: written + settleMs});
		}
	}

	return readyAt === undefined ? {held} : {held, readyAt};
}
