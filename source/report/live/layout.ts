// The model as lines of styled text that fit the terminal exactly (pure): names are cut in the
// middle, statuses stay right-aligned, the footer always gets its lines and the tree what is left.
import type {ReasonCode} from '../../domain/reasons.js';
import {clock, formatBytes, formatDuration} from '../../util/format.js';
import {cells, cut} from '../cells.js';
import {changeLine} from '../changes.js';
import {isFinished, isMoving, totals, visibleRows, type Hidden, type Row, type Totals} from './rows.js';
import {isTrouble, type LiveModel, type Node, type Retention, type Rollup} from './state.js';

export type Segment = {text: string; color?: 'green' | 'cyan' | 'yellow' | 'red' | 'gray'; bold?: boolean};
export type Line = Segment[];

export type FrameOptions = {
	width: number;
	/** Lines available: the terminal's rows less one, so the frame never scrolls the screen. */
	height: number;
	now: number;
	/** The first tree row shown while browsing; undefined follows the hashing. */
	scroll?: number;
	/** Whether keys work (stdin is a terminal). */
	keys: boolean;
	/** `--watch`: the watcher's lines, last and cut to the width; they say which keys work. */
	status?: Line[];
};

/** The lines, and the first tree row they show (where a scroll request landed). */
export type Frame = {lines: Line[]; start: number};

export function truncateMiddle(text: string, width: number): string {
	if (cells(text) <= width) {
		return text;
	}

	if (width < 2) {
		return '…'.slice(0, width);
	}

	const head = Math.ceil((width - 1) / 2);
	return `${cut(text, head)}…${cut(text, width - 1 - cells(cut(text, head)), true)}`;
}

/** Cut a line to `width` from its end. */
export function fit(line: Line, width: number): Line {
	const out: Line = [];
	let room = width;
	for (const segment of line) {
		const size = cells(segment.text);
		if (size > room) {
			out.push({...segment, text: room > 1 ? `${cut(segment.text, room - 1)}…` : '…'.slice(0, room)});
			break;
		}

		out.push(segment);
		room -= size;
	}

	return out;
}

export const lineLength = (line: Line) => line.reduce((sum, segment) => sum + cells(segment.text), 0);

/** Each reason in a word or two; the full sentence follows the name when there is room. */
const labels: Record<ReasonCode, string> = {
	'link-outside-root': 'outside root',
	'broken-link': 'broken link',
	'unreadable-directory': 'unreadable',
	'unreadable': 'unreadable',
	'unstatable': 'unreadable',
	'not-a-file': 'not a file',
	'role-taken': 'duplicate',
	'requirements-unusable': 'bad requirements',
	'uploading': 'uploading',
	'bad-name': 'bad name',
	'bad-arch': 'bad arch',
	'damaged': 'damaged',
	'wrong-content': 'wrong content',
	'hash-failed': 'failed',
	'changed': 'changed',
	'metadata-changed': 'changed',
	'no-rootfs': 'no rootfs',
	'no-metadata': 'no metadata',
	'no-image-files': 'nothing usable',
	'duplicate-fingerprint': 'duplicate',
	'no-image-published': 'nothing usable',
	'no-publishable-version': 'nothing usable',
	'requirements-broken': 'bad requirements',
	'requirements-misplaced': 'misplaced',
	'alias-line': 'bad alias',
	'aliases-unreadable': 'unreadable',
	'alias-taken': 'alias taken',
	'version-order': 'mixed names',
	'import-recovered': 'import recovered',
	'import-untidy': 'imported, not tidied',
	'item-unusable': 'unusable item',
	'item-repeated': 'second item',
	'delta-not-mirrored': 'delta',
	'unified-vm': 'unified VM',
	'ftype-not-mirrored': 'ftype not mirrored',
	'no-metadata-item': 'no metadata',
	'no-rootfs-item': 'no rootfs',
	'arch-unpublishable': 'bad arch',
	'product-taken': 'directory taken',
	'import-digests-not-cached': 'digests not cached',
	'watch-limit': 'watch limit',
	'images-not-directory': 'no images',
	'images-outside-root': 'outside root',
	'images-missing': 'no images',
	'images-unreadable': 'unreadable',
	'cache-unreadable': 'cache unreadable',
	'cache-ignored': 'cache ignored',
	'cache-entries-dropped': 'cache damaged',
	'cache-not-saved': 'cache not saved',
	'page-not-ours': 'page not ours',
	'xdelta3-missing': 'no xdelta3',
	'delta-leftover': 'unpublished',
	'base-settling': 'base settling',
	'delta-too-large': 'too large',
	'delta-dry-run': 'not made',
	'xdelta3-failed': 'xdelta3 failed',
	'delta-unmade': 'not made',
	'delta-wrong': 'wrong delta',
	'retired-outside-images': 'not deleted',
	'retired-changed': 'not deleted',
	'undeletable': 'not deleted',
	'not-published-kept': 'kept',
	'directory-kept': 'kept',
};

