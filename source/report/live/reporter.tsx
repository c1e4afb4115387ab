// The terminal reporter: events fold into the model as they come (cheap, no React), and a timer
// draws the model at a bounded rate, so rendering never holds up the hashing. The live screen is
// the terminal's alternate screen, like a pager's: a resize (which makes terminals reflow what is
// on screen) is a clean redraw, and the final frame is printed where the command was typed.
import type {Writable} from 'node:stream';
import {render, useInput, type Key} from 'ink';
import type {PipelineEvent} from '../../pipeline/events.js';
import type {WatchEvent} from '../../watch/events.js';
import type {Outcome, Reporter, WatchReporter} from '../contract.js';
import {isMirrorEvent, isPublishEvent} from '../event-kinds.js';
import type {MirrorLogEvent} from '../loggers/mirror.js';
import {publishLines} from '../loggers/publish.js';
import {lineWriter} from '../../util/printable.js';
import {Downloads} from './downloads.js';
import {frame, type Frame, type Line} from './layout.js';
import {frameGap, threadCpuMs} from './pace.js';
import {LiveModel} from './state.js';
import {paint, Screen} from './Screen.js';
import {Uploads} from './uploads.js';
import {WatchStatus} from './watch-status.js';

const alternate = {enter: '\u001B[?1049h\u001B[H', leave: '\u001B[?1049l', clear: '\u001B[2J\u001B[H'};

export type LiveOptions = {
	/** A terminal; stderr, so stdout stays clean for images.json. */
	out: NodeJS.WriteStream;
	/** A terminal to read keys from; without one there are no keys (raw mode needs a TTY). */
	input?: NodeJS.ReadStream;
	write: boolean;
	/** simplestreams verify: nothing is published, and the report follows the final frame. */
	verify?: boolean;
	/** The web root, for the header before (or without) a scan that names it. */
	root?: string;
	/** A dry run's images.json goes to stdout. */
	streamsOut?: boolean;
	/** Where a dry run's plan for a bucket (--to) is printed once the screen is closed: stdout. */
	plan?: Writable;
	jobs: number;
	/** q or Ctrl-C: the command aborts the run. */
	onCancel: () => void;
	/** The most frames a second: 6. Fewer when frames are dear (see pace.ts). */
	fps?: number;
};

function Keys({onKey}: {onKey: (input: string, key: Key) => void}) {
	useInput(onKey);
	return null;
}

/** The live screen, drawing whatever `draw` lays out; shared by a run's reporter and the watcher's. */
type Surface = {
	/** Lay out and draw now. */
	draw(): void;
	/** Draw the frame that stays (followed, not browsed), leave the screen and print that frame. */
	close(): Promise<void>;
};

type SurfaceOptions = {
	out: NodeJS.WriteStream;
	input?: NodeJS.ReadStream;
	fps?: number;
	onQuit: () => void;
	/** The frame for this size, browsing from `scroll` (undefined follows). */
	layout: (size: {width: number; height: number; keys: boolean}, scroll: number | undefined) => Frame;
	/** On a timer tick: whether to draw (skipping a tick keeps an idle screen at no cost). */
	due?: () => boolean;
};

