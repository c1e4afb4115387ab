// The import wizard: each proposed field to accept or edit (checked as it is typed), then the
// requirements, the extra aliases, and the plan to confirm. Esc goes back a step; Ctrl-C leaves.
import {Box, Text, useInput} from 'ink';
import {useEffect, useReducer} from 'react';
import {printable} from '../../util/printable.js';
import {formatBytes} from '../../util/format.js';
import {describePlan, type ImportPlan} from '../plan.js';
import {fieldNames, fieldProblem, productId, type Choices, type FieldName, type Fields} from '../propose.js';
import {ownAliases} from '../destination.js';
import {choicesOf, existingVersion, initialState, keysOf, lineProblem, reduce, stepOf, type WizardContext, type WizardState} from './state.js';

export type WizardProps = {
	context: WizardContext;
	given: Parameters<typeof initialState>[1];
	root: string;
	write: boolean;
	prepare: (choices: Choices) => Promise<ImportPlan>;
	onDone: (plan: ImportPlan) => void;
	onCancel: () => void;
};

const Cursor = () => <Text inverse> </Text>;

function Sources({context}: {context: WizardContext}) {
	const {meta, roots, dir} = context.found;
	const description = meta.metadata.properties.description;
	return (
		<>
			<Text bold>Import from {printable(dir)}</Text>
			<Text>  metadata  {printable(meta.name)} ({meta.content}, {formatBytes(meta.size)}){description ? `: ${printable(description)}` : ''}</Text>
			{roots.map(root => <Text key={root.name}>  rootfs    {printable(root.name)} ({root.content}, {formatBytes(root.size)})</Text>)}
		</>
	);
}

function FieldRows({state}: {state: WizardState}) {
	const step = stepOf(state);
	return (
		<Box flexDirection="column" marginTop={1}>
			{fieldNames.map((name, index) => {
				const value = state.fields[name];
				const current = name === step;
				const problem = fieldProblem(name, value, state.context.found);
				const taken = name === 'version' && index <= state.index ? existingVersion(state) : undefined;
				return (
					<Box key={name} flexDirection="column">
						<Text>
							{current ? <Text color="cyan">› </Text> : index < state.index ? <Text color="green">✔ </Text> : '  '}
							{name.padEnd(8)} {value}{current && <Cursor/>}
						</Text>
						{current && problem && <Text color="red">    ✖ {problem}</Text>}
						{!problem && taken && (taken.blocks
							? <Text color="red">    ✖ {taken.path} exists: type another version (--force replaces it)</Text>
							: <Text color="yellow">    ! {taken.path} exists: --force replaces it</Text>)}
					</Box>
				);
			})}
		</Box>
	);
}

/** A list step: what there is, what was added, and the line being typed. */
function ListStep({state, title, existing, added, example}: {state: WizardState; title: string; existing: string[]; added: string[]; example: string}) {
	const problem = state.message ?? lineProblem(state);
	return (
		<Box flexDirection="column" marginTop={1}>
			<Text bold>{title}</Text>
			{existing.length > 0 && <Text>  already: {existing.join(', ')}</Text>}
			{added.length > 0 && <Text color="green">  adding:  {added.join(', ')}</Text>}
			<Text><Text color="cyan">› </Text>{state.line}<Cursor/>{state.line === '' && <Text dimColor> (e.g. {example})</Text>}</Text>
			{problem && <Text color="red">    ✖ {problem}</Text>}
			<Text dimColor>Enter adds the line; an empty line goes on. Backspace on an empty line takes back the last one.</Text>
		</Box>
	);
}

function PlanStep({state, write}: {state: WizardState; write: boolean}) {
	const {plan} = state;
	if (plan === undefined || plan === 'loading') {
		return <Text>Planning…</Text>;
	}

	if ('error' in plan) {
		return <Text color="red">✖ {plan.error}</Text>;
	}

	return (
		<Box flexDirection="column" marginTop={1}>
			<Text bold>Plan</Text>
			{describePlan(plan).map((line, index) => <Text key={index} color={line.startsWith('problem:') ? 'red' : undefined}>{line}</Text>)}
			<Text color={plan.problems.length > 0 ? 'red' : 'green'}>
				{plan.problems.length > 0 ? 'Esc: go back and change it' : write ? 'Enter: import' : 'Enter: finish (dry run: nothing is changed; add -N to import)'}
			</Text>
		</Box>
	);
}

function Current({state, write}: {state: WizardState; write: boolean}) {
	const {fields, context, requirements, aliases} = state;
	const step = stepOf(state);
	const own = (f: Fields) => context.products.find(p => p.ref.id === productId(f));
	switch (step) {
		case 'secureboot': {
			return (
				<Box flexDirection="column" marginTop={1}>
					<Text bold>This image has a VM disk. Must secure boot be off to start it (requirement secureboot=false)?</Text>
					<Text>  y: yes, the VM is not signed for secure boot · n or Enter: no</Text>
				</Box>
			);
		}

		case 'requirements': {
			const existing = Object.entries(own(fields)?.requirements ?? {}).map(([k, v]) => `${k}=${v}`);
			return <ListStep state={state} title="Requirements for the product (key=value)" existing={existing} added={Object.entries(requirements).map(([k, v]) => `${k}=${v}`)} example="nesting=true"/>;
		}

		case 'aliases': {
			return <ListStep state={state} title="Extra aliases (the product has its default ones already)" existing={ownAliases(context.products, fields)} added={aliases} example={`${fields.os}/lts`}/>;
		}

		case 'plan': {
			return <PlanStep state={state} write={write}/>;
		}

		default: {
			return null;
		}
	}
}

export function Wizard(props: WizardProps) {
	const {context, prepare, onDone, onCancel, write} = props;
	const [state, dispatch] = useReducer(reduce, undefined, () => initialState(context, props.given));
	useInput((input, key) => {
		for (const one of keysOf(input, key)) {
			dispatch({type: 'key', ...one});
		}
	});
	const loading = state.plan === 'loading';
	useEffect(() => {
		if (!loading) {
			return;
		}

		// A plan that arrives after the operator went back is for choices that no longer hold.
		let stale = false;
		prepare(choicesOf(state)).then(
			plan => !stale && dispatch({type: 'planned', plan}),
			(error: unknown) => !stale && dispatch({type: 'plan-failed', error: (error as Error).message}),
		);
		return () => {
			stale = true;
		};
	}, [loading, state.index]);
	useEffect(() => {
		if (state.outcome === 'done') {
			onDone(state.plan as ImportPlan);
		} else if (state.outcome === 'cancelled') {
			onCancel();
		}
	}, [state.outcome]);

	if (state.outcome) {
		return null;
	}

	return (
		<Box flexDirection="column">
			<Sources context={context}/>
			<FieldRows state={state}/>
			<Current state={state} write={write}/>
			<Text dimColor>{fieldNames.includes(stepOf(state) as FieldName) ? 'Enter: accept · ' : ''}{state.index > 0 ? 'Esc: back · ' : ''}Ctrl-C: quit, changing nothing</Text>
		</Box>
	);
}
