// The live tree in a real terminal (test/helpers/terminal.ts: tmux, CI variables cleared): the CLI
// on a 2 GiB rootfs hashed by one worker, and capture-pane shows what an operator sees.
import {readdir, readFile, stat} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {quote, terminal} from './helpers/terminal.js';
import {liveTree} from './live-tree.js';

const bigRootfs = 2 * 1024 ** 3;

/** The rootfs line's percent, when it is hashing. */
const hashing = (screen: string) => /root\.squashfs\s+[━╸─]+\s+(\d+)%/.exec(screen)?.[1];

test.serial('a dry run draws the tree on stderr: the bar advances, the summary stays, stdout gets clean JSON', async t => {
	const {dir, root} = await liveTree(t, bigRootfs);
	const out = path.join(dir, 'images.json');
	const term = terminal(t, dir, ['-j', '1', '--cache', path.join(dir, 'cache.json'), root], `> ${quote(out)}`);
	const first = await term.until('the rootfs bar', screen => hashing(screen) !== undefined);
	t.true(term.alternateScreen(), 'live on the alternate screen');
	// A later capture, still hashing, with the bar further on (how much later depends on the machine's load).
	const second = await term.until('the bar to advance', screen => hashing(screen) === undefined || Number(hashing(screen)) > Number(hashing(first)));
	t.truthy(hashing(second), `still hashing:\n${second}`);
	t.true(Number(hashing(second)) > Number(hashing(first)), `${hashing(first)}% then ${hashing(second)}%`);
	t.regex(first, /simplestreams\s+\S*webroot.*hashing\s+dry run/);
	t.regex(first, /▾ \S acme/);
	t.regex(first, /files [01]\/2 · .* hashed \d+% · (.*\/s|–) · ETA .* · workers 1\/1/);
	t.regex(first, /q cancel/);

	t.is(await term.exitCode(), 0);
	const final = term.capture();
	t.regex(final, /✓ done in/);
	t.regex(final, /✓ would publish 1 image for LXD, 1 for Incus · 1 product · 1 version/);
	t.regex(final, /dry run: nothing written/);
	t.regex(final, /files 2\/2 · 2\.00 GiB \/ 2\.00 GiB hashed 100%/);
	t.regex(term.captureRaw(), /\u001B\[[\d;]*m/, 'in colour');
	const json = await readFile(out, 'utf8');
	t.false(json.includes('\u001B'), 'no escape codes in the JSON');
	t.truthy((JSON.parse(json) as {products: Record<string, unknown>}).products['acme:1.0:amd64:default']);
	t.true(term.cursorVisible());
	t.false(term.alternateScreen(), 'the final frame is on the shell\'s screen');
});

test.serial('Ctrl-C mid-hash: workers stop at once, nothing is written, exit 130, the terminal is sane', async t => {
	const {dir, root} = await liveTree(t, bigRootfs);
	const cache = path.join(dir, 'cache.json');
	const term = terminal(t, dir, ['-N', '-j', '1', '--cache', cache, root], '');
	await term.until('the rootfs bar', screen => hashing(screen) !== undefined);
	const pressed = performance.now();
	term.keys('C-c');
	t.is(await term.exitCode(), 130);
	const took = performance.now() - pressed;
	t.log(`exit ${Math.round(took)} ms after Ctrl-C`);
	await t.throwsAsync(readdir(path.join(root, 'streams')), {code: 'ENOENT'}, 'no streams, not even half-written ones');
	t.true((await stat(cache)).isFile(), 'the cache keeps what finished');
	const screen = term.capture();
	t.regex(screen, /✗ cancelled/);
	t.regex(screen, /✗ cancelled: nothing written; the digest cache keeps what finished/);
	t.regex(screen, /◦ root\.squashfs\s+\S+\s+\d+%\s+stopped/);
	const stty = await term.stty();
	t.regex(stty, /(^|\s)icanon(\s|$)/, 'line editing is back');
	t.regex(stty, /(^|\s)echo(\s|$)/, 'echo is back');
	t.true(term.cursorVisible(), 'the cursor is back');
	t.false(term.alternateScreen(), 'the shell\'s screen is back');
});

test.serial('the terminal hangs up mid-hash (a dropped SSH session): nothing is written, the cache keeps what finished, exit 129', async t => {
	const {dir, root} = await liveTree(t, bigRootfs);
	const cache = path.join(dir, 'cache.json');
	const term = terminal(t, dir, ['-N', '-j', '1', '--cache', cache, root], '', undefined, {passHangUp: true});
	await term.until('the rootfs bar', screen => hashing(screen) !== undefined);
	const closed = performance.now();
	term.hangUp();
	t.is(await term.exitCode(), 129);
	t.log(`exit ${Math.round(performance.now() - closed)} ms after the hang-up`);
	await t.throwsAsync(readdir(path.join(root, 'streams')), {code: 'ENOENT'}, 'no streams, not even half-written ones');
	const saved = JSON.parse(await readFile(cache, 'utf8')) as {format: string; files: Record<string, unknown>};
	t.is(saved.format, 'simplestreams-digests:2');
	t.deepEqual(Object.keys(saved.files).map(file => path.basename(file)).sort(), ['lxd.tar.xz', 'root.squashfs'], 'what the probe learned of both files');
});

test.serial('60 columns and resizes keep the layout whole; q cancels', async t => {
	const {dir, root} = await liveTree(t, bigRootfs);
	const term = terminal(t, dir, ['-j', '1', '--cache', path.join(dir, 'cache.json'), root], '> /dev/null', {width: 60, height: 24});
	/** One header on top, one footer rule as wide as the pane, and nothing wrapped. */
	const whole = (width: number) => (screen: string) => {
		const lines = screen.split('\n');
		return lines[0]!.startsWith('simplestreams ') && screen.split('simplestreams ').length === 2 && screen.includes('q cancel')
			&& lines.filter(line => /^─+$/.test(line)).join('\n') === '─'.repeat(width);
	};

	await term.until('the rootfs bar', screen => hashing(screen) !== undefined && whole(60)(screen));
	// Between the pane's resize and the program's redraw a frame may show wrapped: it must not stay.
	for (const [width, height] of [[100, 30], [60, 20], [72, 16]] as const) {
		term.resize(width, height);
		t.true(whole(width)(await term.until(`a whole frame at ${width} columns`, whole(width), 5000)));
	}

	term.keys('q');
	t.is(await term.exitCode(), 130);
	t.regex(term.capture(), /✗ cancelled: nothing written/);
});

test.serial('--plain in a terminal: plain lines, not one escape code', async t => {
	const {dir, root} = await liveTree(t, 4096);
	const term = terminal(t, dir, ['--plain', '-N', '--cache', path.join(dir, 'cache.json'), root], '');
	t.is(await term.exitCode(), 0);
	const screen = term.captureRaw();
	t.regex(screen, /^hashed images\/acme\/1\.0\/amd64\/default\/20240101_0000\/root\.squashfs/m);
	t.regex(screen, /^wrote streams\/v1\/index\.json$/m);
	t.false(screen.includes('\u001B'), screen);
});
