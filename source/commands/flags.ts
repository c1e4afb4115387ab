// Every flag of the command line, once: how it is read and how its text becomes a value. Each
// command names the flags it takes (command.ts); parse() refuses the others, a flag given twice, a
// value that does not parse and a flag nobody knows, each with one line and exit 2, as cobra does.
import {readFileSync} from 'node:fs';
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

/** The program's name and version, from its package.json (the first found upwards from this module). */
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

const camel = (name: string) => name.replaceAll(/-([a-z])/g, (_, c: string) => c.toUpperCase());

const shortFlags = new Map(Object.entries(flagDefinitions).flatMap(([name, definition]) => (definition.short ? [[definition.short, name as FlagName] as const] : [])));

/** The next word is a flag's value unless it is a flag itself (a negative number is a value). */
const valueWord = (word: string | undefined) => word !== undefined && (!word.startsWith('-') || /^-\d/.test(word));

function unknownFlag(typed: string): CommandLineError {
	const near = closest(typed, Object.keys(flagDefinitions).map(spelling));
	return new CommandLineError(`unknown flag ${typed}${near ? `; did you mean ${near}?` : ''}`);
}

const known = (name: string) => Object.hasOwn(flagDefinitions, name);

/**
 * `argv` split as getopt_long splits it: `--name value`, `--name=value`, `--no-name` (a boolean
 * false), `-abc` (letters; one that takes a value takes the rest, `-j4`, or the next word), `--`
 * ending the flags. A flag that takes a value and is followed by another flag, or by nothing, has
 * the empty value, which its definition refuses. The first word that is wrong is the one refused:
 * a flag nobody knows, or one given twice (other than a boolean or a repeatable one).
 */
function read(argv: readonly string[]): {given: Record<string, unknown>; operands: string[]} {
	const given: Record<string, unknown> = {};
	const operands: string[] = [];
	/** `typed`: the flag as written, which an unknown one is called by. */
	const set = (name: string, value: string | boolean, typed: string) => {
		if (!known(name)) {
			throw unknownFlag(typed);
		}

		const {kind} = flagDefinitions[name as FlagName];
		if (kind === 'strings') {
			given[name] = [...(given[name] as string[] | undefined) ?? [], String(value)];
		} else if (kind === 'boolean' || !Object.hasOwn(given, name)) {
			given[name] = value;
		} else {
			throw new CommandLineError(`${spelling(name)} is given more than once`);
		}
	};

	const takesValue = (name: string) => known(name) && flagDefinitions[name as FlagName].kind !== 'boolean';
	for (let index = 0; index < argv.length; index++) {
		const word = argv[index]!;
		if (word === '--') {
			operands.push(...argv.slice(index + 1));
			break;
		}

		if (word.startsWith('--')) {
			const equals = word.indexOf('=');
			const typed = equals === -1 ? word : word.slice(0, equals);
			const name = camel(typed.slice(2));
			const inline = equals === -1 ? undefined : word.slice(equals + 1);
			const negated = camel(typed.slice(5));
			if (takesValue(name)) {
				set(name, inline ?? (valueWord(argv[index + 1]) ? argv[++index]! : ''), typed);
			} else if (inline === undefined) {
				const negates = typed.startsWith('--no-') && known(negated) && !takesValue(negated);
				set(negates ? negated : name, !negates, typed);
			} else if (known(name) && (inline === 'true' || inline === 'false')) {
				set(name, inline === 'true', typed);
			} else {
				throw known(name) ? new CommandLineError(`${typed} takes no value, got ${JSON.stringify(inline)}`) : unknownFlag(typed);
			}

			continue;
		}

		if (word.length < 2 || !word.startsWith('-')) {
			operands.push(word);
			continue;
		}

		for (let letter = 1; letter < word.length; letter++) {
			const typed = `-${word[letter]!}`;
			const name = shortFlags.get(word[letter]!) ?? typed;
			if (takesValue(name)) {
				const rest = word.slice(letter + 1).replace(/^=/, '');
				set(name, rest !== '' ? rest : valueWord(argv[index + 1]) ? argv[++index]! : '', typed);
				break;
			}

			set(name, true, typed);
		}
	}

	return {given, operands};
}

/**
 * Read `argv` against every flag there is, then refuse what the command `select` picks from it does
 * not take (naming the `commands` that take it). `version`: the program's, from its package.json.
 */
export function parse<C extends {name: string; flags: readonly FlagName[]}>(argv: readonly string[], commands: readonly C[], select: (given: CommandLine) => {command: C; operands: string[]}): CommandLine & {command: C; version: string} {
	const {given, operands: words} = read(argv);
	const {name, version} = program();
	// What ps and top show, rather than node and the path of the script.
	process.title = name;
	const {command, operands} = select({flags: given as Flags, operands: words});
	const flags: Record<string, unknown> = {};
	for (const [name, raw] of Object.entries(given)) {
		const written = spelling(name);
		if (!command.flags.includes(name as FlagName)) {
			const takers = commands.filter(c => c.flags.includes(name as FlagName) && c.name !== written).map(c => c.name);
			throw new CommandLineError(`${written} does not apply to ${command.name}${takers.length > 0 ? `; it is for ${takers.join(', ')}` : ''}`);
		}

		flags[name] = (flagDefinitions[name as FlagName].value as (given: unknown, spelling: string) => unknown)(raw, written);
	}

	return {command, flags: flags as Flags, operands, version};
}
