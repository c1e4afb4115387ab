// Every flag of the command line, once: how meow reads it and how its text becomes a value. Each
// command names the flags it takes (command.ts); parse() refuses the others, a flag given twice, a
// value that does not parse and a flag nobody knows, each with one line and exit 2, as cobra does.
import {readFileSync} from 'node:fs';
import meow from 'meow';
import {listFormats} from '../list/formats.js';
import {parseDuration} from '../retention/duration.js';

/** A command line that cannot be run as written: one line on stderr, exit 2. */
export class CommandLineError extends Error {}

type Definition<T> = {kind: 'boolean' | 'string' | 'strings'; short?: string; value: (text: never, spelling: string) => T};

const boolean = (short?: string): Definition<boolean> => ({kind: 'boolean', short, value: (given: boolean) => given});

function text(short?: string): Definition<string> {
	return {kind: 'string', short, value(given: string, spelling) {
		if (given === '') {
			throw new CommandLineError(`${spelling} needs a value`);
		}

		return given;
	}};
}

const strings = (): Definition<string[]> => ({kind: 'strings', value: (given: string[]) => given});

function number(short: string | undefined, check: (n: number) => boolean, expected: string): Definition<number> {
	return {kind: 'string', short, value(given: string, spelling) {
		// Number('') and Number(' ') are 0: only digits with at most one point count.
		const n = /^\s*(\d+\.?\d*|\.\d+)\s*$/.test(given) ? Number(given) : Number.NaN;
		if (!check(n)) {
			throw new CommandLineError(`${spelling} must be ${expected}, got ${given === '' ? 'nothing' : JSON.stringify(given)}`);
		}

		return n;
	}};
}

/** Milliseconds, from `90s`, `30m`, `6h`, `2d` or a number of seconds. */
function duration(): Definition<number> {
	return {kind: 'string', value(given: string, spelling) {
		try {
			return parseDuration(spelling, given);
		} catch (error) {
			throw new CommandLineError((error as Error).message);
		}
	}};
}

function oneOf<T extends string>(choices: readonly T[]): Definition<T> {
	return {kind: 'string', value(given: string, spelling) {
		if (!choices.includes(given as T)) {
			throw new CommandLineError(`${spelling} must be ${choices.slice(0, -1).join(', ')} or ${choices.at(-1)!}, got ${given === '' ? 'nothing' : JSON.stringify(given)}`);
		}

		return given as T;
	}};
}

export const flagDefinitions = {
	write: boolean('N'),
	jobs: number('j', n => Number.isInteger(n) && n >= 1, 'a whole number of at least 1'),
	cache: text(),
	plain: boolean(),
	allowEmpty: boolean(),
	watch: boolean(),
	settle: number(undefined, n => Number.isFinite(n) && n >= 0, 'a number of seconds'),
	log: oneOf(['plain', 'json'] as const),
	deltas: boolean(),
	deltaRatio: number(undefined, n => n > 0 && n <= 1, 'a number above 0 and at most 1'),
	vmDeltas: boolean(),
	json: boolean(),
	format: oneOf(listFormats),
	help: boolean('h'),
	import: text('i'),
	os: text(),
	release: text(),
	arch: text(),
	variant: text(),
	// Also `--version` alone, which shows the program's version (cli.tsx).
	version: {kind: 'string', value: (given: string) => given} as Definition<string>,
	alias: strings(),
	requirement: strings(),
	yes: boolean(),
	copy: boolean(),
	force: boolean(),
	to: text(),
	endpoint: text(),
	keep: number(undefined, n => Number.isInteger(n) && n >= 1, 'a whole number of at least 1'),
	olderThan: duration(),
	grace: duration(),
	filter: strings(),
	ca: text(),
	every: duration(),
};

export type FlagName = keyof typeof flagDefinitions;

/** The flags given, as values: a flag not given is absent (each command has its defaults). */
export type Flags = {[K in FlagName]?: ReturnType<(typeof flagDefinitions)[K]['value']>};

const kebab = (name: string) => name.replaceAll(/[A-Z]/g, c => `-${c.toLowerCase()}`);

/** How a flag is written: `--delta-ratio`, or `-x` for an unknown one-letter flag. */
export const spelling = (name: string) => (name.length === 1 ? `-${name}` : `--${kebab(name)}`);