export const shortReason = (code: ReasonCode) => labels[code];

const spinner = (now: number) => '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[Math.floor(now / 160) % 10]!;

const percent = (done: number, work: number) => `${work > 0 ? Math.floor((done * 100) / work) : 100}%`;

export const rate = (perSecond: number | undefined) => (perSecond === undefined ? '–' : `${formatBytes(perSecond)}/s`);

/** Time left in whole seconds: a run's end cannot be foretold to the millisecond. */
export const eta = (milliseconds: number) => (milliseconds < 1000 ? '< 1 s' : formatDuration(Math.ceil(milliseconds / 1000) * 1000));

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** A heavy line on a light track, in half cells: readable without colour too. */
export function bar(done: number, work: number, width: number): Line {
	const halves = Math.round((work > 0 ? Math.min(1, done / work) : 1) * width * 2);
	const full = Math.floor(halves / 2);
	const half = halves % 2 === 1 ? '╸' : '';
	return [{text: '━'.repeat(full) + half, color: 'cyan'}, {text: '─'.repeat(width - full - half.length), color: 'gray'}];
}

export const barWidth = (width: number) => (width >= 100 ? 20 : width >= 80 ? 14 : 8);

/** A row's icon and its status, from the richest to the sparest: the row shows the richest that fits. */
type Status = {icon: Segment; statuses: Line[]};

function fileStatus(node: Node, width: number, now: number, live: boolean): Status {
	const file = node.file!;
	const size = {text: formatBytes(file.size), color: 'gray'} as const;
	const word = (text: string, color: Segment['color']): Segment => ({text: `  ${text}`, color});
	switch (file.state) {
		case 'hashing': {
			// Its other passes wait for a worker (or the run stopped): say so rather than show a dwindling rate.
			const still = !live ? 'stopped' : isMoving(file, now) ? undefined : 'waiting';
			const pct = {text: percent(file.done, file.work).padStart(5)};
			const speed: Segment = still ? {text: still.padStart(12), color: 'gray'} : {text: rate(file.rate?.perSecond(now)).padStart(12), color: 'cyan'};
			return {
				icon: still ? {text: '◦', color: 'gray'} : {text: spinner(now), color: 'cyan'},
				statuses: [[...bar(file.done, file.work, barWidth(width)), pct, speed], [...bar(file.done, file.work, 4), pct, speed], [pct, speed], [pct]],
			};
		}

		case 'done': {
			const done = word('done', 'green');
			return {icon: {text: '✓', color: 'green'}, statuses: [[size, word(rate(file.perSecond), 'gray'), done], [size, done], [done]]};
		}

		case 'cached': {
			return {icon: {text: '↺', color: 'green'}, statuses: [[size, word('reused', 'green')], [word('reused', 'green')]]};
		}

		case 'queued': {
			return {icon: {text: '·', color: 'gray'}, statuses: [[size, word('queued', 'gray')], [word('queued', 'gray')]]};
		}

		case 'found': {
			return {icon: {text: '·', color: 'gray'}, statuses: [[size], []]};
		}

		case 'skipped': {
			return {icon: {text: '!', color: 'yellow'}, statuses: [[{text: file.reason ? shortReason(file.reason.code) : '', color: 'yellow'}]]};
		}

		case 'failed': {
			return {icon: {text: '✗', color: 'red'}, statuses: [[{text: file.reason ? shortReason(file.reason.code) : '', color: 'red'}]]};
		}
	}
}

