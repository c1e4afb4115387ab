// Which published versions a policy retires (pure): per product, those beyond the newest N
// (--keep N) and those older than a duration (--older-than), never the newest. Versions are ordered
// as the clients order them, by name, and dated as the clients date them, by the name.
import {versionTime} from '../domain/naming.js';
import {compareText} from '../util/compare.js';
import {formatDuration} from '../util/format.js';

export type Policy = {keep?: number; olderThanMs?: number};

/** A version as the policy sees it: the same for a directory tree and for a bucket. */
export type PolicyVersion = {product: string; name: string; path: string};

export type Choice = {product: string; path: string; why: string};

export const hasPolicy = (policy?: Policy): policy is Policy => policy?.keep !== undefined || policy?.olderThanMs !== undefined;

/**
 * With both limits a version retires only when both say so: --keep 3 --older-than 30d keeps the
 * newest three, and any version younger than 30 days.
 */
export function chooseRetirements(versions: readonly PolicyVersion[], policy: Policy, now: number): Choice[] {
	const byProduct = new Map<string, PolicyVersion[]>();
	for (const version of versions) {
		byProduct.set(version.product, [...byProduct.get(version.product) ?? [], version]);
	}

	const chosen: Choice[] = [];
	for (const [product, list] of byProduct) {
		const newestFirst = [...list].sort((a, b) => compareText(b.name, a.name));
		for (const [index, version] of newestFirst.entries()) {
			if (index === 0) {
				continue; // The newest stays, whatever the limits: the product's aliases resolve to it.
			}

			const beyond = policy.keep === undefined ? undefined : index >= policy.keep;
			const old = policy.olderThanMs === undefined ? undefined : now - versionTime(version.name) > policy.olderThanMs;
			if (beyond === false || old === false) {
				continue;
			}

			const why = [beyond ? `beyond the newest ${policy.keep}` : '', old ? `older than ${formatDuration(policy.olderThanMs!)}` : ''].filter(Boolean).join(' and ');
			chosen.push({product, path: version.path, why});
		}
	}

	return chosen;
}
