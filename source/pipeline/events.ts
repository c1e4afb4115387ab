// Typed events every stage emits: the plain reporter, the live tree, the wizard and the watcher all
// consume these and nothing else. Skips and warnings carry a code and its text (domain/reasons.ts).
import type {ReasonCode} from '../domain/reasons.js';
import type {PublishEvent} from '../publish/events.js';
import type {RetentionEvent} from '../retention/events.js';
import type {ProductRef} from '../domain/tree.js';

export type Scope = 'tree' | 'product' | 'version' | 'file';

export type PipelineEvent =
	| {type: 'scan-started'; root: string}
	/** A version directory with its recognised files. */
	| {type: 'found'; product: ProductRef; version: string; path: string; files: Array<{path: string; size: number}>}
	| {type: 'scanned'; products: number; versions: number; files: number; bytes: number}
	/** A file, version, product or directory left out, and why; `transient` when the next run may go otherwise (a read that failed). */
	| {type: 'skipped'; scope: Scope; path: string; code: ReasonCode; reason: string; transient?: true}
	/** Something worth an operator's attention that does not leave anything out; `transient` as for skipped (a tool missing). */
	| {type: 'warning'; path: string; code: ReasonCode; message: string; transient?: true}
	/** A version whose files changed too recently to be trusted complete; due at readyAt (epoch ms). */
	| {type: 'settling'; path: string; readyAt: number}
	| {type: 'cached'; path: string}
	/** Hashing work for a file, in bytes (a file read by two digests counts twice). */
	| {type: 'queued'; path: string; work: number}
	| {type: 'progress'; path: string; done: number; work: number}
	/** `size`: the file's own, as the scan found it (`work` counts a file read by two digests twice). */
	| {type: 'hashed'; path: string; size: number; work: number; milliseconds: number}
	| {type: 'hash-finished'; files: number; bytes: number; milliseconds: number}
	/** --deltas: `path` is the delta file, in the directory of the version it leads to from `base`. */
	| {type: 'delta-queued'; path: string; base: string; work: number}
	| {type: 'delta-progress'; path: string; done: number; work: number}
	/** Made and checked; `fraction` is its size over the full rootfs's. */
	| {type: 'delta-made'; path: string; size: number; fraction: number; milliseconds: number}
	/** An existing delta whose inputs are unchanged (known from the cache, or checked again). */
	| {type: 'delta-reused'; path: string; size: number; fraction: number}
	/** `simplestreams verify`: applied to its base, the delta gave back the rootfs its version publishes. */
	| {type: 'delta-checked'; path: string; milliseconds: number}
	/** Not published: `problem` when something is wrong (xdelta3 failed, the check failed), not when it is merely not worth it. */
	| {type: 'delta-skipped'; path: string; code: ReasonCode; reason: string; problem: boolean}
	/** `verify`: a file (image or streams, from the root) found wrong, each way it is, and what to do next. */
	| {type: 'damaged'; path: string; messages: string[]; next: string}
	| {type: 'cataloged'; products: number; versions: number; images: {lxd: number; incus: number}}
	| {type: 'written'; path: string; changed: boolean}
	/** A one-shot run's versions (`product version`) published that the streams on disk lacked, and dropped that they held. */
	| {type: 'versions-changed'; added: string[]; removed: string[]}
	| {type: 'cache-saved'; path: string; entries: number}
	| RetentionEvent
	/** --to: the published tree sent on to a bucket (publish/), after the stages above. */
	| PublishEvent;

export type Emit = (event: PipelineEvent) => void;
