// A real terminal for the live screens: a private tmux server runs the CLI in a pane, and
// capture-pane shows what an operator sees. CI sets CI=true, which turns Ink off: the program under
// test runs with it (and everything else Ink takes for CI) cleared, or these tests would test nothing.
import {execFileSync} from 'node:child_process';
import {readFile} from 'node:fs/promises';
import path from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import type {ExecutionContext} from 'ava';

const cli = fileURLToPath(new URL('../../cli.js', import.meta.url));
export const quote = (text: string) => `'${text.replaceAll('\'', '\'\\\'\'')}'`;
/** `env` options that clear every variable Ink (and so the CLI) takes for CI. */
export const noCi = ['CI', 'CONTINUOUS_INTEGRATION', ...Object.keys(process.env).filter(key => key.startsWith('CI_'))].map(key => `-u ${key}`).join(' ');

/**
 * A private tmux server running `args` in a pane (100×32) that stays open after the program exits.
 * With `passHangUp`, `hangUp()` closes the pane as a dropped SSH session closes a terminal: the shell
 * around the program passes the hang-up on, as a login shell does, and survives it to record the
 * program's exit code (the program then runs in the background, its stdin the terminal still).
 * `env`: variables (NAME=value …) set for the program after the CI ones are cleared.
 */
export function terminal(t: ExecutionContext, dir: string, args: string[], redirect: string, size = {width: 100, height: 32}, {passHangUp = false, env = ''} = {}) {
	const socket = path.join(dir, 'tmux.sock');
	const tmux = (...rest: string[]) => execFileSync('tmux', ['-f', '/dev/null', '-S', socket, ...rest], {encoding: 'utf8'});
	const files = {rc: path.join(dir, 'rc'), stty: path.join(dir, 'stty')};
	const program = `env ${noCi} ${env} ${quote(process.execPath)} ${[cli, ...args].map(quote).join(' ')} ${redirect}`;
	const run = passHangUp ? `${program} < /dev/tty & child=$!; trap 'hungup=1; kill -HUP $child' HUP; wait $child; wait $child` : program;
	// The pane stays for the screen to be read; after a hang-up there is none, and the shell ends.
	// The exit code is written last: a test that has it may remove the directory.
	const command = `${run}; rc=$?; stty -a > ${quote(files.stty)}; echo $rc > ${quote(files.rc)}; [ -n "$hungup" ] || sleep 600`;
	tmux('new-session', '-d', '-x', String(size.width), '-y', String(size.height), '-s', 'live', command);
	let closed = false;
	t.teardown(() => {
		if (!closed) {
			tmux('kill-server');
		}
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
		/** Close the terminal under the program: SIGHUP, and every later write to it fails. */
		hangUp() {
			closed = true;
			tmux('kill-server');
		},
	};
}
