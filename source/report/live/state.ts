// The live tree's state, without Ink or I/O (time is passed in): events fold into a tree
// os → release → arch → variant → version → file in O(depth) each. What a frame shows of it
// (rollups, folding, the visible window, the footer totals) is derived in rows.ts.
import type {ReasonCode} from '../../domain/reasons.js';
import type {PipelineEvent} from '../../pipeline/events.js';
import {brief} from '../verify.js';
import type {Outcome} from '../contract.js';
import {printable} from '../../util/printable.js';
import {Rate} from './rates.js';

export type FileState = 'found' | 'cached' | 'queued' | 'hashing' | 'done' | 'skipped' | 'failed';

/** Retention's word on a version (or a file): it left the streams now or earlier, its files deleted after `deleteAfter` (ISO); or its files deleted. */
export type Retention = {kind: 'retired' | 'pending'; bytes: number; deleteAfter: string} | {kind: 'deleted'; bytes: number; files: number};

/** Why a node is left out: the code, and its text made printable. */
export type Why = {code: ReasonCode; text: string};

/** An upload in progress is left out until it is complete, as it should be: nothing went wrong. */
export const isTrouble = (why: Why | undefined) => why !== undefined && why.code !== 'uploading';

export type FileInfo = {
	size: number;
	/**
	 * Bytes to hash, counted as the file's size: a rootfs read by two digests at once is still one
	 * file of its size (operators read sizes as sizes), and its bar and rate follow it.
	 */
	work: number;
	/** File bytes per byte of the pool's hashing work (1/2 for a rootfs read by two digests). */
	scale?: number;
	done: number;
	state: FileState;
	reason?: Why;
	/** Workers this file keeps busy (its digest passes run side by side). */
	passes: number;
	rate?: Rate;
	/** When `done` last grew: a file whose other passes wait for a worker stands still. */
	moved?: number;
	/** Final throughput, once hashed. */
	perSecond?: number;
};

export type Node = {
	name: string;
	path: string;
	/** 0 os, 1 release, 2 arch, 3 variant, 4 version, 5 file; -1 for the root. */
	depth: number;
	parent?: Node;
	children: Node[];
	sorted: boolean;
	file?: FileInfo;
	/** Why this directory or file is left out. */
	skipped?: Why;
	/** Warnings about this node or a file in it that has no node of its own. */
	notes: string[];
	/** Retired or deleted: out of the streams, so its files are no work of this run. */
	retention?: Retention;
	/** The rollup as of the last frame; `dirty` when something below changed since. */
	sum?: Rollup;
	dirty: boolean;
};

const newNode = (name: string, path: string, depth: number, parent?: Node): Node => ({name, path, depth, parent, children: [], sorted: true, notes: [], dirty: true});

export class LiveModel {
	readonly tree = newNode('images', 'images', -1);
	root: string;
	phase: 'starting' | 'scanning' | 'planning' | 'hashing' | 'deltas' | 'cataloging' | 'writing' = 'starting';
	outcome?: Outcome;
	cancelling = false;
	started?: number;
	ended?: number;
	hash = {work: 0, done: 0, milliseconds: 0, finished: false};
	reused = 0;
	/** What this run retired (and the earliest deletion they wait for) and deleted: versions, leftovers (files or directories nobody publishes), bytes. */
	retention = {retired: {versions: 0, leftovers: 0, bytes: 0, deleteAfter: undefined as string | undefined}, deleted: {versions: 0, leftovers: 0, bytes: 0}};
	/** Delta files made by this run (--deltas). */
	deltasMade = 0;
	warnings = 0;
	skipped = 0;
	cataloged?: {products: number; versions: number; images: {lxd: number; incus: number}};
	written: Array<{path: string; changed: boolean}> = [];
	/** The digest cache was saved: a cancelled run keeps what finished. */
	cacheSaved = false;
	readonly rate = new Rate();
	private readonly nodes = new Map<string, Node>([['images', this.tree]]);
	/** Files queued and not finished, and the worker passes they take. */
	private readonly hashing = new Set<Node>();
	private passes = 0;

	/** `verify`: the files found wrong, each with what to do next. */
	damaged: Array<{path: string; next: string}> = [];
	/** What the run changes in the versions clients list (one-shot runs). */
	changes?: {added: string[]; removed: string[]};

	/**
	 * `verify`: nothing is published (simplestreams verify prints its report after the tree).
	 * `streamsOut`: a dry run prints images.json on stdout (off a terminal, or asked with --json).
	 * `root`: the web root for the header until a scan names it (verify scans nothing).
	 */
	constructor(readonly options: {write: boolean; jobs: number; verify?: boolean; streamsOut?: boolean; root?: string}) {
		this.root = printable(options.root ?? '');
	}

