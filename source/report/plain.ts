// The reporter for everything that is not a terminal: one plain line per finished file, every
// skip and warning with its path, and a summary. No escape codes, ever.
import type {Writable} from 'node:stream';
import type {Emit, PipelineEvent} from '../pipeline/events.js';
import {formatBytes, formatDuration, formatRate} from '../util/format.js';

export type PlainReporter = {emit: Emit; problems: () => number};

export function plainReporter(out: Writable, options: {write: boolean}): PlainReporter {
	let problems = 0;
	let cached = 0;
	const line = (text: string) => out.write(`${text}\n`);
	const describe = (event: PipelineEvent): string | undefined => {
		switch (event.type) {
			case 'scanned': {
				return `scanned ${event.products} products, ${event.versions} versions, ${event.files} files (${formatBytes(event.bytes)})`;
			}

			case 'skipped': {
				problems++;
				return `skipped ${event.scope} ${event.path}: ${event.reason}`;
			}

			case 'warning': {
				problems++;
				return `warning ${event.path}: ${event.message}`;
			}

			case 'cached': {
				cached++;
				return undefined;
			}

			case 'hashed': {
				return `hashed ${event.path} (${formatBytes(event.work)}, ${formatRate(event.work, event.milliseconds)})`;
			}

			case 'hash-finished': {
				return `hashing done: ${event.files} files, ${formatBytes(event.bytes)} in ${formatDuration(event.milliseconds)} (${formatRate(event.bytes, event.milliseconds)})`;
			}

			case 'cataloged': {
				const reuse = cached > 0 ? ` (${cached} digests reused from cache)` : '';
				return `catalog: ${event.products} products, ${event.versions} versions; ${event.images.lxd} images for LXD, ${event.images.incus} for Incus${reuse}`
					+ (options.write ? '' : '\ndry run: nothing written (add -N to publish)');
			}

			case 'written': {
				return `${event.changed ? 'wrote' : 'unchanged'} ${event.path}`;
			}

			default: {
				return undefined;
			}
		}
	};

	return {
		emit(event) {
			const text = describe(event);
			if (text !== undefined) {
				line(text);
			}
		},
		problems: () => problems,
	};
}
