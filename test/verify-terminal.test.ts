// `simplestreams verify` in a real terminal (tmux) on a tree with damaged files: the problems show
// where they are (the file nodes, the header, the footer) with what to do next, and the report
// below the tree gives one line per damaged file, not one per item and client.
import {execFileSync} from 'node:child_process';
import {appendFile, rm} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {cells} from '../source/report/cells.js';
import {copyExample, distPath, tempDir} from './helpers/fixtures.js';
import {terminal} from './helpers/terminal.js';

const cli = distPath('cli.js');
const vm = 'images/demo/1.0/amd64/default/20240615_00:00';

test('verify in a 120×35 terminal: damaged files marked in the tree, header and footer, the next step, one report line per file', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await copyExample(root);
	const env = {XDG_CACHE_HOME: path.join(dir, 'xdg'), CI: undefined};
	t.is((await execa(process.execPath, [cli, '-N', '--plain', root], {reject: false, env})).exitCode, 0);
	// A disk image grown by two bytes (its size, sha256 and both clients' fingerprints are wrong) and a rootfs gone.
	await appendFile(path.join(root, vm, 'disk.qcow2'), 'xx');
	await rm(path.join(root, 'images/demo/2.0/amd64/cloud/20240701_12:00/root.squashfs'));

	const term = terminal(t, dir, ['verify', root], '', {width: 120, height: 35}, {env: `XDG_CACHE_HOME=${env.XDG_CACHE_HOME}`});
	t.is(await term.exitCode(), 1);
	// The report below the final frame scrolls its top line into the history: read that too.
	const screen = execFileSync('tmux', ['-f', '/dev/null', '-S', path.join(dir, 'tmux.sock'), 'capture-pane', '-p', '-S', '-50', '-t', 'live'], {encoding: 'utf8'});
	const lines = screen.split('\n');
	t.regex(screen, new RegExp(`^simplestreams  ${root} +✗ done in .*: 3 damaged files\\s+verifying$`, 'm'), 'the header names the root');
	t.regex(screen, /✗ disk\.qcow2\s+has sha256 [0-9a-f]{12}…, the item says [0-9a-f]{6}.*damaged/);
	t.regex(screen, /✗ root\.squashfs\s+is missing: every download of it fails\s+damaged/);
	t.regex(screen, /✗ incus\.tar\.xz\s+fingerprint [0-9a-f]{12}… of the disk-kvm\.img/);
	t.regex(screen, /· 3 damaged files ·/);
	// A long next step is wrapped between words: read it whole.
	const unwrapped = screen.replaceAll('\n', ' ');
	t.regex(unwrapped, /→ if the file on disk is the right one, touch it and run simplestreams -N .*; if not, put back the one the streams name \(2 files\)/);
	t.regex(unwrapped, /→ put the file back, or simplestreams -N \S+ publishes the tree without it/);
	const report = lines.filter(line => line.startsWith('✗ images/'));
	t.deepEqual(report.map(line => /^✗ (\S+)( \(\d problems\))?: /.exec(line)?.[1]), [`${vm}/disk.qcow2`, `${vm}/incus.tar.xz`, 'images/demo/2.0/amd64/cloud/20240701_12:00/root.squashfs'], screen);
	t.true(report.every(line => cells(line.trimEnd()) <= 120), screen);
	t.regex(report[0]!, /disk\.qcow2 \(2 problems\): has sha256 /, 'the size and the sha256 of one file: one line');
	t.regex(screen, /^5 problems: 3 products/m);
});

test('verify off a terminal: every problem in full on stdout, each damaged file with its next step on stderr', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await copyExample(root);
	const env = {XDG_CACHE_HOME: path.join(dir, 'xdg'), CI: undefined};
	t.is((await execa(process.execPath, [cli, '-N', '--plain', root], {reject: false, env})).exitCode, 0);
	await rm(path.join(root, 'images/demo/2.0/amd64/cloud/20240701_12:00/root.squashfs'));
	const result = await execa(process.execPath, [cli, 'verify', root], {reject: false, env});
	t.is(result.exitCode, 1);
	t.regex(result.stdout, /^problem: product demo:2\.0:amd64:cloud, version 20240701_12:00, item root\.squashfs, file images\/demo\/2\.0\/amd64\/cloud\/20240701_12:00\/root\.squashfs: is missing/m);
	t.regex(result.stderr, /damaged images\/demo\/2\.0\/amd64\/cloud\/20240701_12:00\/root\.squashfs \(1 problem\): put the file back, or simplestreams -N /);
});
