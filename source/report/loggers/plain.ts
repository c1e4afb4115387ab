// A run for everything that is not a terminal: one plain line per finished file, every skip and
// warning with its path, and a summary; with --to, the uploads (publish.ts). No escape codes, ever.
import type {Writable} from 'node:stream';
import type {PipelineEvent} from '../../pipeline/events.js';
import {formatBytes, formatDuration, formatRate} from '../../util/format.js';
import type {Reporter} from '../contract.js';
import {changeLine} from '../changes.js';
import {isPublishEvent} from '../event-kinds.js';
import {lineWriter} from '../../util/printable.js';
import {publishLines} from './publish.js';

/** Bytes of lines held before they are written at once. */
const batchBytes = 64 * 1024;

/**
 * Text for `out`, written in batches: each write to stderr is a system call, and a cold build of
 * 10,000 small versions wrote its 30,000 lines one call each (bench/RESULTS.md). A batch goes out
 * when it is large, once the event loop has had its turn (the stages yield every few milliseconds),
 * when `flush` is called, and at the process's exit.
 */
function batched(out: Writable): {write: (text: string) => boolean; flush: () => void} {
	let pending = '';
	const flush = () => {
		process.off('exit', flush);
		if (pending !== '') {
			const text = pending;
			pending = '';
			out.write(text);
		}
	};

	return {
		write(text) {
			if (pending === '') {
				setImmediate(flush);
				process.once('exit', flush);
			}

			pending += text;
			if (pending.length >= batchBytes) {
				flush();
			}

			return true;
		},
		flush,
	};
}

/** `plan`: where a dry run says what it would send to a bucket (stdout), `out` when unset. */
export function plainReporter(out: Writable, options: {write: boolean; plan?: Writable}): Reporter {
	let cached = 0;
	let hashedBytes = 0;
	let deltasReused = 0;
	let saved: Extract<PipelineEvent, {type: 'cache-saved'}> | undefined;
	const batch = batched(out);
	const line = lineWriter(batch);
	// What goes to the other stream waits for the lines before it, as the operator's terminal shows both.
	const planLine = options.plan && lineWriter(options.plan);
	const publishing = publishLines(line, planLine ? (text: string) => {
		batch.flush();
		planLine(text);
	} : line, !options.write);
	const describe = (event: PipelineEvent): string | string[] | undefined => {
		switch (event.type) {
			case 'scanned': {
				return `scanned ${event.products} products, ${event.versions} versions, ${event.files} files (${formatBytes(event.bytes)})`;
			}

			case 'skipped': {
				return `skipped ${event.scope} ${event.path}: ${event.reason}`;
			}

			case 'warning': {
				return `warning ${event.path}: ${event.message}`;
			}

			case 'cached': {
				cached++;
				return undefined;
			}

			case 'hashed': {
				// The file's size, not the hashing work: a rootfs read by two digests is still one file of its size.
				hashedBytes += event.size;
				return `hashed ${event.path} (${formatBytes(event.size)}, ${formatRate(event.size, event.milliseconds)})`;
			}

			case 'hash-finished': {
				return `hashing done: ${event.files} files, ${formatBytes(hashedBytes)} in ${formatDuration(event.milliseconds)} (${formatRate(hashedBytes, event.milliseconds)})`;
			}

			case 'delta-made': {
				return `delta ${event.path} (${formatBytes(event.size)}, ${Math.round(event.fraction * 100)}% of the full file, made and checked in ${formatDuration(event.milliseconds)})`;
			}

			case 'delta-checked': {
				return `checked delta ${event.path} (${formatDuration(event.milliseconds)})`;
			}

			case 'delta-reused': {
				deltasReused++;
				return undefined;
			}

			case 'delta-skipped': {
				return `${event.problem ? 'skipped delta' : 'no delta'} ${event.path}: ${event.reason}`;
			}

			case 'cataloged': {
				const reused = [cached > 0 ? `${cached} digests` : '', deltasReused > 0 ? `${deltasReused} delta${deltasReused === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and ');
				const reuse = reused ? ` (${reused} reused from cache)` : '';
				const summary = `catalog: ${event.products} products, ${event.versions} versions; ${event.images.lxd} images for LXD, ${event.images.incus} for Incus${reuse}`;
				return options.write ? summary : [summary, 'dry run: nothing written (add -N to publish)'];
			}

			case 'cache-saved': {
				saved = event;
				return undefined;
			}

			case 'written': {
				return `${event.changed ? 'wrote' : 'unchanged'} ${event.path}`;
			}

			case 'damaged': {
				return `damaged ${event.path} (${event.messages.length} problem${event.messages.length === 1 ? '' : 's'}): ${event.next}`;
			}

			case 'versions-changed': {
				return `${options.write ? 'changes' : 'would change'}: ${changeLine(event.added, event.removed)}`;
			}

			case 'retired': {
				return `${options.write ? 'retired' : 'would retire'} ${event.path} (${formatBytes(event.bytes)}): ${event.why}; files deleted after ${event.deleteAfter}`;
			}

			case 'retirement-pending': {
				return `retired ${event.path} (${formatBytes(event.bytes)}): files deleted after ${event.deleteAfter}`;
			}

			case 'deleted': {
				return `${options.write ? 'deleted' : 'would delete'} ${event.path}: ${event.files} files (${formatBytes(event.bytes)})`;
			}

			case 'restored': {
				return `${options.write ? 'restored' : 'would restore'} ${event.path}`;
			}

			default: {
				return undefined;
			}
		}
	};

	return {
		emit(event) {
			if (isPublishEvent(event)) {
				publishing.emit(event);
				return;
			}

			const text = describe(event);
			if (typeof text === 'string') {
				line(text);
			} else if (text) {
				text.forEach(line);
			}
		},
		cancel() {
			line(publishing.sending ? 'cancelling: aborting the upload (Ctrl-C again quits at once)' : 'cancelling: stopping the hash workers (Ctrl-C again quits at once)');
		},
		async finish(outcome) {
			if (outcome === 'cancelled' && publishing.sending) {
				line('cancelled: the bucket\'s streams are as they were');
			} else if (outcome === 'cancelled') {
				line(`cancelled: nothing written${saved ? `; the digest cache keeps what finished (${saved.path})` : ''}`);
			}

			batch.flush();
		},
	};
}