function surface(options: SurfaceOptions): Surface {
	const {out, input} = options;
	/** The first row shown while browsing; undefined follows the hashing. */
	let scroll: number | undefined;
	const page = () => Math.max(1, (out.rows || 24) - 10);
	const onKey = (text: string, key: Key) => {
		if (text.length > 1) {
			// Keys typed faster than a frame arrive together.
			for (const one of text) {
				onKey(one, key);
			}

			return;
		}

		if (text === 'q' || (key.ctrl && text === 'c')) {
			options.onQuit();
			return;
		}

		const move = key.upArrow || text === 'k' ? -1 : key.downArrow || text === 'j' ? 1
			: key.pageUp ? -page() : key.pageDown || text === ' ' ? page() : 0;
		if (move !== 0) {
			scroll = Math.max(0, (scroll ?? 0) + move);
		} else if (key.home || text === 'g') {
			scroll = 0;
		} else if (key.end || text === 'G') {
			scroll = Number.MAX_SAFE_INTEGER; // The frame stops it at the last row.
		} else if (key.escape || text === 'f') {
			scroll = undefined;
		} else {
			return;
		}

		draw();
	};

	const screen = (lines: readonly Line[]) => (
		<>
			{input && <Keys onKey={onKey}/>}
			<Screen lines={lines}/>
		</>
	);
	const leave = () => out.write(alternate.leave);
	out.write(alternate.enter);
	process.once('exit', leave); // However the process ends, the shell gets its screen back.
	const instance = render(screen([]), {stdout: out, stderr: out, ...(input ? {stdin: input} : {}), exitOnCtrlC: false, patchConsole: false});
	let lines: Line[] = [];
	const interval = 1000 / (options.fps ?? 6);
	let nextFrame = 0;
	/** A frame's CPU cost, smoothed: the clock ticks it is counted in are coarser than a cheap frame. */
	let cost: number | undefined;
	function draw() {
		const started = performance.now();
		const cpu = threadCpuMs();
		// One line less than the screen: a frame as tall as the screen makes Ink clear it every time.
		const drawn = options.layout({width: out.columns || 80, height: (out.rows || 24) - 1, keys: input !== undefined}, scroll);
		if (scroll !== undefined) {
			scroll = drawn.start;
		}

		lines = drawn.lines;
		instance.rerender(screen(lines));
		const now = threadCpuMs();
		const spent = cpu === undefined || now === undefined ? performance.now() - started : now - cpu;
		cost = cost === undefined ? spent : (0.7 * cost) + (0.3 * spent);
		nextFrame = started + frameGap(cost, interval);
	}

	// Ink erases its last frame by moving up as many lines as it wrote, which a reflowed screen no
	// longer matches: start from a blank screen instead (moving up from its top line is harmless).
	const resized = () => {
		out.write(alternate.clear);
		draw();
	};

	// Keys and resizes draw at once; the timer only when the last frame's cost allows.
	const timer = setInterval(() => {
		if (performance.now() >= nextFrame && (options.due?.() ?? true)) {
			draw();
		}
	}, interval).unref();
	out.on('resize', resized);
	draw();
	return {
		draw,
		async close() {
			clearInterval(timer);
			out.off('resize', resized);
			// Browsing or not, the frame that stays is the folded tree with the summary.
			scroll = undefined;
			draw();
			// Asked before the unmount: asked after, Ink makes the promise anew and listens for
			// beforeExit to unmount an app already gone, a listener nothing ever removes.
			const exited = instance.waitUntilExit();
			instance.unmount();
			await exited;
			process.off('exit', leave);
			leave();
			out.write(`${lines.map(line => paint(line)).join('\n')}\n`);
		},
	};
}

/**
 * --to: the uploads under the tree, once the local root is published. A stop while they go up
 * aborts them: the tree's run is done, the uploads say they were cancelled. A dry run's plan (the
 * lines the plain reporter prints) is kept for `plan`, printed when the screen is closed.
 */
function bucketView(write: boolean, plan?: Writable) {
	const uploads = new Uploads(!write);
	const planned: string[] = [];
	const lines = publishLines(() => undefined, text => planned.push(text), !write);
	return {
		uploads,
		apply(event: Parameters<typeof uploads.apply>[0], now: number) {
			uploads.apply(event, now);
			lines.emit(event);
		},
		/** How the tree's run ended, given how the whole run did. */
		treeOutcome(outcome: Outcome): Outcome {
			if (outcome === 'cancelled' && uploads.sending) {
				uploads.outcome = 'cancelled';
				return 'done';
			}

			uploads.outcome = outcome;
			return outcome;
		},
		printPlan() {
			if (plan && planned.length > 0) {
				const line = lineWriter(plan);
				for (const text of planned.splice(0)) {
					line(text);
				}
			}
		},
	};
}

export function liveReporter(options: LiveOptions): Reporter {
	const model = new LiveModel({write: options.write, jobs: options.jobs, verify: options.verify, streamsOut: options.streamsOut, root: options.root});
	const bucket = bucketView(options.write, options.plan);
	const screen = surface({...options, onQuit: options.onCancel, layout(size, scroll) {
		const now = performance.now();
		const uploads = bucket.uploads.lines(size.width, now);
		// Status lines take the place of the keys' hint: only once there are uploads to show.
		return frame(model, {...size, now, scroll, ...(uploads.length > 0 ? {status: uploads} : {})});
	}});
	return {
		emit(event) {
			if (isPublishEvent(event)) {
				bucket.apply(event, performance.now());
			} else {
				model.apply(event, performance.now());
			}
		},
		cancel() {
			if (bucket.uploads.sending) {
				bucket.uploads.cancelling = true;
			} else {
				model.cancel();
			}

			screen.draw();
		},
		async finish(outcome) {
			model.finish(bucket.treeOutcome(outcome), performance.now());
			await screen.close();
			bucket.printPlan();
		},
	};
}