/** A directory's rollup: what is done of it, how much, how big, what went wrong (dropped in that order). */
function dirStatus(r: Rollup, depth: number, now: number, live: boolean): Status {
	const finished = isFinished(r);
	const icon: Segment = r.active > 0 && live ? {text: spinner(now), color: 'cyan'}
		: r.problems > 0 ? {text: '!', color: 'yellow'} : finished ? {text: '✓', color: 'green'} : {text: '·', color: 'gray'};
	const all = r.finished === r.files;
	const files: Segment | undefined = r.files === 0 ? undefined
		: {text: all ? (depth < 4 ? plural(r.versions, 'version') : plural(r.files, 'file')) : `${r.finished}/${r.files} files`, color: all ? 'green' : undefined};
	const pct: Segment | undefined = r.active > 0 ? {text: percent(r.done, r.work), color: 'cyan'} : undefined;
	const size: Segment | undefined = r.files > 0 ? {text: formatBytes(r.size), color: 'gray'} : undefined;
	const problems: Segment | undefined = r.problems > 0 ? {text: plural(r.problems, 'problem'), color: 'yellow'} : undefined;
	const join = (...parts: Array<Segment | undefined>): Line => parts.filter(part => part !== undefined)
		.flatMap((part, at) => (at > 0 ? [{text: ' · ', color: 'gray' as const}, part] : [part]));
	return {icon, statuses: [join(files, pct, size, problems), join(files, pct, problems), join(pct ?? files, problems), join(pct ?? files)]};
}

/** When retired files are deleted, in local time to the minute: a grace runs for hours or days. */
function when(iso: string): string {
	const date = new Date(iso);
	return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')} ${clock(date.getTime())}`;
}

/** A retired or deleted version: out of the streams, how big, and when its files go (or that they went). */
function retentionStatus(retention: Retention, write: boolean): Status {
	const size: Segment = {text: ` · ${formatBytes(retention.bytes)}`, color: 'gray'};
	if (retention.kind === 'deleted') {
		const word: Segment = {text: write ? 'deleted' : 'would delete', color: 'yellow'};
		return {icon: {text: '×', color: 'yellow'}, statuses: [[word, {text: ` · ${write ? 'freed' : 'frees'} ${formatBytes(retention.bytes)}`, color: 'gray'}], [word]]};
	}

	const word: Segment = {text: retention.kind === 'pending' ? 'retired earlier' : write ? 'retired' : 'would retire', color: 'yellow'};
	const after: Segment = {text: ` · files deleted after ${when(retention.deleteAfter)}`, color: 'gray'};
	return {icon: {text: '−', color: 'yellow'}, statuses: [[word, size, after], [word, size], [word]]};
}

const nouns = ['systems', 'releases', 'architectures', 'variants', 'versions', 'files'];

