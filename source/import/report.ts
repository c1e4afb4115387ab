// Import progress off a terminal: one plain line per file placed, then the outcome.
import type {Writable} from 'node:stream';
import {formatBytes, formatDuration, formatRate} from '../util/format.js';
import type {ImportEmit} from './execute.js';

export type ImportReporter = {emit: ImportEmit; finish(): Promise<void>};

export function plainImportReporter(out: Writable): ImportReporter {
	return {
		emit(event) {
			switch (event.type) {
				case 'file-done': {
					const {name, size, milliseconds} = event;
					out.write(event.method === 'rename'
						? `moved ${name} (${formatBytes(size)})\n`
						: `copied ${name} (${formatBytes(size)} in ${formatDuration(milliseconds)}, ${formatRate(size, milliseconds)}), verified\n`);
					break;
				}

				case 'placed': {
					out.write(`${event.replaced ? 'replaced' : 'imported'} ${event.destination}\n`);
					break;
				}

				case 'warning': {
					out.write(`warning: ${event.message}\n`);
					break;
				}

				default:
			}
		},
		finish: async () => undefined,
	};
}