/** Optimal string alignment distance: a swap of two neighbours (`--wirte`) is one edit. */
function distance(a: string, b: string): number {
	const d = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
	for (let i = 1; i <= a.length; i++) {
		for (let j = 1; j <= b.length; j++) {
			const cost = a[i - 1] === b[j - 1] ? 0 : 1;
			d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
			if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
				d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
			}
		}
	}

	return d[a.length]![b.length]!;
}

/** The candidate closest to `typed`, if one is close enough to be what was meant. */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
	let best: {candidate: string; d: number} | undefined;
	for (const candidate of candidates) {
		const d = distance(typed, candidate);
		if (d <= Math.min(2, Math.floor(candidate.length / 3)) && (!best || d < best.d)) {
			best = {candidate, d};
		}
	}

	return best?.candidate;
}

export type CommandLine = {flags: Flags; operands: string[]};

/**
 * The program's name and version from its package.json, found as meow finds it (upwards from this
 * module) and given to meow: meow normalises the package it is given, and the whole file's license
 * sends that through the SPDX tables, which took tens of milliseconds and megabytes at every start.
 */
function program(): {name: string; version: string} {
	for (let dir = new URL('.', import.meta.url); ; dir = new URL('..', dir)) {
		try {
			const {name, version} = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {name: string; version: string};
			return {name, version};
		} catch {}

		if (dir.pathname === '/') {
			return {name: 'simplestreams', version: ''};
		}
	}
}

/**
 * Read `argv` against every flag there is, then refuse what the command `select` picks from it does
 * not take (naming the `commands` that take it). meow's own checks exit or throw with several lines: unknown and repeated flags are
 * found here instead. `version`: the program's, from its package.json.
 */
export function parse<C extends {name: string; flags: readonly FlagName[]}>(argv: readonly string[], commands: readonly C[], select: (given: CommandLine) => {command: C; operands: string[]}): CommandLine & {command: C; version: string} {
	const meowFlags = Object.fromEntries(Object.entries(flagDefinitions).map(([name, definition]) => [name, {
		type: definition.kind === 'boolean' ? 'boolean' : 'string',
		...(definition.short ? {shortFlag: definition.short} : {}),
		...(definition.kind === 'strings' ? {isMultiple: true} : {}),
	}])) as Record<FlagName, {type: 'boolean' | 'string'; shortFlag?: string; isMultiple?: true}>;
	let parsed;
	try {
		parsed = meow({importMeta: import.meta, pkg: program(), argv: [...argv], flags: meowFlags, allowUnknownFlags: true, booleanDefault: undefined, autoHelp: false, autoVersion: false});
	} catch (error) {
		const repeated = /The flag --(\S+) can only be set once/.exec((error as Error).message);
		throw repeated ? new CommandLineError(`--${repeated[1]!} is given more than once`) : error;
	}

	const all = Object.keys(flagDefinitions).map(spelling);
	const given: Record<string, unknown> = {};
	for (const [name, raw] of Object.entries(parsed.flags)) {
		if (!Object.hasOwn(flagDefinitions, name)) {
			const typed = spelling(name);
			const near = closest(typed, all);
			throw new CommandLineError(`unknown flag ${typed}${near ? `; did you mean ${near}?` : ''}`);
		}

		if (raw !== undefined && !(Array.isArray(raw) && raw.length === 0)) {
			given[name] = raw;
		}
	}

	const {command, operands} = select({flags: given as Flags, operands: parsed.input.map(String)});
	const flags: Record<string, unknown> = {};
	for (const [name, raw] of Object.entries(given)) {
		const written = spelling(name);
		if (!command.flags.includes(name as FlagName)) {
			const takers = commands.filter(c => c.flags.includes(name as FlagName) && c.name !== written).map(c => c.name);
			throw new CommandLineError(`${written} does not apply to ${command.name}${takers.length > 0 ? `; it is for ${takers.join(', ')}` : ''}`);
		}

		flags[name] = (flagDefinitions[name as FlagName].value as (given: unknown, spelling: string) => unknown)(raw, written);
	}

	return {command, flags: flags as Flags, operands, version: parsed.pkg.version ?? ''};
}
