// A dry run as an operator sees it in a terminal: the summary and what would change, not pages of
// JSON (that only with --json, or off a terminal); and every run says which versions come and go.
import {mkdir, rm} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {copyExample, distPath, tempDir} from './helpers/fixtures.js';
import {terminal} from './helpers/terminal.js';

const cli = distPath('cli.js');

async function exampleRoot(t: Parameters<typeof tempDir>[0]) {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await copyExample(root);
	const env = {XDG_CACHE_HOME: path.join(dir, 'xdg'), CI: undefined};
	const run = async (args: string[]) => execa(process.execPath, [cli, ...args], {reject: false, stdin: 'ignore', env});
	return {dir, root, run, env: `XDG_CACHE_HOME=${env.XDG_CACHE_HOME}`};
}

test.serial('a dry run in an 80×24 terminal: the summary and what would change, no JSON; --json prints it', async t => {
	const {dir, root, env} = await exampleRoot(t);
	const term = terminal(t, dir, [root], '', {width: 80, height: 24}, {env});
	t.is(await term.exitCode(), 0);
	const screen = term.capture();
	t.regex(screen, /✓ would publish 6 images for LXD, 6 for Incus/);
	t.regex(screen, /would change: \+4 \(demo:1\.0:amd64:default 20240601_00:00, /);
	t.regex(screen, /dry run: nothing written \(-N publishes; --json prints images\.json\)/);
	t.notRegex(screen, /"products"|"versions"|sha256/, screen);

	await mkdir(path.join(dir, 'asked'));
	const asked = terminal(t, path.join(dir, 'asked'), ['--json', root], '', {width: 80, height: 24}, {env});
	t.is(await asked.exitCode(), 0);
	t.regex(asked.capture(), /"size": ?\d+/);
});

test.serial('a dry run in a terminal whose JSON cannot be written (> /dev/full, a full disk): the screen, then one line saying so, exit 1', async t => {
	const {dir, root, env} = await exampleRoot(t);
	const term = terminal(t, dir, [root], '> /dev/full', {width: 120, height: 24}, {env});
	t.is(await term.exitCode(), 1);
	const screen = term.capture();
	t.regex(screen, /✓ would publish 6 images for LXD, 6 for Incus/);
	t.regex(screen, /^simplestreams: cannot write to stdout \(ENOSPC: no space left on the device\): the rest of its output is lost$/m, screen);
	t.notRegex(screen, /^\s+at /m, screen);
});

test('every run names the versions it adds and drops: -N, an unchanged -N, a dry run after a removal', async t => {
	const {root, run} = await exampleRoot(t);
	const first = await run(['-N', '--plain', root]);
	t.is(first.exitCode, 0, first.stderr);
	t.regex(first.stderr, /changes: \+4 \(demo:1\.0:amd64:default 20240601_00:00, demo:1\.0:amd64:default 20240615_00:00, demo:1\.0:arm64:default 20240601_00:00, …\)/);

	const again = await run(['-N', '--plain', root]);
	t.regex(again.stderr, /changes: no version changes/);

	await rm(path.join(root, 'images/demo/2.0/amd64/cloud/20240701_12:00'), {recursive: true});
	const dry = await run(['--plain', root]);
	t.regex(dry.stderr, /would change: -1 \(demo:2\.0:amd64:cloud 20240701_12:00\)/);
	t.regex(dry.stdout, /^\{/, 'off a terminal the JSON goes to stdout, as before');

	const refused = await run(['-N', '--json', root]);
	t.is(refused.exitCode, 2);
	t.regex(refused.stderr, /--json applies to a dry run/);
});
