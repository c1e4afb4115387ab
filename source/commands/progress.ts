// A one-shot command's work with its progress shown (the live tree in a terminal, plain lines
// elsewhere) and the stop requests of stop.ts wired to it: q, Ctrl-C, SIGTERM or a hang-up cancel
// the work, the reporter says how it ended, and a stopped run exits with the code of what stopped it.
import type {Outcome, Reporter} from '../report/contract.js';
import {startReporter, type RunReporterOptions} from '../report/start.js';
import {Stop} from './stop.js';

/**
 * `work` ends its reporter with finish('done') when it succeeds; failures and stops end here. The
 * reporter opens at the work's first event: a refusal before it (a missing root, a lock another
 * simplestreams holds) is one line, with no screen drawn and cleared around it.
 */
export async function showingProgress(options: Omit<RunReporterOptions, 'onCancel'>, work: (reporter: Reporter, signal: AbortSignal) => Promise<number>): Promise<number> {
	return showing(onCancel => startReporter({...options, onCancel}), work);
}

/** As showingProgress, with the reporter `start` opens (mirror -N's, which shows downloads too). */
export async function showing<E>(start: (onCancel: () => void) => Reporter<E>, work: (reporter: Reporter<E>, signal: AbortSignal) => Promise<number>): Promise<number> {
	let opened: Reporter<E> | undefined;
	const open = () => {
		opened ??= start(() => {
			stop.request();
		});
		return opened;
	};

	const reporter: Reporter<E> = {
		emit(event: E) {
			open().emit(event);
		},
		cancel() {
			open().cancel();
		},
		async finish(outcome: Outcome) {
			await (outcome === 'failed' ? opened : open())?.finish(outcome);
		},
	};
	const stop = new Stop(() => {
		reporter.cancel();
	});
	const unlisten = stop.listen();
	try {
		return await work(reporter, stop.signal);
	} catch (error) {
		await reporter.finish(stop.signal.aborted ? 'cancelled' : 'failed');
		if (stop.signal.aborted) {
			return stop.code;
		}

		throw error;
	} finally {
		unlisten();
	}
}
