// What every reporter is to the commands, whatever it draws: plain lines, JSON lines or the live
// screens (loggers/ and live/ are the siblings; start.ts picks one).
import type {ImportEmit} from '../import/execute.js';
import type {Emit} from '../pipeline/events.js';
import type {WatchEmit} from '../watch/events.js';

export type Outcome = 'done' | 'cancelled' | 'failed';

/** A one-shot run (generate, verify, mirror): events in, then a cancel request and an outcome. */
export type Reporter<E = Parameters<Emit>[0]> = {
	emit: (event: E) => void;
	/** The operator asked to stop: workers are being stopped. */
	cancel(): void;
	/** The run is over; the terminal is back to normal when this resolves. */
	finish(outcome: Outcome): Promise<void>;
};

/** The watcher: events until it stops, then close. */
export type WatchReporter = {emit: WatchEmit; close(): Promise<void>};

/** An import's files as they are placed. */
export type ImportReporter = {emit: ImportEmit; finish(): Promise<void>};