function rowLine(row: Row, width: number, now: number, live: boolean, write: boolean): Line {
	const indent = ' '.repeat(row.depth * (width >= 80 ? 2 : 1));
	if (row.kind === 'note') {
		return [{text: indent}, {text: `! ${row.text}`, color: 'yellow'}];
	}

	let name: string;
	let marker: Segment;
	let detail: string | undefined;
	let {icon, statuses} = dirStatus(row.rollup, row.depth, now, live);
	if (row.kind === 'group') {
		name = `${row.nodes.length} ${nouns[row.depth] ?? 'entries'}`;
		marker = {text: '▸ ', color: 'gray'};
	} else {
		const {node} = row;
		name = node.name;
		detail = (node.skipped ?? node.file?.reason)?.text;
		marker = node.file ? {text: ''} : {text: row.open ? '▾ ' : '▸ ', color: 'gray'};
		if (node.retention) {
			({icon, statuses} = retentionStatus(node.retention, write));
		} else if (node.file) {
			({icon, statuses} = fileStatus(node, width, now, live));
		} else if (node.skipped) {
			const hue = isTrouble(node.skipped) ? 'yellow' : 'gray';
			icon = {text: isTrouble(node.skipped) ? '!' : '◦', color: hue};
			statuses = [[{text: shortReason(node.skipped.code), color: hue}]];
		}
	}

	const head = cells(indent) + cells(marker.text) + 2;
	const status = statuses.find(candidate => head + cells(name) + 1 + lineLength(candidate) <= width) ?? statuses.at(-1)!;
	const statusWidth = lineLength(status);
	name = truncateMiddle(name, Math.max(8, width - head - statusWidth - 1));
	let gap = width - head - cells(name) - statusWidth;
	const line: Line = [{text: indent}, marker, icon, {text: ' '}, {text: name, color: row.kind === 'group' ? 'gray' : undefined, bold: row.depth === 0}];
	if (detail && gap > 12) {
		const [shown] = fit([{text: `  ${detail}`, color: 'gray'}], gap - 2);
		line.push(shown!);
		gap -= cells(shown!.text);
	}

	line.push({text: ' '.repeat(Math.max(1, gap))}, ...status);
	return line;
}

function header(model: LiveModel, width: number, now: number): Line {
	const problems = model.skipped + model.warnings;
	const damaged = model.damaged.length;
	const right: Line = model.outcome === 'done'
		? [damaged > 0
			? {text: `✗ done in ${formatDuration((model.ended ?? now) - (model.started ?? now))}: ${plural(damaged, 'damaged file')}`, color: 'red'}
			: problems > 0
			? {text: `! done in ${formatDuration((model.ended ?? now) - (model.started ?? now))} with ${plural(problems, 'problem')}`, color: 'yellow'}
			: {text: `✓ done in ${formatDuration((model.ended ?? now) - (model.started ?? now))}`, color: 'green'}]
		: model.outcome === 'cancelled' ? [{text: '✗ cancelled', color: 'yellow'}]
			: model.outcome === 'failed' ? [{text: '✗ failed', color: 'red'}]
				: model.cancelling ? [{text: `${spinner(now)} cancelling`, color: 'yellow'}]
					: [{text: `${spinner(now)} ${model.phase}`, color: 'cyan'}];
	right.push({text: model.options.verify ? '  verifying' : model.options.write ? '  publishing' : '  dry run', color: 'gray'});
	const title = 'simplestreams  ';
	const root = truncateMiddle(model.root, Math.max(8, width - title.length - lineLength(right) - 1));
	return [{text: title, bold: true}, {text: root}, {text: ' '.repeat(Math.max(1, width - title.length - cells(root) - lineLength(right)))}, ...right];
}

/** Pack footer items into as few lines as the width allows. */
function pack(items: Line[], width: number): Line[] {
	const lines: Line[] = [];
	for (const item of items) {
		const last = lines.at(-1);
		if (last && lineLength(last) + 3 + lineLength(item) <= width) {
			last.push({text: ' · ', color: 'gray'}, ...item);
		} else {
			lines.push([...item]);
		}
	}

	return lines;
}

