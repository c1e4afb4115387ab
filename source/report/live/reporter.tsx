// The terminal reporter: events fold into the model as they come (cheap, no React), and a timer
// draws the model at a bounded rate, so rendering never holds up the hashing. The live screen is
// the terminal's alternate screen, like a pager's: a resize (which makes terminals reflow what is
// on screen) is a clean redraw, and the final frame is printed where the command was typed.
import {render, useInput, type Key} from 'ink';
import type {Reporter} from '../plain.js';
import {frame, type Line} from './layout.js';
import {LiveModel} from './model.js';
import {paint, Screen} from './Screen.js';

const alternate = {enter: '\u001B[?1049h\u001B[H', leave: '\u001B[?1049l', clear: '\u001B[2J\u001B[H'};

export type LiveOptions = {
	/** A terminal; stderr, so stdout stays clean for images.json. */
	out: NodeJS.WriteStream;
	/** A terminal to read keys from; without one there are no keys (raw mode needs a TTY). */
	input?: NodeJS.ReadStream;
	write: boolean;
	/** simplestreams verify: nothing is published, and the report follows the final frame. */
	verify?: boolean;
	jobs: number;
	/** q or Ctrl-C: the command aborts the run. */
	onCancel: () => void;
	/** Frames per second: a frame costs Ink 3-8 ms, so 6 keeps drawing to a few percent of one core. */
	fps?: number;
};

function Keys({onKey}: {onKey: (input: string, key: Key) => void}) {
	useInput(onKey);
	return null;
}

export function liveReporter(options: LiveOptions): Reporter {
	const {out, input} = options;
	const model = new LiveModel({write: options.write, jobs: options.jobs, verify: options.verify});
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
			options.onCancel();
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
	function draw() {
		const now = performance.now();
		// One line less than the screen: a frame as tall as the screen makes Ink clear it every time.
		const drawn = frame(model, {width: out.columns || 80, height: (out.rows || 24) - 1, now, scroll, keys: input !== undefined});
		if (scroll !== undefined) {
			scroll = drawn.start;
		}

		lines = drawn.lines;
		instance.rerender(screen(lines));
	}

	// Ink erases its last frame by moving up as many lines as it wrote, which a reflowed screen no
	// longer matches: start from a blank screen instead (moving up from its top line is harmless).
	const resized = () => {
		out.write(alternate.clear);
		draw();
	};

	const timer = setInterval(draw, 1000 / (options.fps ?? 6)).unref();
	out.on('resize', resized);
	draw();
	return {
		emit(event) {
			model.apply(event, performance.now());
		},
		cancel() {
			model.cancel();
			draw();
		},
		async finish(outcome) {
			clearInterval(timer);
			out.off('resize', resized);
			model.finish(outcome, performance.now());
			// Browsing or not, the frame that stays is the folded tree with the summary.
			scroll = undefined;
			draw();
			instance.unmount();
			await instance.waitUntilExit();
			process.off('exit', leave);
			leave();
			out.write(`${lines.map(line => paint(line)).join('\n')}\n`);
		},
	};
}
