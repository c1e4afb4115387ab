// An import's files in a terminal: a bar per file as it is moved or copied, on stderr.
import {Box, render, Text} from 'ink';
import type {ImportEvent} from '../../import/execute.js';
import type {ImportPlan} from '../../import/plan.js';
import {formatBytes} from '../../util/format.js';
import type {ImportReporter} from '../contract.js';
import {printable} from '../../util/printable.js';

type Row = {name: string; size: number; copy: boolean; phase: 'copy' | 'verify' | 'hash' | 'waiting'; done: number; finished: boolean};

const barWidth = 30;

const phaseText = {copy: 'copying', verify: 'verifying', hash: 'hashing', waiting: 'waiting'};

export function Progress({rows, lines}: {rows: Row[]; lines: string[]}) {
	return (
		<Box flexDirection="column">
			{rows.map(row => {
				// A copy is read twice (copied, then verified); a moved file once (hashed).
				const work = row.size * (row.copy ? 2 : 1);
				const done = row.finished ? work : row.done + (row.phase === 'verify' ? row.size : 0);
				const fraction = work === 0 ? 1 : Math.min(1, done / work);
				const filled = Math.round(fraction * barWidth);
				return (
					<Text key={row.name}>
						{row.name.padEnd(16)} <Text color={row.finished ? 'green' : 'cyan'}>{'█'.repeat(filled)}</Text>{'░'.repeat(barWidth - filled)}
						{' '}{String(Math.floor(fraction * 100)).padStart(3)}%  {formatBytes(row.size)}  {row.finished ? (row.copy ? 'copied, verified' : 'moved') : phaseText[row.phase]}
					</Text>
				);
			})}
			{lines.map((line, index) => <Text key={index}>{line}</Text>)}
		</Box>
	);
}

/** A bar per file: a copy is copied, then hashed with its source and compared; a moved file hashed. */
export function progressReporter(plan: ImportPlan): ImportReporter {
	const rows: Row[] = plan.files.map(f => ({name: f.name, size: f.source.size, copy: f.method !== 'rename', phase: 'waiting', done: 0, finished: false}));
	const lines: string[] = [];
	const app = render(<Progress rows={rows} lines={lines}/>, {stdout: process.stderr, patchConsole: false});
	const update = (event: ImportEvent) => {
		const row = 'name' in event ? rows.find(r => r.name === event.name) : undefined;
		if (event.type === 'file-progress' && row) {
			row.phase = event.phase;
			row.done = event.done;
		} else if (event.type === 'file-done' && row) {
			row.finished = true;
		} else if (event.type === 'placed') {
			lines.push(printable(`${event.replaced ? 'replaced' : 'imported'} ${event.destination}`));
		} else if (event.type === 'warning') {
			lines.push(printable(`warning: ${event.message}`));
		}

		app.rerender(<Progress rows={[...rows]} lines={[...lines]}/>);
	};

	return {
		emit: update,
		async finish() {
			// Asked before the unmount, as reporter.tsx does (why there).
			const exited = app.waitUntilExit();
			app.unmount();
			await exited;
		},
	};
}
