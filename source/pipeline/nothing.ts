// Publishing nothing is not success. An images/ that is missing, not a directory, unreadable, linked
// out of the web root or empty is what an unmounted share or a permission slip looks like, and
// clients and daemons would cache the empty index for up to an hour: such a run is refused and the
// published streams stay, unless the operator asks for an empty catalog (allowEmpty, --allow-empty).
import {readdirSync, realpathSync, statSync} from 'node:fs';
import {basename, join} from 'node:path';
import {versionNameProblem} from '../domain/naming.js';
import {warning} from '../domain/reasons.js';
import {errorCode, UsageError} from '../util/errors.js';
import {isInside} from '../util/small-file.js';
import type {Tree} from '../domain/tree.js';

export class NothingToPublish extends UsageError {
	/** `settlingUntil`: when a version held back for settling is due (epoch ms), if one is. */
	constructor(readonly reason: string, readonly settlingUntil?: number) {
		super(`nothing to publish: ${reason}; the published streams are left as they are (--allow-empty publishes an empty catalog)`);
	}
}

/** Why the scan cannot walk `rootReal`/images (the root's real path), as a warning about images/; undefined when it can. */
export function imagesProblem(rootReal: string): ReturnType<typeof warning> | undefined {
	const images = join(rootReal, 'images');
	try {
		const target = realpathSync.native(images);
		if (!isInside(rootReal, target)) {
			return warning('images-outside-root', target);
		}

		return statSync(target).isDirectory() ? undefined : warning('images-not-directory');
	} catch (error) {
		const code = errorCode(error);
		return code === 'ENOENT' ? warning('images-missing') : warning('images-unreadable', code);
	}
}

/** Why a scanned tree has no version at all, or undefined when it has one. */
export function noVersions(tree: Tree): string | undefined {
	if (tree.products.some(p => p.versions.length > 0)) {
		return undefined;
	}

	const images = join(tree.root, 'images');
	const problem = imagesProblem(tree.root);
	if (problem?.code === 'images-missing' && looksLikeImages(tree.root)) {
		return `${images} ${problem.message}; ${tree.root} looks like an images/ directory itself: the web root is the directory above it`;
	}

	if (problem) {
		return `${images} ${problem.message}`;
	}

	try {
		readdirSync(images);
	} catch (error) {
		return `${images} ${warning('images-unreadable', errorCode(error)).message}`;
	}

	return `${images} holds no image version`;
}

/** Whether `dir` is named images or has OS/RELEASE/ARCH/VARIANT/VERSION below it (the first of each level looked at). */
function looksLikeImages(dir: string): boolean {
	if (basename(dir) === 'images') {
		return true;
	}

	let level = dir;
	for (let depth = 0; depth < 5; depth++) {
		let names: string[];
		try {
			names = readdirSync(level, {withFileTypes: true}).filter(d => d.isDirectory() && !d.name.startsWith('.') && d.name !== 'streams').map(d => d.name).sort();
		} catch {
			return false;
		}

		if (depth === 4) {
			return names.some(name => versionNameProblem(name) === undefined);
		}

		if (names[0] === undefined) {
			return false;
		}

		level = join(level, names[0]);
	}

	return false;
}
