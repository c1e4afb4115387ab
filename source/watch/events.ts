// What the watcher says, on top of the events of every regeneration it runs.
import type {PipelineEvent} from '../pipeline/events.js';

export type WatchEvent =
	| PipelineEvent
	| {type: 'watching'; root: string; settleMs: number}
	| {type: 'regenerating'; reason: string; changes: number}
	| {type: 'regenerated'; milliseconds: number; added: string[]; removed: string[]; images: {lxd: number; incus: number}; streamsChanged: boolean; hashedBytes: number; retired: number; deleted: number; deletedBytes: number}
	| {type: 'regeneration-failed'; message: string}
	/** Events may have been lost: the next regeneration rescans everything (it always does; this says why it runs). */
	| {type: 'rescan'; reason: string}
	| {type: 'root-missing'; root: string}
	| {type: 'root-back'; root: string}
	| {type: 'stopped'};

export type WatchEmit = (event: WatchEvent) => void;