export type LiveMirrorOptions = Pick<LiveOptions, 'out' | 'input' | 'jobs' | 'fps' | 'onCancel'>;

/**
 * mirror -N in a terminal: the downloads until the publishing starts, then the publishing's tree
 * with what the downloads came to under it.
 */
export function liveMirror(options: LiveMirrorOptions): Reporter<MirrorLogEvent> {
	const downloads = new Downloads();
	const bucket = bucketView(true);
	let model: LiveModel | undefined;
	const screen = surface({
		...options,
		onQuit: options.onCancel,
		layout(size, scroll) {
			const now = performance.now();
			return model ? frame(model, {...size, now, scroll, status: [...downloads.summary(), ...bucket.uploads.lines(size.width, now)]}) : {lines: downloads.lines(size.width, size.height, now), start: 0};
		},
	});
	return {
		emit(event) {
			if (isMirrorEvent(event)) {
				downloads.apply(event, performance.now());
			} else if (isPublishEvent(event)) {
				bucket.apply(event, performance.now());
			} else {
				model ??= new LiveModel({write: true, jobs: options.jobs});
				model.apply(event, performance.now());
			}
		},
		cancel() {
			if (bucket.uploads.sending) {
				bucket.uploads.cancelling = true;
			} else {
				model?.cancel();
			}

			screen.draw();
		},
		async finish(outcome) {
			downloads.outcome = outcome;
			model?.finish(bucket.treeOutcome(outcome), performance.now());
			await screen.close();
		},
	};
}

export type LiveWatchOptions = Pick<LiveOptions, 'out' | 'input' | 'jobs' | 'fps'> & {
	/** q or Ctrl-C: the command stops the watcher (as SIGINT does). */
	onQuit: () => void;
};

/** Pipeline events of a regeneration go to its tree; the watcher's own to the status. */
const watchOnly = new Set<WatchEvent['type']>(['watching', 'regenerating', 'regenerated', 'regeneration-failed', 'rescan', 'root-missing', 'root-back', 'stopped']);

/**
 * `--watch` in a terminal: the tree of the current (or last) regeneration, a new one at each, and
 * the watcher's status under it. Between regenerations nothing moves but the clock: the timer then
 * draws only after an event or once a second, so a watcher idle for weeks costs no CPU to speak of.
 */
export function liveWatch(options: LiveWatchOptions): WatchReporter {
	const newModel = () => new LiveModel({write: true, jobs: options.jobs});
	let model = newModel();
	const bucket = bucketView(true);
	const status = new WatchStatus();
	let changed = true;
	let drawn = 0;
	const screen = surface({
		...options,
		layout(size, scroll) {
			changed = false;
			drawn = Date.now();
			const now = performance.now();
			return frame(model, {...size, now, scroll, status: [...bucket.uploads.lines(size.width, now), ...status.lines(Date.now(), size.keys)]});
		},
		// Spinners and bars move while a regeneration runs or its tree is sent on.
		due: () => changed || (model.started !== undefined && model.outcome === undefined) || bucket.uploads.sending || Date.now() - drawn >= 1000,
	});
	return {
		emit(event) {
			changed = true;
			if (isPublishEvent(event)) {
				bucket.apply(event, performance.now());
				return;
			}

			if (!watchOnly.has(event.type)) {
				model.apply(event as PipelineEvent, performance.now());
				return;
			}

			status.apply(event, Date.now());
			if (event.type === 'regenerating') {
				model = newModel();
			} else if (event.type === 'regenerated' || event.type === 'regeneration-failed') {
				model.finish(event.type === 'regenerated' ? 'done' : 'failed', performance.now());
			} else if (event.type === 'stopped' && model.started !== undefined && !model.outcome) {
				model.finish(bucket.treeOutcome('cancelled'), performance.now()); // Stopped mid-regeneration: its hashing, or its upload, was aborted.
			}
		},
		close: async () => screen.close(),
	};
}
