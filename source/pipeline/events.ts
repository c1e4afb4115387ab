// Typed events every stage emits: the plain reporter, the live tree, the wizard and the watcher all
// consume these and nothing else.
import type {ProductRef} from './model.js';

export type Scope = 'tree' | 'product' | 'version' | 'file';

export type PipelineEvent =
	| {type: 'scan-started'; root: string}
	/** A version directory with its recognised files. */
	| {type: 'found'; product: ProductRef; version: string; path: string; files: Array<{path: string; size: number}>}
	| {type: 'scanned'; products: number; versions: number; files: number; bytes: number}
	/** A file, version, product or directory left out, and why. */
	| {type: 'skipped'; scope: Scope; path: string; reason: string}
	/** Something worth an operator's attention that does not leave anything out. */
	| {type: 'warning'; path: string; message: string}
	/** A version whose files changed too recently to be trusted complete; due at readyAt (epoch ms). */
	| {type: 'settling'; path: string; readyAt: number}
	| {type: 'cached'; path: string}
	/** Hashing work for a file, in bytes (a file read by two digests counts twice). */
	| {type: 'queued'; path: string; work: number}
	| {type: 'progress'; path: string; done: number; work: number}
	| {type: 'hashed'; path: string; work: number; milliseconds: number}
	| {type: 'hash-finished'; files: number; bytes: number; milliseconds: number}
	| {type: 'cataloged'; products: number; versions: number; images: {lxd: number; incus: number}}
	| {type: 'written'; path: string; changed: boolean}
	| {type: 'cache-saved'; path: string; entries: number};

export type Emit = (event: PipelineEvent) => void;