	/** The node for a path under images/, made with its ancestors when missing. */
	node(path: string): Node {
		const existing = this.nodes.get(path);
		if (existing) {
			return existing;
		}

		const cut = path.lastIndexOf('/');
		const parent = this.node(path.slice(0, cut));
		const child = newNode(printable(path.slice(cut + 1)), path, parent.depth + 1, parent);
		parent.children.push(child);
		parent.sorted = false;
		this.nodes.set(path, child);
		touch(parent);
		return child;
	}

	private fileNode(path: string, size = 0): Node & {file: FileInfo} {
		const node = this.node(path);
		node.file ??= {size, work: 0, done: 0, state: 'found', passes: 1};
		touch(node);
		return node as Node & {file: FileInfo};
	}

	private unqueue(node: Node): boolean {
		if (!this.hashing.delete(node)) {
			return false;
		}

		this.passes -= node.file!.passes;
		return true;
	}

	/** Workers hashing right now, as far as events tell: the unfinished files' passes, up to the pool size. */
	busy(): number {
		return Math.min(this.options.jobs, this.passes);
	}

	apply(event: PipelineEvent, now: number): void {
		this.started ??= now;
		switch (event.type) {
			case 'scan-started': {
				this.root = printable(event.root);
				this.phase = 'scanning';
				break;
			}

			case 'found': {
				this.node(event.path);
				for (const file of event.files) {
					this.fileNode(file.path, file.size).file.size = file.size;
				}

				break;
			}

			case 'scanned': {
				this.phase = 'planning';
				break;
			}

			case 'skipped': {
				const reason = {code: event.code, text: printable(event.reason)};
				this.skipped += isTrouble(reason) ? 1 : 0;
				if (event.scope !== 'file') {
					const node = this.node(event.path);
					node.skipped = reason;
					touch(node);
					break;
				}

				const node = this.fileNode(event.path);
				const {file} = node;
				file.reason = reason;
				if (this.unqueue(node)) {
					// Failed while hashing: what it had left is no longer work to wait for.
					file.state = 'failed';
					this.hash.work -= file.work - file.done;
				} else {
					file.state = 'skipped';
				}

				break;
			}

			case 'warning': {
				this.warnings++;
				const message = printable(event.message);
				// Warnings name a file (a requirements file, the cache): note it on its directory.
				const cut = event.path.lastIndexOf('/');
				const node = event.path.startsWith('images/') && cut > 0 ? this.node(event.path.slice(0, cut)) : this.tree;
				node.notes.push(node === this.tree ? `${printable(event.path)}: ${message}` : `${printable(event.path.slice(cut + 1))}: ${message}`);
				touch(node);
				break;
			}

			case 'cached': {
				this.reused++;
				const {file} = this.fileNode(event.path);
				if (file.state === 'found') {
					file.state = 'cached';
				}

				break;
			}

			case 'queued': {
				this.phase = 'hashing';
				const node = this.fileNode(event.path);
				const {file} = node;
				file.state = 'queued';
				// A rootfs read by a file digest and a combined one takes two workers at once.
				file.passes = Math.max(1, Math.floor(event.work / Math.max(1, file.size)));
				file.work = file.size > 0 ? file.size : event.work;
				file.scale = event.work > 0 ? file.work / event.work : 1;
				this.hashing.add(node);
				this.passes += file.passes;
				this.hash.work += file.work;
				break;
			}

			case 'progress': {
				const {file} = this.fileNode(event.path);
				const done = Math.round(event.done * (file.scale ?? 1));
				if ((file.state === 'queued' || file.state === 'hashing') && done !== file.done) {
					this.hash.done += done - file.done;
					file.done = done;
					file.moved = now;
					file.state = 'hashing';
					file.rate ??= new Rate();
					file.rate.add(now, done);
					this.rate.add(now, this.hash.done);
				}

				break;
			}

			case 'hashed': {
				const node = this.fileNode(event.path);
				const {file} = node;
				const work = Math.round(event.work * (file.scale ?? 1));
				this.hash.done += work - file.done;
				file.done = work;
				file.state = 'done';
				file.perSecond = event.milliseconds > 0 ? (work * 1000) / event.milliseconds : undefined;
				file.rate = undefined;
				this.unqueue(node);
				this.rate.add(now, this.hash.done);
				break;
			}

			// A delta file (--deltas, verify) gets a node with its own bar while xdelta3 makes or checks it;
			// it runs outside the hash pool, so it stays out of the hashing totals and the worker count.
			case 'delta-queued': {
				this.phase = 'deltas';
				const {file} = this.fileNode(event.path);
				Object.assign(file, {state: 'queued', work: event.work, done: 0, reason: undefined});
				break;
			}

			case 'delta-progress': {
				const {file} = this.fileNode(event.path);
				if (event.done !== file.done) {
					Object.assign(file, {state: 'hashing', done: event.done, work: event.work, moved: now});
					file.rate ??= new Rate();
					file.rate.add(now, event.done);
				}

				break;
			}

			case 'delta-made':
			case 'delta-checked': {
				const {file} = this.fileNode(event.path);
				const milliseconds = event.milliseconds;
				Object.assign(file, {state: 'done', done: file.work, rate: undefined, perSecond: milliseconds > 0 ? (file.work * 1000) / milliseconds : undefined});
				if (event.type === 'delta-made') {
					file.size = event.size;
					this.deltasMade++;
				}

				break;
			}

			case 'delta-reused': {
				const {file} = this.fileNode(event.path, event.size);
				Object.assign(file, {state: 'cached', size: event.size, done: file.work, rate: undefined});
				break;
			}

			case 'delta-skipped': {
				const node = this.nodes.get(event.path);
				if (event.problem) {
					this.skipped++;
					Object.assign(this.fileNode(event.path).file, {state: 'failed', reason: {code: event.code, text: printable(event.reason)}, rate: undefined});
				} else if (node?.parent) {
					// Not worth publishing is no problem: the delta just leaves the tree.
					node.parent.children = node.parent.children.filter(child => child !== node);
					this.nodes.delete(event.path);
					touch(node.parent);
				}

				break;
			}

			case 'hash-finished': {
				this.hash.finished = true;
				this.hash.milliseconds = event.milliseconds;
				this.phase = 'cataloging';
				break;
			}

			case 'cataloged': {
				this.cataloged = {products: event.products, versions: event.versions, images: event.images};
				this.phase = this.options.write ? 'writing' : 'cataloging';
				break;
			}

			case 'written': {
				this.written.push({path: event.path, changed: event.changed});
				break;
			}

			case 'damaged': {
				this.damaged.push({path: printable(event.path), next: printable(event.next)});
				const [first = '', ...more] = event.messages.map(message => printable(brief(message)));
				const text = `${first}${more.length > 0 ? ` (+${more.length} more)` : ''}`;
				if (event.path.startsWith('images/')) {
					const {file} = this.fileNode(event.path);
					Object.assign(file, {state: 'failed', reason: {code: 'damaged', text}, rate: undefined});
				} else {
					this.tree.notes.push(`${printable(event.path)}: ${text}`);
					touch(this.tree);
				}

				break;
			}

			case 'versions-changed': {
				this.changes = {added: event.added, removed: event.removed};
				break;
			}

			case 'retired':
			case 'retirement-pending':
			case 'deleted': {
				const node = this.node(event.path);
				const {retired, deleted} = this.retention;
				const kind = node.depth === 4 ? 'versions' : 'leftovers';
				if (event.type === 'deleted') {
					node.retention = {kind: 'deleted', bytes: event.bytes, files: event.files};
					deleted[kind]++;
					deleted.bytes += event.bytes;
				} else {
					node.retention = {kind: event.type === 'retired' ? 'retired' : 'pending', bytes: event.bytes, deleteAfter: event.deleteAfter};
					if (event.type === 'retired') {
						retired[kind]++;
						retired.bytes += event.bytes;
						retired.deleteAfter = retired.deleteAfter !== undefined && retired.deleteAfter < event.deleteAfter ? retired.deleteAfter : event.deleteAfter;
					}
				}

				touch(node);
				break;
			}

			case 'cache-saved': {
				this.cacheSaved = true;
				break;
			}

			default: {
				break; // Events about other front ends' concerns (the watcher's settling).
			}
		}
	}

	cancel(): void {
		this.cancelling = true;
	}

	finish(outcome: Outcome, now: number): void {
		this.outcome = outcome;
		this.ended = now;
		this.hashing.clear();
		this.passes = 0;
	}
}

/** Mark a node and its ancestors for a new rollup (stops at the first already marked). */
function touch(node: Node | undefined): void {
	for (let at = node; at && !at.dirty; at = at.parent) {
		at.dirty = true;
	}
}


/** What a subtree adds up to: the files that will be published, and what went wrong. */
export type Rollup = {
	/** Files to publish (not skipped, not under a skipped directory). */
	files: number;
	/** Of those, hashed or reused from the cache. */
	finished: number;
	active: number;
	/** Skipped or failed nodes and warnings: each one stays on screen. */
	problems: number;
	size: number;
	work: number;
	done: number;
	versions: number;
};

