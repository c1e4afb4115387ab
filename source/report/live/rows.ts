// What a frame shows of the live tree (pure): each subtree's rollup, recomputed only where events
// changed something, the rows at a level of folding, the window that fits the screen, the totals.
import {isTrouble, type FileInfo, type LiveModel, type Node, type Rollup} from './state.js';
import {compareText} from '../../util/compare.js';

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
		node.children.sort((a, b) => compareText(a.name, b.name));
		node.sorted = true;
	}

	if (node.retention) {
		// Out of the streams: its files are neither work nor trouble of this run.
	} else if (node.skipped) {
		// Left out, but what went wrong inside still counts: a product skipped because each of its
		// versions was stays open on them.
		sum.problems += (isTrouble(node.skipped) ? 1 : 0) + node.children.reduce((problems, child) => problems + rollup(child).problems, 0);
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
			const open = !node.file && !node.retention && (node.skipped ? sum.problems > 1 + node.notes.length : level === 0 || (level === 1 ? !isFinished(sum) : !isQuiet(sum)));
			// Until level 4, files stay one per line: a version's few files are what it is made of; and
			// what retention did to a version stays on the version's own line.
			if (level >= 3 && !open && (level === 4 || (!node.file && !node.retention)) && isQuiet(sum)) {
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

const isProblem = (row: Row) => row.kind === 'note' || (row.kind === 'node' && (isTrouble(row.node.skipped) || row.node.file?.reason !== undefined));

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
