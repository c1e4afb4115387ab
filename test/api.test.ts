// The library the command line stands on, loaded as a program would load it: by the package's name
// (its "exports"), not by a path into dist/.
import {readFile, stat} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {collector, copyTree, tempDir, templateTree} from './helpers/fixtures.js';

// A specifier in a variable: tsc would look for the declarations before it has written them.
const name = 'simplestreams';
const api = await import(name) as typeof import('../source/index.js');
const template = templateTree('ss-api');

async function webRoot(t: Parameters<typeof tempDir>[0]) {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await copyTree(template().root, root);
	return {root, cachePath: path.join(dir, 'cache.json')};
}

test('generate is a dry run: the streams come back as text, nothing is written', async t => {
	const {root, cachePath} = await webRoot(t);
	const {events, emit} = collector();
	const result = await api.generate({root, jobs: 1, cachePath}, emit);
	t.deepEqual(Object.keys((JSON.parse(result.productsText) as {products: object}).products).sort(), ['acme:1.0:amd64:default', 'acme:1.0:amd64:default-vm', 'acme:1.0:arm64:default']);
	t.true(events.some(e => e.type === 'cataloged'));
	await t.throwsAsync(stat(path.join(root, 'streams')), {code: 'ENOENT'});
});

test('publish writes the streams, then finds them unchanged; list and verify read them', async t => {
	const {root, cachePath} = await webRoot(t);
	const first = await api.publish({root, jobs: 1, cachePath}, () => undefined);
	t.not(first, 'unchanged');
	t.is(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8'), first === 'unchanged' ? '' : first.productsText);
	t.is(await api.publish({root, jobs: 1, cachePath}, () => undefined), 'unchanged');
	const images = await api.list({root});
	t.deepEqual([...new Set(images.map(i => i.product))].sort(), ['acme:1.0:amd64:default', 'acme:1.0:amd64:default-vm', 'acme:1.0:arm64:default']);
	const report = await api.verify({root, jobs: 1}, () => undefined);
	t.true(report.ok, JSON.stringify(report.problems));
});

test('a root that is not there is refused by every call with the same message', async t => {
	const missing = path.join(await tempDir(t), 'nope');
	const message = `root directory ${missing} does not exist`;
	await t.throwsAsync(api.generate({root: missing, jobs: 1}, () => undefined), {instanceOf: api.UsageError, message});
	await t.throwsAsync(api.publish({root: missing, jobs: 1}, () => undefined), {instanceOf: api.UsageError, message});
	await t.throwsAsync(api.verify({root: missing, jobs: 1}, () => undefined), {instanceOf: api.UsageError, message});
	await t.throwsAsync(api.list({root: missing}), {instanceOf: api.UsageError, message});
	await t.throwsAsync(api.watch({root: missing, jobs: 1, settleMs: 0, rescanMs: 60_000}, () => undefined), {instanceOf: api.UsageError, message});
	await t.throwsAsync(api.planImport({root: missing, source: missing, fields: {}, requirements: {}, aliases: [], copy: false, force: false}), {instanceOf: api.UsageError, message});
});

test('retire: a dry run says what would leave; with write the version leaves the streams, its files stay until the grace ends, and restore brings it back', async t => {
	const {root, cachePath} = await webRoot(t);
	await api.publish({root, jobs: 1, cachePath}, () => undefined);
	const target = 'acme/1.0/arm64/default';
	const version = `images/${target}/20240101_0000`;
	const planned = collector();
	await api.retire({root, jobs: 1, cachePath, retention: {remove: [target]}, write: false}, planned.emit);
	t.deepEqual(planned.events.filter(e => e.type === 'retired').map(e => e.path), [version]);
	t.truthy((await api.list({root})).some(i => i.product === 'acme:1.0:arm64:default'), 'a dry run changes nothing');
	const done = collector();
	await api.retire({root, jobs: 1, cachePath, retention: {remove: [target]}, write: true}, done.emit);
	t.deepEqual(done.events.filter(e => e.type === 'retired').map(e => e.path), [version]);
	t.false((await api.list({root})).some(i => i.product === 'acme:1.0:arm64:default'));
	t.truthy(await stat(path.join(root, version)), 'kept for its grace');
	await api.retire({root, jobs: 1, cachePath, retention: {restore: [`images/${target}`]}, write: true}, () => undefined);
	t.truthy((await api.list({root})).some(i => i.product === 'acme:1.0:arm64:default'));
	await api.recoverImports({root}, () => undefined);
});
