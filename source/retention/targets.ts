// `remove TARGET…` (pure): a product (`os/release/arch/variant`), a version (`…/VERSION`) or an image
// fingerprint, whole or a prefix that the clients would take as unique.
import type {Choice} from './policy.js';

export type TargetVersion = {product: string; path: string};

/** `images/os/release/arch/variant/version` by the fingerprints its images have for either client. */
export type Fingerprinted = {path: string; product: string; fingerprint: string};

export type Resolved = {chosen: Choice[]; problems: string[]};

const hex = /^[\da-f]+$/;

export function resolveTargets(targets: readonly string[], versions: readonly TargetVersion[], images: readonly Fingerprinted[]): Resolved {
	const chosen: Choice[] = [];
	const problems: string[] = [];
	const add = (choice: Choice) => {
		if (!chosen.some(c => c.path === choice.path)) {
			chosen.push(choice);
		}
	};

	for (const target of targets) {
		const path = `images/${target.replace(/^\.?\/*(images\/)?/, '').replace(/\/+$/, '')}`;
		const depth = path.split('/').length - 1;
		if (depth === 4 || depth === 5) {
			const found = versions.filter(v => depth === 5 ? v.path === path : v.path.startsWith(`${path}/`));
			if (found.length === 0) {
				problems.push(`${target}: no published ${depth === 5 ? 'version' : 'product'} ${path}`);
			}

			for (const version of found) {
				add({product: version.product, path: version.path, why: 'removed'});
			}

			continue;
		}

		const prefix = target.toLowerCase();
		if (!hex.test(prefix) || prefix.length > 64) {
			problems.push(`${target}: not a product (os/release/arch/variant), a version (…/VERSION) or a fingerprint`);
			continue;
		}

		const matches = images.filter(image => image.fingerprint.startsWith(prefix));
		const fingerprints = new Set(matches.map(image => image.fingerprint));
		if (fingerprints.size === 0) {
			problems.push(`${target}: no published image has this fingerprint`);
		} else if (fingerprints.size > 1) {
			problems.push(`${target}: ambiguous, the clients would refuse it too: it begins ${[...fingerprints].sort().map(f => f.slice(0, 12)).join(', ')}`);
		} else {
			add({product: matches[0]!.product, path: matches[0]!.path, why: `removed (fingerprint ${matches[0]!.fingerprint.slice(0, 12)})`});
		}
	}

	return {chosen, problems};
}
