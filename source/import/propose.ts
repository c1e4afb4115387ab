// Pure: the fields an import proposes from metadata.yaml, and every rule a field, requirement or
// alias must pass. The command and the wizard both validate through these functions only.
import {aliasProblem} from '../domain/aliases.js';
import {architectureProblem, canonicalArchitecture, streamArchitecture} from '../domain/architectures.js';
import {productSegmentProblem, versionNameProblem} from '../domain/naming.js';
import type {Requirements} from '../domain/requirements.js';
import type {Found} from './found.js';

export const fieldNames = ['os', 'release', 'arch', 'variant', 'version'] as const;

export type FieldName = (typeof fieldNames)[number];

export type Fields = Record<FieldName, string>;

/** What the operator settles: the fields, and what the product gains beside the version. */
export type Choices = {fields: Fields; requirements: Requirements; aliases: string[]};

export const productPath = (f: Fields) => ['images', f.os, f.release, f.arch, f.variant].join('/');

export const productId = (f: Fields) => [f.os, f.release, f.arch, f.variant].join(':');

/** YYYYMMDD_HH:MM in UTC, the form images.linuxcontainers.org uses. */
export function versionOf(seconds: number): string {
	const iso = new Date(seconds * 1000).toISOString();
	return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 16)}`;
}

const defined = (fields: Partial<Record<FieldName, string | undefined>>): Partial<Fields> =>
	Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== '')) as Partial<Fields>;

/**
 * The fields metadata.yaml suggests, with the given ones (flags) on top. The os is lowercased: tree
 * names become aliases, and aliases are conventionally lowercase (debian/bookworm).
 */
export function propose(found: Found, given: Partial<Fields> = {}): Partial<Fields> {
	const {architecture, properties, creationDate} = found.meta.metadata;
	const arch = architecture ?? properties.architecture;
	return {
		...defined({
			os: properties.os?.toLowerCase(),
			release: properties.release,
			arch: arch === undefined ? undefined : streamArchitecture(arch),
			variant: properties.variant ?? 'default',
			version: versionOf(creationDate),
		}),
		...defined(given),
	};
}

/** os, release and variant make up the product id `os:release:arch:variant`, the path and the aliases. */
function nameProblem(field: FieldName, value: string): string | undefined {
	const problem = productSegmentProblem(value) ?? (value.includes('..') ? `"${value}" has "..", which URL normalisation removes` : undefined);
	return problem && `${field} ${problem}`;
}

/** The arch must be the one metadata.yaml and the rootfs binaries say (in any of its spellings). */
function archMismatch(value: string, found: Found): string | undefined {
	const wanted = canonicalArchitecture(value);
	const {architecture} = found.meta.metadata;
	if (architecture && canonicalArchitecture(architecture) !== wanted) {
		return `arch "${value}" is not the ${architecture} that metadata.yaml says`;
	}

	const other = found.roots.find(root => root.arch && !root.arch.arches.includes(wanted!));
	return other && `arch "${value}" does not match ${other.name}, built for ${other.arch!.arches.join(' or ')} (${other.arch!.binary})`;
}

export function fieldProblem(field: FieldName, value: string, found: Found): string | undefined {
	if (value === '') {
		return `${field} is required`;
	}

	switch (field) {
		case 'arch': {
			return architectureProblem(value) ?? archMismatch(value, found);
		}

		case 'version': {
			return versionNameProblem(value);
		}

		case 'os': {
			// Lowercase, as metadata.yaml's os is taken: aliases read debian/bookworm, never Debian/bookworm.
			return value === value.toLowerCase() ? nameProblem(field, value) : `os "${value}" must be lowercase: ${value.toLowerCase()}`;
		}

		default: {
			return nameProblem(field, value);
		}
	}
}

export const missingFields = (fields: Partial<Fields>): FieldName[] => fieldNames.filter(name => !fields[name]);

/** The flags that supply the given fields: `--arch ARCH --version VERSION`. */
export const flagsFor = (names: readonly FieldName[]) => names.map(name => `--${name} ${name.toUpperCase()}`).join(' ');

const requirementKey = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The values the daemons understand for the requirements they check; any other is silently not met. */
const knownValues: Record<string, readonly string[]> = {
	secureboot: ['true', 'false'],
	nesting: ['true', 'false'],
	privileged: ['true', 'false'],
	cgroup: ['v1', 'v2'],
};

/** A requirement given as `key=value`, or why it is not one. */
export function parseRequirement(text: string): {key: string; value: string} | {problem: string} {
	const at = text.indexOf('=');
	const key = at === -1 ? text : text.slice(0, at);
	const value = at === -1 ? '' : text.slice(at + 1);
	if (!requirementKey.test(key)) {
		return {problem: `requirement "${text}" must be key=value with a key of A-Z a-z 0-9 . _ - (like secureboot=false)`};
	}

	if (value === '') {
		return {problem: `requirement "${text}" has no value (like secureboot=false)`};
	}

	const allowed = Object.hasOwn(knownValues, key) ? knownValues[key]! : undefined;
	if (allowed && !allowed.includes(value)) {
		return {problem: `requirement ${key} is ${allowed.map(v => `"${v}"`).join(' or ')} to LXD and Incus, not "${value}"`};
	}

	return {key, value};
}

/**
 * Why `alias` cannot be added: `own` are the product's aliases already (default, in .aliases, just
 * added), `taken` the other products' aliases for the same architecture, with their product id.
 */
export function extraAliasProblem(alias: string, own: readonly string[], taken: ReadonlyMap<string, string>): string | undefined {
	const problem = aliasProblem(alias);
	if (problem) {
		return problem;
	}

	if (own.includes(alias)) {
		return `alias "${alias}" is already an alias of this product`;
	}

	const owner = taken.get(alias);
	return owner && `alias "${alias}" already belongs to ${owner} for this architecture`;
}
