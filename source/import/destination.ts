// What the web root already holds where an import would go: the product's versions and aliases,
// the requirements files on the way down, whether the version exists, and which filesystem the
// files would land on.
import {lstat, realpath, stat} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {aliasFile, defaultAliases, maxAliasesBytes, parseAliases} from '../domain/aliases.js';
import {canonicalArchitecture} from '../domain/architectures.js';
import {maxRequirementsBytes, parseRequirements, requirementFiles, type Requirements} from '../domain/requirements.js';
import type {ScannedProduct} from '../domain/tree.js';
import {errorCode} from '../util/errors.js';
import {readBoundedFile, SmallFileProblem} from '../util/small-file.js';
import {ImportError} from './errors.js';
import {productId, productPath, type Fields} from './propose.js';

/** The product's aliases before the import: its default ones and those in its .aliases file. */
export const ownAliases = (products: readonly ScannedProduct[], fields: Fields) =>
	[...defaultAliases(fields.os, fields.release, fields.variant), ...products.find(p => p.ref.id === productId(fields))?.aliases ?? []];

/** The other products' aliases on the same architecture, each with the product that has it. */
export function takenAliases(products: readonly ScannedProduct[], fields: Fields): Map<string, string> {
	const arch = canonicalArchitecture(fields.arch);
	const taken = new Map<string, string>();
	for (const {ref, aliases} of products) {
		if (ref.id !== productId(fields) && canonicalArchitecture(ref.arch) === arch) {
			for (const alias of [...defaultAliases(ref.os, ref.release, ref.variant), ...aliases]) {
				taken.set(alias, ref.id);
			}
		}
	}

	return taken;
}

export type RequirementLevel = {path: string; requirements: Requirements};

export type Destination = {
	/** The version directory (or anything by its name) is already there. */
	exists: boolean;
	/** The device of the nearest directory that exists on the way: a rename works only within it. */
	dev: number;
	/** Every requirements file from images/ down to the variant, in the order the generator applies them. */
	levels: RequirementLevel[];
	/** The product's `.aliases` file as it is, if there is one. */
	aliasesText?: string;
	extraAliases: string[];
};

/**
 * The text of one of the product's dot-files the generator reads, or undefined when there is none.
 * Read as the generator reads it (a small regular file inside the web root), so an import never
 * takes in what a regeneration would refuse.
 */
export async function readOptional(root: string, path: string): Promise<string | undefined> {
	try {
		return (await readBoundedFile(path, {root: await realpath(root), limit: basename(path) === aliasFile ? maxAliasesBytes : maxRequirementsBytes})).toString('utf8');
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
			return undefined;
		}

		throw new ImportError(`${path} ${error instanceof SmallFileProblem ? error.message : `cannot be read (${errorCode(error)})`}`);
	}
}

export async function inspectDestination(root: string, fields: Fields): Promise<Destination> {
	const segments = productPath(fields).split('/');
	const levels: RequirementLevel[] = [];
	for (let depth = 1; depth <= segments.length; depth++) {
		for (const name of requirementFiles) {
			const path = [...segments.slice(0, depth), name].join('/');
			const text = await readOptional(root, join(root, path));
			if (text === undefined) {
				continue;
			}

			try {
				levels.push({path, requirements: parseRequirements(text)});
			} catch (error) {
				throw new ImportError(`${join(root, path)} ${(error as Error).message}: fix it first (the generator leaves out every product below it)`);
			}
		}
	}

	const aliasesText = await readOptional(root, join(root, productPath(fields), aliasFile));
	const version = join(root, productPath(fields), fields.version);
	const exists = await lstat(version).then(() => true, () => false);
	let dir = dirname(version);
	for (;;) {
		try {
			const {dev} = await stat(dir);
			return {exists, dev, levels, ...(aliasesText === undefined ? {} : {aliasesText}), extraAliases: parseAliases(aliasesText ?? '').aliases};
		} catch {
			dir = dirname(dir);
		}
	}
}
