// `--watch` in a real terminal (tmux): the live tree of the last regeneration with the watcher's
// status under it, an upload renamed into place reported there, and q stopping the watcher cleanly;
// with --log plain, log lines instead.
import {mkdir, readdir, readFile, rename, utimes} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {imageVersion, tempDir} from './helpers/images.js';
import {terminal} from './helpers/terminal.js';

const product = 'images/acme/1.0/amd64/default';
const version = async (root: string, name: string) =>
	imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: name, meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});

test.serial('the tree and a status line; a renamed upload shows as +1; q stops the watcher with exit 0', async t => {
	const tmp = await tempDir('ss-watch-term');
	t.teardown(async () => tmp.cleanup());
	const root = path.join(tmp.path, 'webroot');
	await mkdir(path.join(root, 'images'), {recursive: true});
	await version(root, '20240101_0000');
	// Older than the settle window, as a tree the watcher starts on usually is: published at once.
	const past = new Date(Date.now() - 60_000);
	for (const entry of await readdir(root, {recursive: true, withFileTypes: true})) {
		if (entry.isFile()) {
			await utimes(path.join(entry.parentPath, entry.name), past, past);
		}
	}

	const term = terminal(t, tmp.path, ['--watch', root, '--settle', '0.4', '--cache', path.join(tmp.path, 'cache.json')], '');
	const first = await term.until('the first regeneration in the status', screen => /last regeneration \d\d:\d\d:\d\d in .* · \+1 -0/.test(screen));
	t.true(term.alternateScreen(), 'live on the alternate screen');
	t.regex(first, /simplestreams\s+\S*webroot.*✓ done in/);
	t.regex(first, /acme/);
	t.regex(first, /watching \S*webroot since \d\d:\d\d \(/);
	t.regex(first, /1 images for LXD, 1 for Incus · streams updated/);
	t.regex(first, /✓ idle · .*q stops watching/);

	const upload = await version(root, '.20240102_0000'); // An upload in progress: a dot-dir, ignored until renamed.
	await rename(upload.dir, path.join(root, product, '20240102_0000'));
	const after = await term.until('the arrival in the status', screen => /\+1 -0 · 2 images for LXD/.test(screen));
	t.regex(after, /\+acme:1\.0:amd64:default 20240102_0000/);
	t.regex(after, /20240102_0000/, 'the tree is the new regeneration\'s');

	term.keys('q');
	t.is(await term.exitCode(10_000), 0);
	t.false(term.alternateScreen(), 'the shell\'s screen is back');
	t.true(term.cursorVisible(), 'the cursor is back');
	const stty = await term.stty();
	t.regex(stty, /(^|\s)icanon(\s|$)/, 'line editing is back');
	t.regex(stty, /(^|\s)echo(\s|$)/, 'echo is back');
	t.regex(term.capture(), /stopped/, 'the last frame stays, with the status');
	t.truthy(JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')));
});

test.serial('--log plain in a terminal: timestamped log lines in the pane, not the live screen', async t => {
	const tmp = await tempDir('ss-watch-term-log');
	t.teardown(async () => tmp.cleanup());
	const root = path.join(tmp.path, 'webroot');
	await version(root, '20240101_0000');
	const term = terminal(t, tmp.path, ['--watch', root, '--settle', '0.4', '--cache', path.join(tmp.path, 'cache.json'), '--log', 'plain'], '');
	const screen = await term.until('a regeneration logged', text => /regenerated in .*: \+1 \(acme:1\.0:amd64:default 20240101_0000\)/.test(text));
	t.false(term.alternateScreen(), 'no live screen');
	t.regex(screen, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z watching \S*webroot \(changes settle for 400 ms\)$/m);
	t.regex(screen, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z regenerated in /m);
	t.notRegex(screen, /✓ done in|q stops watching/, 'no tree, no status line');
	term.keys('C-c');
	t.is(await term.exitCode(10_000), 0);
	t.regex(term.capture(), /Z stopped$/m);
});
