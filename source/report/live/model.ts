// The live tree's state, without Ink or I/O (time is passed in): events fold into a tree
// os → release → arch → variant → version → file in O(depth) each; rollups, collapsing, the visible
// window and the footer totals are derived only when a frame is drawn.
import type {ReasonCode} from '../../domain/reasons.js';
import type {PipelineEvent} from '../../pipeline/events.js';
import type {Outcome} from '../contract.js';
import {printable} from '../printable.js';

export type FileState = 'found' | 'cached' | 'queued' | 'hashing' | 'done' | 'skipped' | 'failed';

/** Why a node is left out: the code, and its text made printable. */
export type Why = {code: ReasonCode; text: string};

/** Throughput over the last few seconds: steady enough to read, quick to follow a change. */
export class Rate {
	private readonly samples: Array<[time: number, value: number]> = [];

	constructor(private readonly window = 3000) {}

	add(time: number, value: number): void {
		const last = this.samples.at(-1);
		if (last && time - last[0] < 20) {
			last[1] = value; // Events of one progress tick: one sample.
			return;
		}

		this.samples.push([time, value]);
		// Keep one sample older than the window, so the rate always spans all of it.
		while (this.samples.length > 2 && this.samples[1]![0] < time - this.window) {
			this.samples.shift();
		}
	}

	/** Bytes per second, or undefined until there are two samples. */
	perSecond(now: number): number | undefined {
		const first = this.samples[0];
		const last = this.samples.at(-1);
		if (!first || !last || first === last) {
			return undefined;
		}

		// Up to `now`, so a stalled disk shows a falling rate rather than the last good one.
		const span = Math.max(last[0], Math.min(now, last[0] + 1000)) - first[0];
		return span > 0 ? ((last[1] - first[1]) * 1000) / span : undefined;
	}
}

export type FileInfo = {
	size: number;
	/** Hashing work in bytes: a file read by two digests counts twice. */
	work: number;
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
	/** The rollup as of the last frame; `dirty` when something below changed since. */
	sum?: Rollup;
	dirty: boolean;
};

const newNode = (name: string, path: string, depth: number, parent?: Node): Node => ({name, path, depth, parent, children: [], sorted: true, notes: [], dirty: true});

export class LiveModel {
	readonly tree = newNode('images', 'images', -1);
	root = '';
	phase: 'starting' | 'scanning' | 'planning' | 'hashing' | 'deltas' | 'cataloging' | 'writing' = 'starting';
	outcome?: Outcome;
	cancelling = false;
	started?: number;
	ended?: number;
	hash = {work: 0, done: 0, milliseconds: 0, finished: false};
	reused = 0;
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

