// For the watcher: a version whose files changed within the settle window may still be arriving,
// so it waits (its previous state, if any, is not published either) until the window has passed.
import type {Emit} from './events.js';
import type {ImageFile, Tree} from './model.js';

const lastChange = (file: ImageFile) => Math.max(Number(BigInt(file.identity.mtimeNs) / 1_000_000n), Number(BigInt(file.identity.ctimeNs) / 1_000_000n));

/** The tree without settling versions, and when the earliest of them is due (ms since the epoch). */
export function holdSettling(tree: Tree, now: number, settleMs: number, emit: Emit): {tree: Tree; readyAt?: number} {
	let readyAt: number | undefined;
	const products = tree.products.map(product => ({
		...product,
		versions: product.versions.filter(version => {
			const changed = Math.max(0, ...version.files.map(f => lastChange(f)));
			if (now - changed >= settleMs) {
				return true;
			}

			const due = changed + settleMs;
			readyAt = Math.min(readyAt ?? due, due);
			emit({type: 'settling', path: version.path, readyAt: due});
			return false;
		}),
	}));
	return {tree: {...tree, products}, readyAt};
}
