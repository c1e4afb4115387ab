// Which reporter a command gets, decided once for all (terminal.ts): the live screens in a
// terminal, plain lines everywhere else, JSON lines where the watcher is asked for them. The live
// bundle takes ~0.1 s of CPU to load: a run starts at once and the tree takes over when it is in,
// with every event so far passed on in order, so a short job does not wait for its screen.
import type {ImportPlan} from '../import/plan.js';
import type {ImportReporter, Outcome, Reporter, WatchReporter} from './contract.js';
import {jsonLog} from './loggers/json.js';
import type {MirrorLogEvent} from './loggers/mirror.js';
import {plainImportReporter} from './loggers/plain-import.js';
import {plainLog} from './loggers/plain-watch.js';
import {plainReporter} from './loggers/plain.js';
import {keyboard, liveTerminal} from './terminal.js';

/**
 * The live screens (live/reporter.tsx with Ink and React). The command runs them from the bundle
 * (scripts/bundle.mjs), where this import is dist/bundle/live.js with React's production build: from
 * one file they load in a fifth of the time they take from 200.
 */
async function loadLive(): Promise<typeof import('./live/reporter.js')> {
	return import('./live/reporter.js');
}

/** A reporter standing in for `loading` until it is there: what it is told meanwhile is passed on in order. */
function deferred<E>(loading: Promise<Reporter<E>>): Reporter<E> {
	let loaded: Reporter<E> | undefined;
	const early: Array<{event: E} | {cancel: true}> = [];
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

/** `streamsOut`: a dry run's images.json goes to stdout (the live tree says where it went). */
export type RunReporterOptions = {plain?: boolean; write: boolean; verify?: boolean; streamsOut?: boolean; root?: string; jobs: number; onCancel: () => void};

/** generate and verify. */
export function startReporter(options: RunReporterOptions): Reporter {
	if (!liveTerminal(options.plain)) {
		return plainReporter(process.stderr, {write: options.write, plan: process.stdout});
	}

	const {plain, ...live} = options;
	return deferred(loadLive().then(({liveReporter}) => liveReporter({...live, out: process.stderr, plan: process.stdout, input: keyboard()})));
}

/** mirror -N in a terminal: its downloads, then the publishing (without a terminal it logs: loggers/mirror.ts). */
export function startMirrorReporter(options: {jobs: number; onCancel: () => void}): Reporter<MirrorLogEvent> {
	return deferred(loadLive().then(({liveMirror}) => liveMirror({...options, out: process.stderr, input: keyboard()})));
}

export type WatchReporterOptions = {
	/** Log lines even in a terminal; unset, a terminal gets the live screen and anything else plain lines. */
	log?: 'plain' | 'json';
	plain?: boolean;
	jobs: number;
	/** q or Ctrl-C in the live screen. */
	onQuit: () => void;
};

/** --watch: JSON lines go to stdout, for a log shipper; plain lines and the screen to stderr. */
export async function startWatchReporter(options: WatchReporterOptions): Promise<WatchReporter> {
	if (options.log === undefined && liveTerminal(options.plain)) {
		const {liveWatch} = await loadLive();
		return liveWatch({out: process.stderr, input: keyboard(), jobs: options.jobs, onQuit: options.onQuit});
	}

	const emit = options.log === 'json' ? jsonLog(process.stdout) : plainLog(process.stderr);
	return {emit, close: async () => undefined};
}

/** An import's placing of files: bars in a terminal (not with --plain), lines elsewhere. */
export async function startImportReporter(plan: ImportPlan, options: {plain?: boolean}): Promise<ImportReporter> {
	return liveTerminal(options.plain) ? (await import('./live/import.js')).progressReporter(plan) : plainImportReporter(process.stderr);
}
