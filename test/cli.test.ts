import {spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {once} from 'node:events';
import {cp, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import test from 'ava';
import {execa, type Options} from 'execa';
import {stableJson} from '../source/util/json.js';
import {copyTree, distPath, metaTarball, sha256, squashfs, tempDir} from './helpers/fixtures.js';
import {readStreams, until, versionsIn} from './helpers/watch.js';

const cli = distPath('cli.js');
const {version} = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string};
const ansi = '\u001B';

let template: string;

test.before(async () => {
	template = await mkdtemp(path.join(tmpdir(), 'ss-cli-template-'));
	const dir = path.join(template, 'images/acme/1.0/amd64/default/20240101_0000');
	await Promise.all([metaTarball(path.join(dir, 'incus.tar.xz')), squashfs(path.join(dir, 'root.squashfs'))]);
});

test.after.always(async () => {
	await rm(template, {recursive: true, force: true});
});

/** A private web root, and a runner of the CLI whose cache lives in the test's temp dir. */
async function fixture(t: Parameters<typeof tempDir>[0]) {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	await mkdir(root);
	await copyTree(template, root);
	const cache = path.join(dir, 'cache.json');
	const run = async (args: string[], options: Options = {}) => execa(process.execPath, [cli, ...args], {
		reject: false,
		stdin: 'ignore',
		stripFinalNewline: false,
		env: {XDG_CACHE_HOME: path.join(dir, 'xdg'), CI: undefined, FORCE_COLOR: undefined},
		...options,
	});
	return {dir, root, cache, run};
}

test('--help and -h print the usage on stdout and exit 0', async t => {
	const {run} = await fixture(t);
	for (const flag of ['--help', '-h']) {
		const result = await run([flag]);
		t.is(result.exitCode, 0, flag);
		t.regex(String(result.stdout), /Usage/, flag);
		t.regex(String(result.stdout), /-N, --write/, flag);
		t.regex(String(result.stdout), /--cache FILE/, flag);
	}
});

test('--version prints the package version', async t => {
	const {run} = await fixture(t);
	const result = await run(['--version']);
	t.is(result.exitCode, 0);
	t.is(String(result.stdout).trim(), version);
});

test('a start.cache damaged past its header is not used: --version prints the version and exits 0', async t => {
	// V8 checks only a cache's header (its version, flags and length) before deserialising the rest.
	// The damaged cache goes in a copy of the build: the other tests run dist/ meanwhile.
	const dir = await tempDir(t);
	await cp(distPath('bundle'), path.join(dir, 'dist/bundle'), {recursive: true});
	await cp(cli, path.join(dir, 'dist/cli.js'));
	await cp(new URL('../../package.json', import.meta.url), path.join(dir, 'package.json'));
	const cache = path.join(dir, 'dist/bundle/start.cache');
	const built = await readFile(cache);
	await writeFile(cache, Buffer.concat([built.subarray(0, 64), randomBytes(built.length - 64)]));
	const result = await execa(process.execPath, [path.join(dir, 'dist/cli.js'), '--version'], {reject: false, stdin: 'ignore'});
	t.is(result.exitCode, 0, String(result.stderr));
	t.is(String(result.stdout).trim(), version);
	t.is(String(result.stderr), '');
});

test('an unknown flag exits non-zero and names it', async t => {
	const {run, root} = await fixture(t);
	const result = await run(['--bogus', root]);
	t.not(result.exitCode, 0);
	t.regex(String(result.stderr), /--bogus/);
	await t.throwsAsync(stat(path.join(root, 'streams')), {code: 'ENOENT'});
});

test('a missing rootdir exits 1 with a clear one-line message', async t => {
	const {dir, run} = await fixture(t);
	const missing = path.join(dir, 'nope');
	const result = await run([missing]);
	t.is(result.exitCode, 1);
	t.is(String(result.stderr).trim(), `simplestreams: root directory ${missing} does not exist`);
	t.is(String(result.stdout), '');
});

test('a rootdir that is a file exits 1; two rootdirs and a bad --jobs are usage errors, exit 2', async t => {
	const {dir, root, run} = await fixture(t);
	const file = path.join(dir, 'file');
	await writeFile(file, '');
	const cases: Array<[string[], RegExp, number]> = [
		[[file], /is not a directory/, 1],
		[[root, root], /at most one rootdir/, 2],
		[['-j', '0', root], /--jobs must be a whole number/, 2],
		[['--jobs', 'many', root], /--jobs must be a whole number of at least 1, got "many"/, 2],
	];
	for (const [args, message, exitCode] of cases) {
		const result = await run(args);
		t.is(result.exitCode, exitCode, args.join(' '));
		t.regex(String(result.stderr), message, args.join(' '));
		t.false(String(result.stderr).includes('    at '), 'no stack trace');
	}
});

test('a bad command line is one line saying what is wrong, exit 2, with the flag meant when one is close', async t => {
	const {root, run} = await fixture(t);
	const cases: Array<[string[], string]> = [
		[['list', '--format', 'yaml', root], '--format must be table, json or csv, got "yaml"'],
		[['--log', 'xml', '--watch', root], '--log must be plain or json, got "xml"'],
		[['-j', '1', '-j', '2', root], '--jobs is given more than once'],
		[['-j', 'abc', root], '--jobs must be a whole number of at least 1, got "abc"'],
		[['--settle', '', '--watch', root], '--settle must be a number of seconds, got nothing'],
		[['--cache', '-N', root], '--cache needs a value'],
		[['--wirte', root], 'unknown flag --wirte; did you mean --write?'],
		[['--colour', root], 'unknown flag --colour'],
		[['list', '--watch', '--json', '--settle', '5', root], '--watch does not apply to list'],
		[['verify', '--format', 'json', root], '--format does not apply to verify; it is for list'],
		[['--settle', '5', '-N', root], '--settle does not apply to -N and dry runs; it is for --watch'],
		[['-i', root, '--watch', root], '--watch does not apply to -i'],
		[['--delta-ratio', '0.5', '-N', root], '--delta-ratio applies with --deltas or --vm-deltas'],
	];
	for (const [args, message] of cases) {
		const result = await run(args);
		t.is(result.exitCode, 2, args.join(' '));
		t.is(String(result.stderr), `simplestreams: ${message}\n`, args.join(' '));
		t.is(String(result.stdout), '', args.join(' '));
	}

	await t.throwsAsync(stat(path.join(root, 'streams')), {code: 'ENOENT'});
});

test('list --help and verify --help show their own flags', async t => {
	const {run} = await fixture(t);
	const list = await run(['list', '--help']);
	t.is(list.exitCode, 0);
	t.regex(String(list.stdout), /simplestreams list/);
	t.regex(String(list.stdout), /--format F/);
	t.notRegex(String(list.stdout), /--write/);
	const verify = await run(['verify', '-h']);
	t.regex(String(verify.stdout), /--json/);
	t.notRegex(String(verify.stdout), /--format/);
});

test('publishing nothing is refused: the streams stay as they were, the reason is named, --allow-empty overrides', async t => {
	const {dir, root, cache, run} = await fixture(t);
	t.is((await run(['-N', '--cache', cache, root])).exitCode, 0);
	const streams = path.join(root, 'streams/v1');
	const published = {products: await readFile(path.join(streams, 'images.json'), 'utf8'), index: await readFile(path.join(streams, 'index.json'), 'utf8')};
	const images = path.join(root, 'images');
	const away = path.join(dir, 'images.away');
	await rename(images, away);
	const cases: Array<[string, () => Promise<void>, RegExp]> = [
		['missing', async () => undefined, /\S+\/www\/images does not exist/],
		['a file', async () => writeFile(images, 'not a directory\n'), /\S+\/www\/images is not a directory/],
		['a link to itself', async () => symlink('images', images), /\S+\/www\/images cannot be read \(ELOOP\)/],
		// An unmounted share leaves its mount point: an empty directory.
		['empty', async () => mkdir(images), /\S+\/www\/images holds no image version/],
		['holding only a version that cannot be published', async () => {
			await mkdir(path.join(images, 'acme/1.0/amd64/default/20240101_0000'), {recursive: true});
			await writeFile(path.join(images, 'acme/1.0/amd64/default/20240101_0000/root.squashfs'), 'not a squashfs\n');
		}, /the one version under images\/ cannot be published/],
	];
	for (const [what, make, reason] of cases) {
		await rm(images, {recursive: true, force: true});
		await make();
		for (const args of [['-N'], []]) {
			const result = await run([...args, '--cache', cache, root]);
			t.is(result.exitCode, 1, `${what} ${args.join(' ')}`);
			const refusal = String(result.stderr).split('\n').filter(line => line.startsWith('simplestreams:'));
			t.is(refusal.length, 1, String(result.stderr));
			t.regex(refusal[0]!, /^simplestreams: nothing to publish: /);
			t.regex(refusal[0]!, reason, what);
			t.regex(refusal[0]!, /--allow-empty publishes an empty catalog/);
			t.is(String(result.stdout), '', 'a dry run prints no empty catalog either');
		}

		t.is(await readFile(path.join(streams, 'images.json'), 'utf8'), published.products, what);
		t.is(await readFile(path.join(streams, 'index.json'), 'utf8'), published.index, what);
	}

	const allowed = await run(['-N', '--allow-empty', '--cache', cache, root]);
	t.is(allowed.exitCode, 0, String(allowed.stderr));
	t.deepEqual((JSON.parse(await readFile(path.join(streams, 'images.json'), 'utf8')) as {products: object}).products, {});
});

test('a root that is an images/ directory, or a --cache that took the rootdir, gets a hint', async t => {
	const {root, cache, run} = await fixture(t);
	const images = path.join(root, 'images');
	const inside = await run(['-N', '--cache', cache, images]);
	t.is(inside.exitCode, 1);
	t.regex(String(inside.stderr), new RegExp(`${images} looks like an images/ directory itself: the web root is the directory above it`));
	await t.throwsAsync(stat(path.join(images, 'streams')), {code: 'ENOENT'});
	const swallowed = await run(['-N', '--cache', root], {cwd: path.dirname(root)});
	t.is(swallowed.exitCode, 2);
	t.is(String(swallowed.stderr), `simplestreams: --cache takes a file, and ${root} is a directory: a rootdir goes last, after --cache FILE\n`);
});

test('a dry run prints the products JSON on stdout and nothing else, progress on stderr', async t => {
	const {root, cache, run} = await fixture(t);
	const result = await run(['--cache', cache, root]);
	t.is(result.exitCode, 0, String(result.stderr));
	const stdout = String(result.stdout);
	const products = JSON.parse(stdout) as {products: Record<string, unknown>};
	t.is(stdout, stableJson(products), 'stdout is exactly the JSON document');
	t.deepEqual(Object.keys(products.products), ['acme:1.0:amd64:default']);
	const stderr = String(result.stderr);
	t.regex(stderr, /^scanned 1 products, 1 versions, 2 files/m);
	t.regex(stderr, /^hashed images\/acme\/1\.0\/amd64\/default\/20240101_0000\/root\.squashfs/m);
	t.regex(stderr, /^catalog: 1 products, 1 versions; 1 images for LXD, 1 for Incus/m);
	t.regex(stderr, /dry run: nothing written/);
	t.false(stderr.includes(ansi), 'no escape codes off a terminal');
	t.false(stdout.includes(ansi));
	await t.throwsAsync(stat(path.join(root, 'streams')), {code: 'ENOENT'});
	t.truthy(await stat(cache), 'the digest cache went where --cache said');
});

test('a dry run\'s products JSON larger than a pipe holds reaches the reader whole before the process ends', async t => {
	const {root, cache, run} = await fixture(t);
	const aliases = Array.from({length: 4500}, (_, n) => `acme/${'extra'.repeat(40)}-${n}`);
	await writeFile(path.join(root, 'images/acme/1.0/amd64/default/.aliases'), `${aliases.join('\n')}\n`);
	const result = await run(['--cache', cache, root]);
	t.is(result.exitCode, 0, String(result.stderr));
	const stdout = String(result.stdout);
	// Written at once, what a pipe cannot take (64 KiB by default) waits in the process for the reader.
	t.true(stdout.length > 4 * 64 * 1024, `${stdout.length} bytes`);
	const products = JSON.parse(stdout) as {products: Record<string, {aliases: string}>};
	t.is(products.products['acme:1.0:amd64:default']!.aliases.split(',').length, 2 + aliases.length);
});

test('-N writes both files; a second run reports them unchanged and reuses the digests', async t => {
	const {root, cache, run} = await fixture(t);
	const first = await run(['-N', '--cache', cache, root]);
	t.is(first.exitCode, 0, String(first.stderr));
	t.is(String(first.stdout), '');
	t.regex(String(first.stderr), /^wrote streams\/v1\/images\.json$/m);
	t.regex(String(first.stderr), /^wrote streams\/v1\/index\.json$/m);
	const index = JSON.parse(await readFile(path.join(root, 'streams/v1/index.json'), 'utf8')) as {index: {images: {products: string[]}}};
	t.deepEqual(index.index.images.products, ['acme:1.0:amd64:default']);
	const products = JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as {products: Record<string, unknown>};
	t.deepEqual(Object.keys(products.products), ['acme:1.0:amd64:default']);
	const second = await run(['--write', '--cache', cache, root]);
	t.is(second.exitCode, 0);
	t.regex(String(second.stderr), /^unchanged streams\/v1\/images\.json$/m);
	t.regex(String(second.stderr), /2 digests reused from cache/);
	t.false(String(second.stderr).includes('hashed '));
	t.false(String(second.stderr).includes(ansi));
});

test('a reader of the output that goes away (2>&1 | head) costs the output, not the run: -N publishes and exits 0', async t => {
	const {root, cache} = await fixture(t);
	const writing = spawn(process.execPath, [cli, '-N', '--plain', '--cache', cache, root], {stdio: ['ignore', 'pipe', 'pipe']});
	// Closed before the program has started: each line it writes meets a pipe without a reader.
	writing.stdout.destroy();
	writing.stderr.destroy();
	const [code] = await once(writing, 'exit') as [number | null];
	t.is(code, 0);
	const products = JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as {products: Record<string, unknown>};
	t.deepEqual(Object.keys(products.products), ['acme:1.0:amd64:default']);
});

/**
 * The CLI with one of its outputs on /dev/full, whose every write fails with ENOSPC as a file's on a
 * full disk does; `stderr()`: what it said on the other (a pipe), when that is stderr.
 */
async function onFullDisk(t: Parameters<typeof tempDir>[0], output: 'stdout' | 'stderr', args: string[]) {
	const full = await open('/dev/full', 'w');
	t.teardown(async () => full.close());
	const running = spawn(process.execPath, [cli, ...args], {
		stdio: ['ignore', output === 'stdout' ? full.fd : 'ignore', output === 'stderr' ? full.fd : 'pipe'],
		env: {...process.env, CI: undefined},
	});
	let stderr = '';
	running.stderr?.setEncoding('utf8').on('data', (text: string) => {
		stderr += text;
	});
	const exited = once(running, 'close') as Promise<[number | null]>;
	return {running, exitCode: async () => (await exited)[0], stderr: () => stderr};
}

const lostStdout = /^simplestreams: cannot write to stdout \(ENOSPC: no space left on the device\): the rest of its output is lost$/gm;

test('output that cannot be written (a full disk) costs the output, not the run: -N publishes, exit 1; a dry run and --help say once what failed, no stack', async t => {
	const {root, cache} = await fixture(t);
	t.is(await (await onFullDisk(t, 'stderr', ['-N', '--plain', '--cache', cache, root])).exitCode(), 1);
	const products = JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as {products: Record<string, unknown>};
	t.deepEqual(Object.keys(products.products), ['acme:1.0:amd64:default']);

	for (const args of [['--plain', '--cache', cache, root], ['--json', '--cache', cache, root], ['--help'], ['list', root]]) {
		const run = await onFullDisk(t, 'stdout', args);
		t.is(await run.exitCode(), 1, args.join(' '));
		t.is(run.stderr().match(lostStdout)?.length, 1, run.stderr());
		t.notRegex(run.stderr(), /^\s+at /m, 'no stack');
	}
});

test('output to a file that fills up part way through a write (ulimit -f: a short write, then EFBIG) is said once and ends with exit 1, not cut short in silence', async t => {
	const {dir, root, cache} = await fixture(t);
	for (const args of [['--plain', '--cache', cache, root], ['--help']]) {
		const out = path.join(dir, 'out');
		// 1 KiB: less than either output, which each goes to the file in one write.
		const run = await execa('bash', ['-c', 'ulimit -f 1; exec "$@" > "$OUT"', 'bash', process.execPath, cli, ...args], {reject: false, env: {OUT: out, CI: undefined}});
		t.is((await stat(out)).size, 1024, args.join(' '));
		t.is(run.exitCode, 1, args.join(' '));
		t.is(run.stderr.match(/^simplestreams: cannot write to stdout \(EFBIG\): the rest of its output is lost$/gm)?.length, 1, run.stderr);
	}
});

test('a watcher whose log cannot be written (--log json on a full disk) says so once, goes on publishing, and ends with exit 1', async t => {
	const {dir, root, cache} = await fixture(t);
	const watching = await onFullDisk(t, 'stdout', ['--watch', '--log', 'json', '--settle', '0.2', '--cache', cache, root]);
	const versions = async () => readStreams(root).then(streams => versionsIn(streams).join(' '));
	await until('the first publish', async () => await versions() === '20240101_0000');
	const upload = path.join(dir, 'upload');
	await Promise.all([metaTarball(path.join(upload, 'incus.tar.xz'), 'upload'), squashfs(path.join(upload, 'root.squashfs'), 'upload')]);
	await rename(upload, path.join(root, 'images/acme/1.0/amd64/default/20240102_0000'));
	await until('the upload published', async () => await versions() === '20240101_0000 20240102_0000');

	watching.running.kill('SIGTERM');
	t.is(await watching.exitCode(), 1);
	t.is(watching.stderr().match(lostStdout)?.length, 1, watching.stderr());
});

test('-N -j 2 hashes a rootfs past the inline size on a worker thread beside the main one: the digests are the files\' own', async t => {
	const {dir, root, cache, run} = await fixture(t);
	const version = path.join(root, 'images/acme/1.0/amd64/default/20240101_0000');
	// Incompressible, so the squashfs stays far above what is hashed inline: with two jobs its own
	// digest and the combined one are two passes, one of them on the command's worker thread.
	const content = path.join(dir, 'content');
	await mkdir(content);
	await writeFile(path.join(content, 'blob'), randomBytes(1024 * 1024));
	await execa('mksquashfs', [content, path.join(version, 'root.squashfs'), '-noappend', '-quiet', '-no-progress', '-all-root']);
	const result = await run(['-N', '-j', '2', '--cache', cache, root]);
	t.is(result.exitCode, 0, String(result.stderr));
	const [meta, rootfs] = await Promise.all(['incus.tar.xz', 'root.squashfs'].map(async name => readFile(path.join(version, name))));
	t.true(rootfs!.length > 512 * 1024);
	const products = JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as {products: Record<string, {versions: Record<string, {items: Record<string, {sha256: string; combined_squashfs_sha256?: string}>}>}>};
	const {items} = products.products['acme:1.0:amd64:default']!.versions['20240101_0000']!;
	t.is(items['root.squashfs']!.sha256, sha256(rootfs!));
	t.is(items['incus.tar.xz']!.combined_squashfs_sha256, sha256(meta!, rootfs!));
});

test('an unwritable streams directory exits 1 before any hashing, naming it', async t => {
	const {root, cache, run} = await fixture(t);
	await mkdir(path.join(root, 'streams'));
	await writeFile(path.join(root, 'streams/v1'), 'a regular file where a directory should be\n');
	const result = await run(['-N', '--cache', cache, root]);
	t.is(result.exitCode, 1);
	t.true(String(result.stderr).includes(path.join(root, 'streams', 'v1')), String(result.stderr));
	t.regex(String(result.stderr), /cannot write/);
	t.false(String(result.stderr).includes('hashed '));
	t.false(String(result.stderr).includes('    at '), 'no stack trace');
});

test('no space left for the new images.json: the published streams stay as they were, the error names the file', async t => {
	const {root, cache, run} = await fixture(t);
	t.is((await run(['-N', '--cache', cache, root])).exitCode, 0);
	const streams = path.join(root, 'streams', 'v1');
	const before = {products: await readFile(path.join(streams, 'images.json'), 'utf8'), index: await readFile(path.join(streams, 'index.json'), 'utf8')};
	// streams/v1 on a tmpfs just large enough for what is there: a second version's streams do not fit.
	const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', streams], {reject: false});
	t.is(mounted.exitCode, 0, `this test needs a tmpfs (mount as root): ${mounted.stderr}`);
	t.teardown(async () => {
		await execa('umount', [streams], {reject: false});
	});
	await writeFile(path.join(streams, 'images.json'), before.products);
	await writeFile(path.join(streams, 'index.json'), before.index);
	const free = Number((await execa('df', ['--output=avail', '-B1', streams])).stdout.split('\n')[1]);
	await writeFile(path.join(streams, '.filler'), Buffer.alloc(Math.max(0, free - 1024)));
	const next = path.join(root, 'images/acme/1.0/amd64/default/20240102_0000');
	await Promise.all([metaTarball(path.join(next, 'incus.tar.xz'), 'next'), squashfs(path.join(next, 'root.squashfs'), 'next')]);

	const result = await run(['-N', '--cache', cache, root]);
	t.is(result.exitCode, 1);
	t.regex(String(result.stderr), /^simplestreams: cannot write streams\/v1\/images\.json \(ENOSPC: no space left on the device\); the published streams are as they were$/m);
	t.false(String(result.stderr).includes('    at '), 'no stack trace');
	t.is(await readFile(path.join(streams, 'images.json'), 'utf8'), before.products);
	t.is(await readFile(path.join(streams, 'index.json'), 'utf8'), before.index);
	t.deepEqual((await readdir(streams)).sort(), ['.filler', 'images.json', 'index.json'], 'no temporary file left behind');

	// With room again, the next run publishes both versions (and did not stop early on a receipt).
	await rm(path.join(streams, '.filler'));
	const again = await run(['-N', '--cache', cache, root]);
	t.is(again.exitCode, 0, String(again.stderr));
	t.regex(String(again.stderr), /^wrote streams\/v1\/images\.json$/m);
	t.regex(await readFile(path.join(streams, 'images.json'), 'utf8'), /20240102_0000/);
});
