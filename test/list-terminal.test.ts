// `simplestreams list` as an operator sees it: in a real terminal (tmux) the table fits the width,
// piped it keeps every column, and terms after the rootdir filter the rows.
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {cells} from '../source/report/cells.js';
import {copyExample, distPath, tempDir} from './helpers/fixtures.js';
import {terminal} from './helpers/terminal.js';

const cli = distPath('cli.js');

/** The example tree (four versions, aliases on three products), published. */
async function published(t: Parameters<typeof tempDir>[0]) {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await copyExample(root);
	const run = async (args: string[]) => execa(process.execPath, [cli, ...args], {reject: false, stdin: 'ignore', env: {XDG_CACHE_HOME: path.join(dir, 'xdg'), CI: undefined}});
	t.is((await run(['-N', '--plain', root])).exitCode, 0);
	return {dir, root, run};
}

for (const [width, height] of [[120, 35], [80, 24], [60, 20]] as const) {
	test.serial(`list in a ${width}×${height} terminal: one line per image, aliases as "(N more)", what is left out named`, async t => {
		const {dir, root} = await published(t);
		const term = terminal(t, dir, ['list', root], '', {width, height});
		t.is(await term.exitCode(), 0);
		const lines = term.capture().split('\n').filter(line => line.trim() !== '');
		t.true(lines.every(line => cells(line.trimEnd()) <= width), lines.join('\n'));
		t.regex(lines[0]!, /^ALIAS\s+FINGERPRINT/);
		// Six images, each on one line (a wrapped row would begin with a blank or a fragment).
		t.is(lines.filter(line => /^(demo\/|-\s)/.test(line)).length, 6, lines.join('\n'));
		t.true(lines.some(line => line.startsWith('demo/1.0 (3 more)')), lines.join('\n'));
		if (width < 120) {
			const note = lines.slice(lines.findIndex(line => line.startsWith('(--format json'))).join(' ');
			t.regex(note, /^\(--format json shows all; left out at this width: .*REQUIREMENTS.*\)$/);
		}
	});
}

test('list piped keeps every column and every alias; TERMs after the rootdir filter the rows', async t => {
	const {root, run} = await published(t);
	const all = await run(['list', root]);
	t.regex(all.stdout, /demo\/1\.0\/default, demo\/1\.0\/default\/amd64, demo\/1\.0, demo\/1\.0\/amd64/);
	t.regex(all.stdout, /DELTA FROM\s+CLIENTS/);

	const arm = await run(['list', root, 'arch=arm64']);
	t.is(arm.exitCode, 0);
	t.is(arm.stdout.split('\n').length, 2, arm.stdout);
	t.regex(arm.stdout, /fc7e5d70879d\s+CONTAINER\s+arm64/);

	const cloud = await run(['list', root, 'demo/2.0', 'type=container']);
	t.is(cloud.stdout.split('\n').length, 2, cloud.stdout);
	t.regex(cloud.stdout, /1a2b6bf2343b/);

	const vms = await run(['list', root, 'type=vm', '--format', 'csv']);
	t.is(vms.stdout.split('\n').length, 3, vms.stdout);

	const byFingerprint = await run(['list', root, '2cb362']);
	t.regex(byFingerprint.stdout, /^-\s+2cb362de4411/m);

	const none = await run(['list', root, 'fedora']);
	t.is(none.exitCode, 0);
	t.is(none.stdout, 'no image matches fedora (of 6 listed)');
});
