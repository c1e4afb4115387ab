// Everywhere but a terminal: the plain reporter, with no escape codes even for hostile names, the
// same Ctrl-C behaviour as the live tree, and Ink never loaded.
import {mkdir, readdir, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {fileURLToPath} from 'node:url';
import test from 'ava';
import {execa} from 'execa';
import {because, warning} from '../source/domain/reasons.js';
import {plainReporter} from '../source/report/loggers/plain.js';
import {liveTree, versionDir} from './live-tree.js';

const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
const env = {CI: undefined, FORCE_COLOR: undefined};

test('the plain reporter prints names from the disk without their control characters', async t => {
	const out = new PassThrough();
	let text = '';
	out.on('data', (chunk: Buffer) => {
		text += chunk.toString();
	});
	const reporter = plainReporter(out, {write: false});
	reporter.emit({type: 'skipped', scope: 'tree', path: 'images/x\u001B[2J\u001B]0;pwned\u0007', ...because('bad-name', '"x\u001B[2J" has characters LXD and Incus escape differently', 'os')});
	reporter.emit({type: 'warning', path: 'images/a\nb/requirements.yaml', ...warning('requirements-broken', 'broken')});
	// Lines are written in batches, the last at the end of the run.
	await reporter.finish('done');
	t.false(text.includes('\u001B'));
	t.false(text.includes('\u0007'));
	t.is(text.split('\n').length, 3, 'one line per event');
	t.regex(text, /^skipped tree images\/x\?\[2J\?\]0;pwned\?: /m);
});

test('off a terminal: plain lines, one per finished file, a summary, and no escape code at all', async t => {
	const {dir, root} = await liveTree(t, 4096);
	// A directory whose name would clear the screen and set the title, were it printed raw.
	await mkdir(path.join(root, 'images', 'evil\u001B[2J\u001B]0;x\u0007'), {recursive: true});
	await writeFile(path.join(root, versionDir, 'disk.qcow2'), 'not a disk');
	const result = await execa(process.execPath, [cli, '-N', '--cache', path.join(dir, 'cache.json'), root], {env, reject: false});
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /^skipped tree images\/evil\?\[2J\?\]0;x\?: /m);
	t.regex(result.stderr, /^skipped file .*disk\.qcow2: content is not recognised/m);
	t.regex(result.stderr, /^hashed .*root\.squashfs \(4\.00 KiB, /m, 'a file\'s size, however many digests read it');
	t.regex(result.stderr, /^hashing done: 2 files, 4\.\d\d KiB in /m);
	t.regex(result.stderr, /^catalog: 1 products, 1 versions; 1 images for LXD, 1 for Incus/m);
	t.regex(result.stderr, /^wrote streams\/v1\/index\.json$/m);
	t.false(result.stderr.includes('\u001B'), result.stderr);
	t.false(result.stdout.includes('\u001B'));
});

/** Until the run has scanned its tree: the small metadata file is hashed first or last, the scan line comes before any hashing. */
const scanned = async (run: ReturnType<typeof execa>) => new Promise<void>(resolve => {
	run.stderr!.on('data', (chunk: Buffer) => {
		if (chunk.toString().includes('scanned ')) {
			resolve();
		}
	});
});

for (const [signal, code, why] of [['SIGINT', 130, 'Ctrl-C'], ['SIGTERM', 143, 'a service stopped']] as const) {
	test(`${signal} (${why}) on the plain path: the workers stop, nothing is written, exit ${code}`, async t => {
		const {dir, root} = await liveTree(t, 2 * 1024 ** 3);
		const run = execa(process.execPath, [cli, '-N', '-j', '1', '--cache', path.join(dir, 'cache.json'), root], {env, reject: false});
		await scanned(run);
		await new Promise(resolve => {
			setTimeout(resolve, 500);
		});
		const sent = performance.now();
		run.kill(signal);
		const result = await run;
		const took = performance.now() - sent;
		t.is(result.exitCode, code, result.stderr);
		t.log(`exit ${Math.round(took)} ms after ${signal}`);
		t.regex(result.stderr, /^cancelling: stopping the hash workers/m);
		t.regex(result.stderr, /^cancelled: nothing written; the digest cache keeps what finished/m);
		t.false(result.stderr.includes('root.squashfs ('), 'the rootfs was not finished');
		await t.throwsAsync(readdir(path.join(root, 'streams')), {code: 'ENOENT'}, 'nothing written, not even streams/');
		t.false(result.stderr.includes('\u001B'));
	});
}

test('SIGHUP without a terminal is no hang-up: the run goes on and publishes, as under nohup', async t => {
	const {dir, root} = await liveTree(t, 512 * 1024 ** 2);
	const run = execa(process.execPath, [cli, '-N', '-j', '1', '--cache', path.join(dir, 'cache.json'), root], {env, reject: false});
	await scanned(run);
	run.kill('SIGHUP');
	const result = await run;
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /^wrote streams\/v1\/index\.json$/m);
});

test('a headless run and --help never load Ink', async t => {
	const {dir, root} = await liveTree(t, 4096);
	// A loader hook that fails the program the moment a module with Ink in it is imported: Ink's own
	// files, or a module of the bundle (scripts/bundle.mjs) that holds Ink's code.
	const hooks = path.join(dir, 'no-ink.mjs');
	await writeFile(hooks, `import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
export async function resolve(specifier, context, next) {
	const resolved = await next(specifier, context);
	if (resolved.url.includes('/node_modules/ink/') || (resolved.url.includes('/dist/bundle/') && readFileSync(fileURLToPath(resolved.url), 'utf8').includes('"ink-text"'))) throw new Error('ink was loaded: ' + resolved.url);
	return resolved;
}
`);
	const register = path.join(dir, 'register.mjs');
	await writeFile(register, `import {register} from 'node:module';\nregister(${JSON.stringify(new URL(`file://${hooks}`).href)});\n`);
	for (const args of [['--help'], ['--cache', path.join(dir, 'cache.json'), root], ['-N', '--cache', path.join(dir, 'cache.json'), root]]) {
		const result = await execa(process.execPath, ['--import', register, cli, ...args], {env, reject: false});
		t.is(result.exitCode, 0, `${args.join(' ')}: ${result.stderr}`);
	}

	// And the hook does catch Ink: the live reporter's module imports it, and so does the bundle's.
	for (const module of ['../source/report/live/reporter.js', '../bundle/live.js']) {
		const live = fileURLToPath(new URL(module, import.meta.url));
		const loaded = await execa(process.execPath, ['--import', register, '-e', `await import(${JSON.stringify(live)})`, '--input-type=module'], {env, reject: false});
		t.not(loaded.exitCode, 0, module);
		t.regex(loaded.stderr, /ink was loaded/);
	}
});