function footer(model: LiveModel, t: Totals, options: FrameOptions): Line[] {
	const hashing = model.phase === 'hashing' && !model.outcome;
	const warn = (text: string, count: number): Line => [{text, color: count > 0 ? 'yellow' : 'gray'}];
	const items: Line[] = [
		[{text: 'files ', color: 'gray'}, {text: `${t.finished}/${t.files}`, bold: true}],
		t.work > 0
			? [{text: `${formatBytes(t.done)} / ${formatBytes(t.work)}`}, {text: ` hashed ${percent(t.done, t.work)}`, color: 'gray'}]
			: [{text: model.outcome || model.phase === 'hashing' || model.hash.finished ? 'nothing to hash' : 'hashing not started', color: 'gray'}],
		...(t.work > 0 || !model.outcome ? [[{text: rate(t.perSecond), color: 'cyan' as const}, ...(model.hash.finished ? [{text: ` over ${formatDuration(model.hash.milliseconds)}`, color: 'gray' as const}] : [])]] : []),
		...(hashing ? [[{text: 'ETA ', color: 'gray' as const}, {text: t.eta === undefined ? '–' : eta(t.eta)}]] : []),
		// Once it is over no worker is busy: the count would only say how many there were.
		...(model.outcome ? [] : [[{text: 'workers ', color: 'gray' as const}, {text: `${t.busy}/${t.jobs}`}]]),
		[{text: `${t.reused} reused from cache`, color: t.reused > 0 ? 'green' : 'gray'}],
		...(model.options.verify ? [[{text: plural(model.damaged.length, 'damaged file'), color: model.damaged.length > 0 ? 'red' as const : 'gray' as const}]] : []),
		...retentionItems(model),
		warn(`${t.skipped} skipped`, t.skipped),
		warn(plural(t.warnings, 'warning'), t.warnings),
	];
	return [[{text: '─'.repeat(options.width), color: 'gray'}], ...pack(items, options.width), ...ending(model, options)];
}

/** What retention did (or would do, in a dry run): the versions and leftovers that left the streams, those deleted, and the space. */
function retentionItems(model: LiveModel): Line[] {
	const {retired, deleted} = model.retention;
	const write = model.options.write;
	const count = ({versions, leftovers}: {versions: number; leftovers: number}) =>
		[versions > 0 ? plural(versions, 'version') : '', leftovers > 0 ? plural(leftovers, 'leftover') : ''].filter(Boolean).join(', ');
	return [
		...(retired.versions + retired.leftovers > 0 ? [[{text: `${write ? 'retired' : 'would retire'} ${count(retired)}`, color: 'yellow' as const},
			{text: ` (${formatBytes(retired.bytes)}, files deleted after ${when(retired.deleteAfter!)})`, color: 'gray' as const}]] : []),
		...(deleted.versions + deleted.leftovers > 0 ? [[{text: `${write ? 'deleted' : 'would delete'} ${count(deleted)}`, color: 'yellow' as const},
			{text: ` (${write ? 'freed' : 'frees'} ${formatBytes(deleted.bytes)})`, color: 'gray' as const}]] : []),
	];
}

