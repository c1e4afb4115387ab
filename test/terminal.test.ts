// What a terminal is, decided once (source/report/terminal.ts): every command of one run answers
// alike, whatever CI says.
import {mkdir} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {importSource, scratch} from './helpers/import.js';
import {requireTool} from './helpers/images.js';
import {terminal} from './helpers/terminal.js';

// CI=false is CI switched off (Ink reads it so): the run gets its live tree, so -i gets its wizard.
test('with CI=false in a terminal, -i asks in the wizard as a run draws its live tree', async t => {
	await requireTool('tmux');
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'));
	const root = path.join(dir, 'root');
	await mkdir(path.join(root, 'images'), {recursive: true});
	const term = terminal(t, dir, ['-i', src, root, '--cache', path.join(dir, 'cache.json')], '', {width: 100, height: 32}, {env: 'CI=false'});
	await term.until('the wizard', screen => screen.includes('› os'));
	t.pass();
});
