// An import off a terminal: one plain line per file placed, then the outcome.
import type {Writable} from 'node:stream';
import {formatBytes, formatDuration, formatRate} from '../../util/format.js';
import type {ImportReporter} from '../contract.js';
import {lineWriter} from '../../util/printable.js';

export function plainImportReporter(out: Writable): ImportReporter {
	const line = lineWriter(out);
	return {
		emit(event) {
			switch (event.type) {
				case 'file-done': {
					const {name, size, milliseconds} = event;
					line(event.method === 'rename'
						? `moved ${name} (${formatBytes(size)})`
						: `copied ${name} (${formatBytes(size)} in ${formatDuration(milliseconds)}, ${formatRate(size, milliseconds)}), verified`);
					break;
				}

				case 'placed': {
					line(`${event.replaced ? 'replaced' : 'imported'} ${event.destination}`);
					break;
				}

				case 'warning': {
					line(`warning: ${event.message}`);
					break;
				}

				default:
			}
		},
		finish: async () => undefined,
	};
}