/** The last lines: how to steer while running; what happened once it is over. */
function ending(model: LiveModel, options: FrameOptions): Line[] {
	const root = model.root;
	switch (model.outcome) {
		case undefined: {
			if (model.cancelling) {
				return [[{text: 'cancelling: stopping the hash workers; nothing will be written', color: 'yellow'}]];
			}

			if (options.status) {
				return [];
			}

			return [[{text: options.keys ? '↑↓ j/k scroll · esc follow · q cancel' : 'Ctrl-C cancels', color: 'gray'}]];
		}

		case 'done': {
			const c = model.cataloged;
			const lines: Line[] = c
				? [[{text: `✓ ${model.options.write ? 'published' : 'would publish'} `, color: 'green'}, {text: `${plural(c.images.lxd, 'image')} for LXD, ${c.images.incus} for Incus`, bold: true},
					{text: ` · ${plural(c.products, 'product')} · ${plural(c.versions, 'version')}`},
					...(model.deltasMade > 0 ? [{text: ` · made ${plural(model.deltasMade, 'delta')}`}] : [])]]
				: [];
			if (model.changes) {
				const {added, removed} = model.changes;
				lines.push([{text: model.options.write ? 'changes: ' : 'would change: ', color: 'gray'},
					{text: changeLine(added, removed), bold: added.length + removed.length > 0}]);
			}

			if (model.damaged.length > 0) {
				lines.push([{text: `✗ ${plural(model.damaged.length, 'damaged file')}`, color: 'red', bold: true}, {text: ' (the report below names each); next:', color: 'gray'}]);
				const steps = new Map<string, number>();
				for (const {next} of model.damaged) {
					steps.set(next, (steps.get(next) ?? 0) + 1);
				}

				for (const [next, files] of steps) {
					lines.push([{text: '  → ', color: 'red'}, {text: next}, {text: files > 1 ? ` (${files} files)` : '', color: 'gray'}]);
				}
			}

			if (!model.options.write && !model.options.verify) {
				lines.push([{text: `dry run: nothing written (${model.options.streamsOut ? 'images.json went to stdout; -N publishes' : '-N publishes; --json prints images.json'})`, color: 'gray'}]);
			} else if (model.written.length > 0) {
				const changed = model.written.filter(w => w.changed).map(w => w.path);
				const same = model.written.filter(w => !w.changed).map(w => w.path);
				lines.push([{text: [changed.length > 0 ? `wrote ${changed.join(', ')}` : '', same.length > 0 ? `unchanged ${same.join(', ')}` : ''].filter(Boolean).join('; ')}, {text: ` in ${root}`, color: 'gray'}]);
			}

			return lines;
		}

		case 'cancelled': {
			return [[{text: '✗ cancelled: nothing written', color: 'yellow'}, {text: model.cacheSaved ? '; the digest cache keeps what finished' : '', color: 'gray'}]];
		}

		case 'failed': {
			return [[{text: '✗ failed: the error follows', color: 'red'}]];
		}
	}
}

export function frame(model: LiveModel, options: FrameOptions): Frame {
	const {width, now} = options;
	const bottom = [...footer(model, totals(model, now), options).flatMap(line => (lineLength(line) > width ? wrap(line, width) : [line])), ...options.status ?? []];
	const view = visibleRows(model.tree, Math.max(1, options.height - 1 - bottom.length), now, options.scroll);
	const more = (arrow: string, hidden: Hidden): Line[] => (hidden.rows === 0 ? [] : [[{text: `  ${arrow} ${hidden.rows} more`, color: 'gray'},
		...(hidden.problems > 0 ? [{text: ` · ${plural(hidden.problems, 'problem')}`, color: 'yellow' as const}] : [])]]);
	const lines = [
		header(model, width, now),
		...more('↑', view.above),
		...view.rows.map(row => rowLine(row, width, now, model.outcome === undefined, model.options.write)),
		...more('↓', view.below),
		...bottom,
	];
	return {lines: lines.map(line => fit(line, width)), start: view.start};
}

/**
 * Split a line too long for the screen into lines between words (summaries name paths of any
 * length); only a word wider than the screen is cut, and a word never starts a line with the
 * spaces that led to it.
 */
function wrap(line: Line, width: number): Line[] {
	const lines: Line[] = [[]];
	let room = width;
	const newLine = () => {
		lines.push([]);
		room = width;
	};

	for (const segment of line) {
		// Each word with the spaces before it.
		for (let word of segment.text.match(/\s*\S+|\s+/g) ?? []) {
			if (cells(word) > room && room < width && cells(word.trimStart()) <= width) {
				// Spaces that do not fit end the line and are not carried over.
				newLine();
				word = word.trimStart();
			}

			while (cells(word) > room) {
				// Wider than the screen: cut, and at least one character taken on a line of its own.
				const taken = cut(word, room) || (room === width ? [...word][0]! : '');
				if (taken !== '') {
					lines.at(-1)!.push({...segment, text: taken});
					word = word.slice(taken.length);
				}

				newLine();
			}

			if (word !== '') {
				lines.at(-1)!.push({...segment, text: word});
				room -= cells(word);
			}
		}
	}

	return lines;
}