	/** `verify`: nothing is published (simplestreams verify prints its report after the tree). */
	constructor(readonly options: {write: boolean; jobs: number; verify?: boolean}) {}

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
				this.skipped++;
				const reason = {code: event.code, text: printable(event.reason)};
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
				file.work = event.work;
				// A rootfs read by a file digest and a combined one takes two workers at once.
				file.passes = Math.max(1, Math.floor(event.work / Math.max(1, file.size)));
				this.hashing.add(node);
				this.passes += file.passes;
				this.hash.work += event.work;
				break;
			}

			case 'progress': {
				const {file} = this.fileNode(event.path);
				if ((file.state === 'queued' || file.state === 'hashing') && event.done !== file.done) {
					this.hash.done += event.done - file.done;
					file.done = event.done;
					file.moved = now;
					file.state = 'hashing';
					file.rate ??= new Rate();
					file.rate.add(now, event.done);
					this.rate.add(now, this.hash.done);
				}

				break;
			}

			case 'hashed': {
				const node = this.fileNode(event.path);
				const {file} = node;
				this.hash.done += event.work - file.done;
				file.done = event.work;
				file.state = 'done';
				file.perSecond = event.milliseconds > 0 ? (event.work * 1000) / event.milliseconds : undefined;
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

const emptyRollup = (): Rollup => ({files: 0, finished: 0, active: 0, problems: 0, size: 0, work: 0, done: 0, versions: 0});

function add(sum: Rollup, part: Rollup): void {
	for (const key of Object.keys(sum) as Array<keyof Rollup>) {
		sum[key] += part[key];
	}
}

/** A node's rollup, recomputed only where events changed something since the last frame. */
export function rollup(node: Node): Rollup {
	if (!node.dirty && node.sum) {
		return node.sum;
	}

	const sum = emptyRollup();
	sum.problems = node.notes.length;
	if (!node.file && !node.sorted) {
		node.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
		node.sorted = true;
	}

	if (node.skipped) {
		// Left out, but what went wrong inside still counts: a product skipped because each of its
		// versions was stays open on them.
		sum.problems += 1 + node.children.reduce((problems, child) => problems + rollup(child).problems, 0);
	} else if (node.file) {
		const {state} = node.file;
		if (state === 'skipped' || state === 'failed') {
			sum.problems++;
		} else {
			sum.files = 1;
			sum.size = node.file.size;
			sum.finished = state === 'done' || state === 'cached' ? 1 : 0;
			sum.active = state === 'hashing' ? 1 : 0;
			sum.work = node.file.work;
			sum.done = node.file.done;
		}
	} else {
		sum.versions = node.depth === 4 ? 1 : 0;
		for (const child of node.children) {
			add(sum, rollup(child));
		}
	}

	node.sum = sum;
	node.dirty = false;
	return sum;
}

export const isFinished = (r: Rollup) => r.files > 0 && r.finished === r.files && r.problems === 0;
const isQuiet = (r: Rollup) => r.active === 0 && r.problems === 0;

export type Row =
	| {kind: 'node'; node: Node; rollup: Rollup; depth: number; open: boolean}
	/** Siblings with nothing to see folded into one line. */
	| {kind: 'group'; nodes: Node[]; rollup: Rollup; depth: number}
	| {kind: 'note'; text: string; depth: number};

/**
 * How much to fold, from 0 (every directory open) to 4: 1 folds finished subtrees, 2 also folds
 * subtrees with nothing hashing and nothing wrong, 3 also merges runs of folded siblings, 4 merges
 * all of a directory's quiet children, files too, into one line. Active and problem nodes stay
 * open at every level.
 */
export type Level = 0 | 1 | 2 | 3 | 4;

/** The rows at a level; undefined as soon as there are more than `limit`. */
export function treeRows(tree: Node, level: Level, limit = Number.POSITIVE_INFINITY): Row[] | undefined {
	const rows: Row[] = [];
	const push = (row: Row) => rows.push(row) <= limit;
	const notes = (node: Node, depth: number) => node.notes.every(text => push({kind: 'note', text, depth}));
	const visit = (parent: Node, depth: number): boolean => {
		let run: Node[] = [];
		let at = -1;
		const flush = () => {
			const nodes = run;
			run = [];
			if (nodes.length < 2) {
				const node = nodes[0];
				return !node || place({kind: 'node', node, rollup: rollup(node), depth, open: false});
			}

			const sum = emptyRollup();
			for (const node of nodes) {
				add(sum, rollup(node));
			}

			return place({kind: 'group', nodes, rollup: sum, depth});
		};

		// Level 4 puts the group where its first member was.
		const place = (row: Row) => (at < 0 ? push(row) : (rows.splice(at, 0, row), rows.length <= limit));

		rollup(parent); // Sorts the children.
		for (const node of parent.children) {
			const sum = rollup(node);
			const open = !node.file && (node.skipped ? sum.problems > 1 + node.notes.length : level === 0 || (level === 1 ? !isFinished(sum) : !isQuiet(sum)));
			// Until level 4, files stay one per line: a version's few files are what it is made of.
			if (level >= 3 && !open && (level === 4 || !node.file) && isQuiet(sum)) {
				if (level === 4 && at < 0) {
					at = rows.length;
				}

				run.push(node);
				continue;
			}

			if ((level === 3 && !flush()) || !push({kind: 'node', node, rollup: sum, depth, open}) || !notes(node, depth + 1) || (open && !visit(node, depth + 1))) {
				return false;
			}
		}

		return flush();
	};

	return notes(tree, 0) && visit(tree, 0) ? rows : undefined;
}

/** Hashing right now, not waiting for a worker to take its other passes. */
export const isMoving = (file: FileInfo, now: number) => file.state === 'hashing' && now - (file.moved ?? now) <= 1000;

const isProblem = (row: Row) => row.kind === 'note' || (row.kind === 'node' && (row.node.skipped !== undefined || row.node.file?.reason !== undefined));

/** Rows out of view, and how many of them are problems (so a hidden one is still announced). */
export type Hidden = {rows: number; problems: number};

export type Window = {rows: Row[]; start: number; above: Hidden; below: Hidden};

/**
 * The rows that fit in `height` lines. Following (scroll undefined), the tree folds as little as
 * fits and keeps the first file being hashed in view; scrolling browses every unfinished node.
 */
export function visibleRows(tree: Node, height: number, now: number, scroll?: number): Window {
	let rows: Row[] | undefined;
	if (scroll === undefined) {
		for (const level of [0, 1, 2, 3] as const) {
			rows ??= treeRows(tree, level, height);
		}
	}

	rows ??= treeRows(tree, scroll === undefined ? 4 : 1)!;
	if (rows.length <= height) {
		return {rows, start: 0, above: {rows: 0, problems: 0}, below: {rows: 0, problems: 0}};
	}

	// One line each for "more above" and "more below".
	const maxScroll = rows.length - height + 1;
	let start = scroll;
	if (start === undefined) {
		// Show every file being hashed and every problem if they fit together; else the hashing first.
		const moving = rows.flatMap((row, at) => (row.kind === 'node' && row.node.file && isMoving(row.node.file, now) ? [at] : []));
		const important = [...moving, ...rows.flatMap((row, at) => (isProblem(row) ? [at] : []))];
		const first = Math.min(...important);
		const span = Math.max(...important) - first + 1;
		start = important.length === 0 ? 0 : span <= height - 2 ? first - Math.floor((height - 2 - span) / 2) : moving.length > 0 ? moving[0]! - Math.floor(height / 4) : first;
	}

	start = Math.max(0, Math.min(maxScroll, start));
	const fits = height - (start > 0 ? 1 : 0);
	const shown = rows.length - start > fits ? fits - 1 : fits;
	const hidden = (part: Row[]): Hidden => ({rows: part.length, problems: part.filter(row => isProblem(row)).length});
	return {rows: rows.slice(start, start + shown), start, above: hidden(rows.slice(0, start)), below: hidden(rows.slice(start + shown))};
}

export type Totals = {
	files: number;
	finished: number;
	work: number;
	done: number;
	/** Bytes per second: recent while hashing, the average once hashing is over. */
	perSecond?: number;
	/** Milliseconds left, when there is a rate to go by. */
	eta?: number;
	busy: number;
	jobs: number;
	reused: number;
	warnings: number;
	skipped: number;
};

export function totals(model: LiveModel, now: number): Totals {
	const all = rollup(model.tree);
	const {hash} = model;
	const perSecond = hash.finished
		? (hash.milliseconds > 0 ? (hash.done * 1000) / hash.milliseconds : undefined)
		: model.outcome ? undefined : model.rate.perSecond(now);
	const left = hash.work - hash.done;
	return {
		files: all.files,
		finished: all.finished,
		work: hash.work,
		done: hash.done,
		perSecond,
		eta: !hash.finished && !model.outcome && perSecond && left > 0 ? (left * 1000) / perSecond : undefined,
		busy: model.busy(),
		jobs: model.options.jobs,
		reused: model.reused,
		warnings: model.warnings,
		skipped: model.skipped,
	};
}
