// What a mirror run tells as it goes, before the pipeline's own events (pipeline/events.ts) take over
// for the publishing: the upstream read, each download, each version placed or refused.
import type {ReasonCode} from '../domain/reasons.js';

export type MirrorEvent =
	| {type: 'upstream-read'; url: string; products: number; versions: number}
	/** An upstream product, version or item not mirrored, and why. */
	| {type: 'mirror-skipped'; where: string; code: ReasonCode; reason: string}
	/** -N: the files about to be fetched, and their bytes (with what earlier passes left). */
	| {type: 'fetching'; files: number; bytes: number}
	/** `path`: where the file lands, relative to the web root; `resumedFrom`: bytes an earlier attempt left. */
	| {type: 'download-started'; path: string; url: string; size: number; resumedFrom: number}
	| {type: 'download-progress'; path: string; done: number; size: number}
	| {type: 'downloaded'; path: string; size: number; resumedFrom: number; milliseconds: number}
	/** A file that did not arrive as upstream's item says: not published. */
	| {type: 'download-failed'; path: string; url: string; reason: string}
	/** A version whose files all arrived and checked, renamed into images/. */
	| {type: 'version-placed'; path: string}
	/** A version left out this run: one of its files failed, or a fingerprint did not match. */
	| {type: 'version-refused'; path: string; reason: string}
	/** --every: a pass that could not read upstream (nothing changed) or publish; the next one is at `nextAt` (epoch ms). */
	| {type: 'pass-failed'; reason: string; nextAt: number}
	/** --every: a pass is over; the next one is at `nextAt`. */
	| {type: 'pass-finished'; placed: number; refused: number; retiring: number; nextAt: number};

export type MirrorEmit = (event: MirrorEvent) => void;
