// What retention says, as pipeline events: every reporter (plain, live, the watcher's logs) reads
// these. In a dry run the same events describe what -N would do.
import type {ReasonCode} from '../domain/reasons.js';

export type RetentionEvent =
	/** Left the streams now; its files are deleted after `deleteAfter` (ISO). */
	| {type: 'retired'; path: string; why: string; bytes: number; deleteAfter: string}
	/** Retired earlier, still waiting for its grace to pass. */
	| {type: 'retirement-pending'; path: string; bytes: number; deleteAfter: string}
	/** Past its grace: `files` files deleted, `bytes` freed. */
	| {type: 'deleted'; path: string; files: number; bytes: number}
	/** Taken out of the retirement record: published again. */
	| {type: 'restored'; path: string};

/** What retention emits: its own events and warnings, as the pipeline's event sink takes them. */
export type RetentionEmit = (event: RetentionEvent | {type: 'warning'; path: string; code: ReasonCode; message: string}) => void;
