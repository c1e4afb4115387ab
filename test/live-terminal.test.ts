// The live tree in a real terminal: tmux runs the CLI on a 2 GiB rootfs hashed by one worker, and
// capture-pane shows what an operator sees. CI sets CI=true, which turns Ink off: the program under
// test runs with it (and everything else Ink takes for CI) cleared, or these tests would test nothing.
import {execFileSync} from 'node:child_process';
import {readdir, readFile, stat} from 'node:fs/promises';
import path from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import test, {type ExecutionContext} from 'ava';
import {liveTree} from './live-tree.js';

const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
const bigRootfs = 2 * 1024 ** 3;
const quote = (text: string) => `'${text.replaceAll('\'', '\'\\\'\'')}'`;
const noCi = ['CI', 'CONTINUOUS_INTEGRATION', ...Object.keys(process.env).filter(key => key.startsWith('CI_'))].map(key => `-u ${key}`).join(' ');

/** A private tmux server running `args` in a pane (100×32) that stays open after the program exits. */
function terminal(t: ExecutionContext, dir: string, args: string[], redirect: string, size = {width: 100, height: 32}) {
	const socket = path.join(dir, 'tmux.sock');
	const tmux = (...rest: string[]) => execFileSync('tmux', ['-f', '/dev/null', '-S', socket, ...rest], {encoding: 'utf8'});
	const files = {rc: path.join(dir, 'rc'), stty: path.join(dir, 'stty')};
	const command = `env ${noCi} ${quote(process.execPath)} ${[cli, ...args].map(quote).join(' ')} ${redirect}; `
		+ `echo $? > ${quote(files.rc)}; stty -a > ${quote(files.stty)}; sleep 600`;
	tmux('new-session', '-d', '-x', String(size.width), '-y', String(size.height), '-s', 'live', command);
	t.teardown(() => {
		tmux('kill-server');
	});
	const capture = () => tmux('capture-pane', '-p', '-t', 'live');
	return {
		capture,
		/** Escape codes included: what the program really drew. */
		captureRaw: () => tmux('capture-pane', '-e', '-p', '-t', 'live'),
		keys: (...keys: string[]) => tmux('send-keys', '-t', 'live', ...keys),
		resize: (width: number, height: number) => tmux('resize-window', '-t', 'live', '-x', String(width), '-y', String(height)),
		cursorVisible: () => tmux('display', '-p', '-t', 'live', '#{cursor_flag}').trim() === '1',
		alternateScreen: () => tmux('display', '-p', '-t', 'live', '#{alternate_on}').trim() === '1',
		async until(what: string, check: (screen: string) => boolean, timeout = 60_000) {
			const end = Date.now() + timeout;
			for (;;) {
				const screen = capture();
				if (check(screen)) {
					return screen;
				}

				if (Date.now() > end) {
					throw new Error(`timed out waiting for ${what}; the screen:\n${screen}`);
				}

				await delay(50);
			}
		},
		async exitCode(timeout = 60_000) {
			const end = Date.now() + timeout;
			while (Date.now() < end) {
				const rc = await readFile(files.rc, 'utf8').catch(() => '');
				if (rc.trim() !== '') {
					return Number(rc);
				}

				await delay(20);
			}

			throw new Error(`the program did not exit; the screen:\n${capture()}`);
		},
		stty: async () => readFile(files.stty, 'utf8'),
	};
}

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
	t.true(took < 2000, `exited ${Math.round(took)} ms after Ctrl-C`);
	t.log(`exit ${Math.round(took)} ms after Ctrl-C`);
	t.deepEqual(await readdir(path.join(root, 'streams/v1')), [], 'no streams, not even half-written ones');
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
