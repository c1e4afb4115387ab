// What the web root serves: the streams compact, each with a .gz beside it that is always the gzip of
// the file next to it, whatever a run does: a stale .gz is replaced, a failure or a kill between any
// two renames (injected with strace into a real run) never leaves a .gz of another version, and the
// next run completes the pair.
import {cp, mkdir, readFile, rename, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {gunzipSync, gzipSync} from 'node:zlib';
import test, {type ExecutionContext} from 'ava';
import {execa} from 'execa';
import {catalog} from '../source/pipeline/catalog.js';
import {pathPair, type Digests} from '../source/domain/tree.js';
import {gzipPath, indexPath, productsPath} from '../source/streams/paths.js';
import {readStreams} from '../source/streams/read.js';
import {streamsText, writeStreams} from '../source/streams/write.js';
import {collector, copyExample, digest, distPath, mtimeNs, product, productRef, tempDir} from './helpers/fixtures.js';

const cli = distPath('cli.js');
const streams = [productsPath, indexPath];

function built(versions: string[]) {
	const p = product(productRef('debian', '12', 'amd64', 'default'), Object.fromEntries(versions.map(v => [v, {'incus.tar.xz': 100, 'root.squashfs': 1000}])));
	const digests: Digests = {files: new Map(), combined: new Map()};
	for (const version of p.versions) {
		const [meta, rootfs] = version.files;
		for (const file of version.files) {
			digests.files.set(file.path, digest(file.path));
		}

		digests.combined.set(pathPair(meta!.path, rootfs!.path), digest(`pair ${version.name}`));
	}

	const result = catalog([{product: p, versions: p.versions.map(version => ({version, metas: [version.files[0]!], roots: [version.files[1]!]}))}], digests, collector().emit);
	return streamsText(result.products, result.index);
}

/** Every .gz under the root's served files is the gzip of the file beside it; returns the files as they are. */
async function consistent(t: ExecutionContext, root: string, label: string): Promise<Record<string, string | undefined>> {
	const files: Record<string, string | undefined> = {};
	for (const file of streams) {
		const text = await readFile(path.join(root, file), 'utf8').catch(() => undefined);
		const packed = await readFile(path.join(root, gzipPath(file))).catch(() => undefined);
		if (packed) {
			t.true(text !== undefined && gunzipSync(packed).toString('utf8') === text, `${label}: ${file}.gz is the gzip of ${file}`);
		}

		files[file] = text;
		files[gzipPath(file)] = packed && 'gzip';
	}

	return files;
}

test('the streams are compact, each with its gzip beside it; readStreams reads them back', async t => {
	const root = await tempDir(t);
	const text = built(['20240101_0000']);
	const written = collector();
	t.deepEqual(await writeStreams(root, text, written.emit), [productsPath, gzipPath(productsPath), indexPath, gzipPath(indexPath)]);
	t.deepEqual(written.of('written').map(e => [e.path, e.changed]), [[productsPath, true], [indexPath, true]]);
	for (const [file, expected] of [[productsPath, text.products], [indexPath, text.index]] as const) {
		const onDisk = await readFile(path.join(root, file), 'utf8');
		t.is(onDisk, expected);
		t.is(onDisk.indexOf('\n'), onDisk.length - 1, `${file}: one line`);
		t.is(gunzipSync(await readFile(path.join(root, gzipPath(file)))).toString('utf8'), expected);
	}

	t.deepEqual((await readStreams(root)).products[0]!.typeErrors, []);
});

test('a .gz of another version beside an unchanged file is replaced; the file is left alone', async t => {
	const root = await tempDir(t);
	const text = built(['20240101_0000']);
	await writeStreams(root, text, collector().emit);
	const products = path.join(root, productsPath);
	const before = await mtimeNs(products);
	// As an older tool leaves it: it rewrote the file and knew nothing of the .gz.
	await writeFile(gzipPath(products), gzipSync(built(['20231201_0000']).products));
	const written = collector();
	await writeStreams(root, text, written.emit);
	t.deepEqual(written.of('written').map(e => e.changed), [false, false], 'what clients read did not change');
	t.is(await mtimeNs(products), before);
	await consistent(t, root, 'after');
});

test('beside an unchanged file, a .gz that unpacks to its bytes is kept whatever its level; one that unpacks to more, less or other bytes, or to nothing, is replaced', async t => {
	// Long enough for the comparison to cross the steps the text is encoded in and the chunks zlib unpacks in.
	const text = built(Array.from({length: 1500}, (_, index) => `2024${String(index).padStart(8, '0')}`));
	const whole = text.products;
	t.true(whole.length > 600_000, `${whole.length} characters`);
	const middle = whole.length >> 1;
	const cases: Array<[string, Buffer, boolean]> = [
		['the same bytes packed at level 1', gzipSync(whole, {level: 1}), true],
		['one byte more', gzipSync(`${whole} `), false],
		['one byte fewer', gzipSync(whole.slice(0, -1)), false],
		['one byte other in the middle', gzipSync(`${whole.slice(0, middle)}${whole[middle] === '0' ? '1' : '0'}${whole.slice(middle + 1)}`), false],
		['no gzip at all', Buffer.from(whole), false],
	];
	for (const [label, packed, kept] of cases) {
		const root = await tempDir(t);
		await writeStreams(root, text, collector().emit);
		const gz = gzipPath(path.join(root, productsPath));
		await writeFile(gz, packed);
		const before = await mtimeNs(gz);
		await writeStreams(root, text, collector().emit);
		t.is(await mtimeNs(gz) === before, kept, `${label}: ${kept ? 'kept' : 'replaced'}`);
		await consistent(t, root, label);
	}
});

test('indented streams of an older version with a stale .gz become a compact pair', async t => {
	const root = await tempDir(t);
	const old = built(['20231201_0000']);
	await mkdir(path.join(root, 'streams/v1'), {recursive: true});
	await writeFile(path.join(root, productsPath), JSON.stringify(JSON.parse(old.products), undefined, 1));
	await writeFile(path.join(root, gzipPath(productsPath)), gzipSync('{}'));
	const text = built(['20240101_0000']);
	await writeStreams(root, text, collector().emit);
	t.is((await consistent(t, root, 'after'))[productsPath], text.products);
});

test('a .gz that cannot be removed stops the write before its file changes: the pair stays whole', async t => {
	const root = await tempDir(t);
	await writeStreams(root, built(['20231201_0000']), collector().emit);
	const before = await consistent(t, root, 'before');
	// A directory in the index's .gz's place: unlink refuses it.
	await rename(path.join(root, gzipPath(indexPath)), path.join(root, 'index.json.gz.saved'));
	await mkdir(path.join(root, gzipPath(indexPath), 'x'), {recursive: true});
	const error = await t.throwsAsync(writeStreams(root, built(['20240101_0000']), collector().emit));
	t.regex(error?.message ?? '', /^cannot write streams\/v1\/index\.json \(.+\); streams\/v1\/images\.json is new, the rest as it was/);
	t.is<string | undefined, string | undefined>(await readFile(path.join(root, indexPath), 'utf8'), before[indexPath], 'the index is the one before');
	const after = await consistent(t, root, 'after');
	t.not(after[productsPath], before[productsPath]);
	t.is(after[gzipPath(productsPath)], 'gzip');
	t.deepEqual((await execa('find', [path.join(root, 'streams'), '-name', '*.tmp'])).stdout, '', 'no temporary file left');
});

/** strace counts calls per thread: every file operation in libuv's one thread, so they are counted in order. */
const oneThread = {UV_THREADPOOL_SIZE: '1'};

/** How many calls of `syscall` a real run on a copy of `base` makes. */
async function calls(base: string, work: string, syscall: string): Promise<number> {
	await cp(base, work, {recursive: true});
	const trace = path.join(work, 'trace');
	await execa('strace', ['-f', '-qq', '-o', trace, '-e', `trace=${syscall}`, process.execPath, cli, '-N', '--cache', path.join(work, 'cache.json'), path.join(work, 'www')], {env: {CI: 'true', ...oneThread}});
	return (await readFile(trace, 'utf8')).split('\n').filter(line => new RegExp(`\\b${syscall}\\(`).test(line)).length;
}

/** A real run on a copy of `base` with strace tampering with the `at`-th call of `syscall`: killed (SIGKILL) or failed (EIO). */
async function tampered(base: string, work: string, syscall: string, at: number, how: string) {
	await cp(base, work, {recursive: true});
	return execa('strace', ['-f', '-qq', '-o', '/dev/null', '-e', `trace=${syscall}`, '-e', `inject=${syscall}:${how}:when=${at}`,
		process.execPath, cli, '-N', '--cache', path.join(work, 'cache.json'), path.join(work, 'www')], {reject: false, env: {CI: 'true', ...oneThread}});
}

for (const [syscall, how] of [['rename', 'signal=SIGKILL'], ['rename', 'error=EIO'], ['unlink', 'error=EIO']] as const) {
	test(`a run ${how === 'signal=SIGKILL' ? 'killed at' : 'failing'} each ${syscall} in turn never leaves a .gz of another version, and the next run completes`, async t => {
		const dir = await tempDir(t);
		const base = path.join(dir, 'base');
		await copyExample(path.join(base, 'www'));
		const run = async (root: string) => execa(process.execPath, [cli, '-N', '--cache', path.join(root, '..', 'cache.json'), root], {env: {CI: 'true'}});
		await run(path.join(base, 'www'));
		const old = await consistent(t, path.join(base, 'www'), 'old');
		// One version fewer: both streams change.
		await rename(path.join(base, 'www/images/demo/1.0/amd64/default/20240601_00:00'), path.join(base, 'gone'));
		const expected = path.join(dir, 'expected');
		await cp(base, expected, {recursive: true});
		await run(path.join(expected, 'www'));
		const next = await consistent(t, path.join(expected, 'www'), 'new');
		t.not(next[productsPath], old[productsPath]);

		const count = await calls(base, path.join(dir, 'count'), syscall);
		let alone = 0;
		let failed = 0;
		for (let at = 1; at <= count; at++) {
			const work = path.join(dir, `at-${at}`);
			const result = await tampered(base, work, syscall, at, how);
			const root = path.join(work, 'www');
			const seen = await consistent(t, root, `${syscall} ${at}`);
			for (const file of streams) {
				t.true([old[file], next[file]].includes(seen[file]), `${syscall} ${at}: ${file} is the old one or the new one`);
				alone += seen[file] !== undefined && seen[gzipPath(file)] === undefined ? 1 : 0;
			}

			failed += result.exitCode === 0 ? 0 : 1;
			if (result.exitCode !== 0 && how === 'error=EIO') {
				t.is(result.exitCode, 1, `${syscall} ${at}: ${result.stderr}`);
				t.notRegex(result.stderr, / {4}at /, 'no stack trace');
			}

			await run(root);
			t.deepEqual(await consistent(t, root, `${syscall} ${at}, run again`), next);
		}

		if (syscall === 'rename') {
			// The tampering fell between a .gz going and its file's new one coming.
			t.true(alone > 0, `a file was seen without its .gz (${count} calls of ${syscall})`);
		} else {
			t.true(failed > 0, `a run stopped on a .gz it could not remove (${count} calls of ${syscall})`);
		}
	});
}
