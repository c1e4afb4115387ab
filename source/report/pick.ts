// Which reporter a run gets: the live tree on a terminal, plain lines everywhere else. The live
// bundle takes ~0.1 s of CPU to load: the run starts at once and the tree takes over when it is in,
// with every event so far passed on in order, so a short job does not wait for its screen.
import type {PipelineEvent} from '../pipeline/events.js';
import {plainReporter, type Outcome, type Reporter} from './plain.js';

/** CI as Ink itself (is-in-ci) tells it: there Ink would draw nothing until the end. */
const inCi = (env: NodeJS.ProcessEnv) => env['CI'] !== '0' && env['CI'] !== 'false'
	&& ('CI' in env || 'CONTINUOUS_INTEGRATION' in env || Object.keys(env).some(key => key.startsWith('CI_')));

/** The live screen only on a terminal (stderr) outside CI, without --plain: generate and --watch alike. */
export const liveTerminal = (plain?: boolean) => Boolean(process.stderr.isTTY) && !inCi(process.env) && !plain;

/**
 * The live screens (live/reporter.tsx with Ink and React). The command runs them from the bundle
 * (scripts/bundle.mjs), where this import is dist/bundle/live.js with React's production build: from
 * one file they load in a fifth of the time they take from 200.
 */
export async function loadLive(): Promise<typeof import('./live/reporter.js')> {
	return import('./live/reporter.js');
}

/** The terminal to read keys from, if stdin is one (raw mode needs a TTY). */
export const keyboard = () => (process.stdin.isTTY ? process.stdin : undefined);

/** A reporter standing in for `loading` until it is there: what it is told meanwhile is passed on in order. */
export function deferred(loading: Promise<Reporter>): Reporter {
	let loaded: Reporter | undefined;
	const early: Array<{event: PipelineEvent} | {cancel: true}> = [];
	void loading.then(reporter => {
		for (const item of early.splice(0)) {
			if ('event' in item) {
				reporter.emit(item.event);
			} else {
				reporter.cancel();
			}
		}

		loaded = reporter;
	}, () => undefined); // finish() reports the failure.
	return {
		emit(event) {
			if (loaded) {
				loaded.emit(event);
			} else {
				early.push({event});
			}
		},
		cancel() {
			if (loaded) {
				loaded.cancel();
			} else {
				early.push({cancel: true});
			}
		},
		async finish(outcome: Outcome) {
			// What came early is passed on before this: its handler was registered first.
			await (await loading).finish(outcome);
		},
	};
}

export type PickOptions = {plain?: boolean; write: boolean; verify?: boolean; jobs: number; onCancel: () => void};

export function pickReporter(options: PickOptions): Reporter {
	if (!liveTerminal(options.plain)) {
		return plainReporter(process.stderr, {write: options.write});
	}

	const {plain, ...live} = options;
	return deferred(loadLive().then(({liveReporter}) => liveReporter({...live, out: process.stderr, input: keyboard()})));
}
