// A one-shot command's run with a reporter (the live tree in a terminal, plain lines elsewhere) and
// the stop requests of stop.ts wired to it: q, Ctrl-C, SIGTERM or a hang-up cancel the work, the
// reporter says how it ended, and a stopped run exits with the code of what stopped it.
import type {Reporter} from '../report/contract.js';
import {startReporter, type RunReporterOptions} from '../report/start.js';
import {Stop} from './stop.js';

/** `work` ends its reporter with finish('done') when it succeeds; failures and stops end here. */
export async function runReported(options: Omit<RunReporterOptions, 'onCancel'>, work: (reporter: Reporter, signal: AbortSignal) => Promise<number>): Promise<number> {
	const stop = new Stop(() => {
		reporter.cancel();
	});
	const reporter = startReporter({...options, onCancel: () => {
		stop.request();
	}});
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
