// The reporter for everything that is not a terminal: one plain line per finished file, every
// skip and warning with its path, and a summary. No escape codes, ever.
import type {Writable} from 'node:stream';
import type {Emit, PipelineEvent} from '../pipeline/events.js';
import {formatBytes, formatDuration, formatRate} from '../util/format.js';

export type Outcome = 'done' | 'cancelled' | 'failed';

/** What the command drives, in a terminal or not: events in, then a cancel request and an outcome. */
export type Reporter = {
	emit: Emit;
	/** The operator asked to stop: workers are being stopped. */
	cancel(): void;
	/** The run is over; the terminal is back to normal when this resolves. */
	finish(outcome: Outcome): Promise<void>;
};

/** Names come from the disk: control characters in one would drive the terminal. */
export const printable = (text: string) => text.replaceAll(/[\u0000-\u001F\u007F-\u009F\u2028-\u202E\u2066-\u2069]/g, '?');

export type PlainReporter = Reporter & {problems: () => number};

export function plainReporter(out: Writable, options: {write: boolean}): PlainReporter {
	let problems = 0;
	let cached = 0;
	let deltasReused = 0;
	let saved: Extract<PipelineEvent, {type: 'cache-saved'}> | undefined;
	const line = (text: string) => out.write(`${text}\n`);
	const describe = (event: PipelineEvent): string | undefined => {
		switch (event.type) {
			case 'scanned': {
				return `scanned ${event.products} products, ${event.versions} versions, ${event.files} files (${formatBytes(event.bytes)})`;
			}

			case 'skipped': {
				problems++;
				return `skipped ${event.scope} ${printable(event.path)}: ${printable(event.reason)}`;
			}

			case 'warning': {
				problems++;
				return `warning ${printable(event.path)}: ${printable(event.message)}`;
			}

			case 'cached': {
				cached++;
				return undefined;
			}

			case 'hashed': {
				return `hashed ${printable(event.path)} (${formatBytes(event.work)}, ${formatRate(event.work, event.milliseconds)})`;
			}

			case 'hash-finished': {
				return `hashing done: ${event.files} files, ${formatBytes(event.bytes)} in ${formatDuration(event.milliseconds)} (${formatRate(event.bytes, event.milliseconds)})`;
			}

			case 'delta-made': {
				return `delta ${printable(event.path)} (${formatBytes(event.size)}, ${Math.round(event.fraction * 100)}% of the full file, made and checked in ${formatDuration(event.milliseconds)})`;
			}

			case 'delta-checked': {
				return `checked delta ${printable(event.path)} (${formatDuration(event.milliseconds)})`;
			}

			case 'delta-reused': {
				deltasReused++;
				return undefined;
			}

			case 'delta-skipped': {
				problems += event.problem ? 1 : 0;
				return `${event.problem ? 'skipped delta' : 'no delta'} ${printable(event.path)}: ${printable(event.reason)}`;
			}

			case 'cataloged': {
				const reused = [cached > 0 ? `${cached} digests` : '', deltasReused > 0 ? `${deltasReused} delta${deltasReused === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and ');
				const reuse = reused ? ` (${reused} reused from cache)` : '';
				return `catalog: ${event.products} products, ${event.versions} versions; ${event.images.lxd} images for LXD, ${event.images.incus} for Incus${reuse}`
					+ (options.write ? '' : '\ndry run: nothing written (add -N to publish)');
			}

			case 'cache-saved': {
				saved = event;
				return undefined;
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
		cancel() {
			line('cancelling: stopping the hash workers (Ctrl-C again quits at once)');
		},
		async finish(outcome) {
			if (outcome === 'cancelled') {
				line(`cancelled: nothing written${saved ? `; the digest cache keeps what finished (${printable(saved.path)})` : ''}`);
			}
		},
		problems: () => problems,
	};
}
