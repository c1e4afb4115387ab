// The wizard as a pure reducer: keys in, state out. Every check is the import core's (propose.ts);
// this file only decides which step a key belongs to.
import type {Key} from 'ink';
import type {Requirements} from '../../domain/requirements.js';
import type {ScannedProduct} from '../../domain/tree.js';
import {rootFtypes} from '../../streams/ftypes.js';
import type {Found} from '../found.js';
import type {ImportPlan} from '../plan.js';
import {extraAliasProblem, fieldNames, fieldProblem, parseRequirement, productId, type Choices, type FieldName, type Fields} from '../propose.js';
import {ownAliases, takenAliases} from '../destination.js';

export type Step = FieldName | 'secureboot' | 'requirements' | 'aliases' | 'plan';

/** `force`: a version that exists may be replaced (--force). */
export type WizardContext = {found: Found; products: readonly ScannedProduct[]; force?: boolean};

export type WizardState = {
	context: WizardContext;
	steps: Step[];
	index: number;
	fields: Fields;
	requirements: Requirements;
	aliases: string[];
	/** The line being typed in the requirements and aliases steps. */
	line: string;
	/** Why the last line was not taken. */
	message?: string;
	plan?: ImportPlan | 'loading' | {error: string};
	outcome?: 'done' | 'cancelled';
};

export type WizardAction =
	| {type: 'key'; input: string; key: Partial<Key>}
	| {type: 'planned'; plan: ImportPlan}
	| {type: 'plan-failed'; error: string};

const hasVm = (found: Found) => found.roots.some(r => rootFtypes[r.ftype].type === 'virtual-machine');

export function initialState(context: WizardContext, given: {fields: Partial<Fields>; requirements: Requirements; aliases: string[]}): WizardState {
	const offerSecureboot = hasVm(context.found) && given.requirements.secureboot === undefined;
	return {
		context,
		steps: [...fieldNames, ...(offerSecureboot ? ['secureboot' as const] : []), 'requirements', 'aliases', 'plan'],
		index: 0,
		fields: Object.fromEntries(fieldNames.map(name => [name, given.fields[name] ?? ''])) as Fields,
		requirements: given.requirements,
		aliases: given.aliases,
		line: '',
	};
}

export const stepOf = (state: WizardState): Step => state.steps[state.index]!;

export const choicesOf = (state: WizardState): Choices => ({fields: state.fields, requirements: state.requirements, aliases: state.aliases});

/**
 * The version the fields name, when the tree has it already: said as soon as it is chosen, not
 * after four more steps. Without --force it must be chosen again.
 */
export function existingVersion(state: WizardState): {path: string; blocks: boolean} | undefined {
	const {fields, context} = state;
	const product = context.products.find(p => p.ref.id === productId(fields));
	const version = product?.versions.find(v => v.name === fields.version);
	return version ? {path: version.path, blocks: !context.force} : undefined;
}

/** Why the line typed in a list step cannot be added (undefined: it can). */
export function lineProblem(state: WizardState): string | undefined {
	const step = stepOf(state);
	if (state.line === '') {
		return undefined;
	}

	if (step === 'aliases') {
		const {fields, context} = state;
		return extraAliasProblem(state.line, [...ownAliases(context.products, fields), ...state.aliases], takenAliases(context.products, fields));
	}

	const parsed = parseRequirement(state.line);
	return 'problem' in parsed ? parsed.problem : undefined;
}

/**
 * The keys in one chunk of input: typed fast, pasted or sent by tmux, several keys arrive at once
 * ("ab\x7f\r"), and each must act in turn. Escape sequences come already split by Ink.
 */
export function keysOf(input: string, key: Partial<Key>): Array<{input: string; key: Partial<Key>}> {
	if ([...input].length <= 1 || key.ctrl || key.meta) {
		return [{input, key}];
	}

	return [...input].map(char => {
		switch (char) {
			case '\r':
			case '\n': {
				return {input: '', key: {return: true}};
			}

			case '\u007F':
			case '\b': {
				return {input: '', key: {backspace: true}};
			}

			default: {
				// Ctrl-A … Ctrl-Z arrive as the codes 1 … 26.
				const code = char.codePointAt(0)!;
				return code > 0 && code <= 26 ? {input: String.fromCodePoint(code + 96), key: {ctrl: true}} : {input: char, key: {}};
			}
		}
	});
}

