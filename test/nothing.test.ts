// Publishing nothing is not success (pipeline/nothing.ts): what a run over an images/ it cannot use
// says, and what it does when an empty catalog is asked for. The command line's side is in cli.test.ts,
// the watcher's in watch.test.ts.
import {chmod} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {withRunContext} from '../source/pipeline/context.js';
import {generate} from '../source/pipeline/generate.js';
import {asNobody, collector, distModule, tempDir, writeFiles} from './helpers/fixtures.js';

test('an images/ directory that exists but cannot be reached is named as such, not as missing', async t => {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await writeFiles(root, {'images/debian/12/amd64/default/20240101_0000/root.squashfs': 'x\n'});
	await chmod(root, 0o711); // Nobody may not list it, and may not search images/ either:
	await chmod(path.join(root, 'images'), 0o700);
	const {refusal} = await asNobody<{refusal: {name: string; message: string}}>(dir, `
		import {generate} from ${JSON.stringify(distModule('source/index.js'))};
		const refusal = await generate({root: ${JSON.stringify(root)}, jobs: 1, cachePath: 'cache.json'}, () => undefined).then(() => ({}), error => ({name: error.constructor.name, message: error.message}));
		console.log(JSON.stringify({refusal}));
	`);
	t.is(refusal.name, 'NothingToPublish');
	t.is(refusal.message.split(';')[0], `nothing to publish: ${path.join(root, 'images')} cannot be read (EACCES)`);
});

test('allowEmpty: the scan says what is wrong with images/, and the catalog is empty', async t => {
	const root = await tempDir(t);
	const {emit, of} = collector();
	const result = await withRunContext({root, jobs: 1, cachePath: path.join(root, '.cache.json'), allowEmpty: true}, emit, async context => generate(context, false));
	t.deepEqual(result.catalog.products.products, {});
	t.deepEqual(of('warning').map(w => [w.path, w.message]), [['images', 'does not exist']]);
});