/** A text edit by one key: what the value becomes, and whether Enter ended it. */
function edit(value: string, input: string, key: Partial<Key>): {value: string; submit: boolean} {
	if (key.return) {
		return {value, submit: true};
	}

	if (key.backspace || key.delete) {
		return {value: [...value].slice(0, -1).join(''), submit: false};
	}

	if (key.ctrl && input === 'u') {
		return {value: '', submit: false};
	}

	if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) {
		return {value, submit: false};
	}

	return {value: value + input.replaceAll(/[\u0000-\u001F\u007F-\u009F]/g, ''), submit: false};
}

function move(state: WizardState, by: number): WizardState {
	const index = Math.max(0, Math.min(state.steps.length - 1, state.index + by));
	const next: WizardState = {...state, index, line: ''};
	delete next.message;
	delete next.plan;
	return state.steps[index] === 'plan' ? {...next, plan: 'loading'} : next;
}

const without = (requirements: Requirements, key: string): Requirements => {
	const copy = {...requirements};
	delete copy[key];
	return copy;
};

function keyStep(state: WizardState, input: string, key: Partial<Key>): WizardState {
	const step = stepOf(state);
	if (fieldNames.includes(step as FieldName)) {
		const name = step as FieldName;
		const typed = edit(state.fields[name], input, key);
		// An os is lowercase in the tree and in every alias (as metadata.yaml's is taken).
		const value = name === 'os' ? typed.value.toLowerCase() : typed.value;
		const next = {...state, fields: {...state.fields, [name]: value}};
		const taken = name === 'version' && existingVersion(next)?.blocks;
		return typed.submit && !fieldProblem(name, value, state.context.found) && !taken ? move(next, 1) : next;
	}

	switch (step) {
		case 'secureboot': {
			const others = without(state.requirements, 'secureboot');
			if (input === 'y' || input === 'Y') {
				return move({...state, requirements: {...others, secureboot: 'false'}}, 1);
			}

			return input === 'n' || input === 'N' || key.return ? move({...state, requirements: others}, 1) : state;
		}

		case 'requirements':
		case 'aliases': {
			const list = step === 'aliases' ? state.aliases : Object.keys(state.requirements);
			if ((key.backspace || key.delete) && state.line === '' && list.length > 0) {
				// Backspace on an empty line takes back the last one added.
				return step === 'aliases'
					? {...state, aliases: state.aliases.slice(0, -1)}
					: {...state, requirements: Object.fromEntries(Object.entries(state.requirements).slice(0, -1))};
			}

			const {value, submit} = edit(state.line, input, key);
			const next: WizardState = {...state, line: value};
			delete next.message;
			if (!submit) {
				return next;
			}

			if (value === '') {
				return move(next, 1);
			}

			const problem = lineProblem(next);
			if (problem) {
				return {...next, message: problem};
			}

			if (step === 'aliases') {
				return {...next, line: '', aliases: [...state.aliases, value]};
			}

			// A key given again replaces the old value, and becomes the last one added.
			const parsed = parseRequirement(value) as {key: string; value: string};
			return {...next, line: '', requirements: {...without(state.requirements, parsed.key), [parsed.key]: parsed.value}};
		}

		default: {
			const ready = typeof state.plan === 'object' && !('error' in state.plan) && state.plan.problems.length === 0;
			return key.return && ready ? {...state, outcome: 'done'} : state;
		}
	}
}

export function reduce(state: WizardState, action: WizardAction): WizardState {
	if (state.outcome) {
		return state;
	}

	switch (action.type) {
		case 'planned': {
			return stepOf(state) === 'plan' ? {...state, plan: action.plan} : state;
		}

		case 'plan-failed': {
			return stepOf(state) === 'plan' ? {...state, plan: {error: action.error}} : state;
		}

		default: {
			const {input, key} = action;
			if (key.ctrl && input === 'c') {
				return {...state, outcome: 'cancelled'};
			}

			return key.escape ? move(state, -1) : keyStep(state, input, key);
		}
	}
}
