import {link, mkdir, readdir, readFile, rename, stat, truncate, writeFile} from 'node:fs/promises';
import {execa} from 'execa';
import path from 'node:path';
import test from 'ava';
import {DigestCache, defaultCachePath} from '../source/cache/digest-cache.js';
import {identityOf, millisecondsOf, type FileIdentity} from '../source/domain/file.js';
import {collector, flipLastByte, mtimeNs, rewriteSameSize, sha256, tempDir, touchStamp} from './helpers/fixtures.js';

const root = '/srv/www';
const sha = sha256(Buffer.from('bytes'));
const otherSha = sha256(Buffer.from('other'));

const identity = async (file: string) => identityOf(await stat(file));

/** A cache file at `dir/cache.json` holding one file entry and one pair, and the identity recorded. */
async function savedCache(dir: string) {
	const file = path.join(dir, 'images', 'root.squashfs');
	await mkdir(path.dirname(file), {recursive: true});
	await writeFile(file, 'hsqs and some bytes');
	const id = await identity(file);
	const cachePath = path.join(dir, 'cache.json');
	const cache = new DigestCache(cachePath, root);
	cache.record('images/root.squashfs', id, {content: 'squashfs', sha256: sha});
	cache.recordCombined(`${otherSha}:${sha}`, sha);
	await cache.save();
	return {file, id, cachePath};
}

test('a lookup hits while the file is unchanged, also after a save and a load', async t => {
	const dir = await tempDir(t);
	const {id, cachePath} = await savedCache(dir);
	const c = collector();
	const loaded = await DigestCache.load(cachePath, root, c.emit);
	t.deepEqual(c.events, []);
	t.deepEqual(loaded.lookup('images/root.squashfs', id), {content: 'squashfs', sha256: sha});
	t.is(loaded.combined(`${otherSha}:${sha}`), sha);
	t.is(loaded.lookup('images/other', id), undefined);
	t.is(loaded.combined(`${sha}:${sha}`), undefined);
});

test('a lookup misses when any of dev, ino, size, mtime or ctime differs', async t => {
	const dir = await tempDir(t);
	const {id, cachePath} = await savedCache(dir);
	const loaded = await DigestCache.load(cachePath, root, collector().emit);
	const changes: Array<Partial<FileIdentity>> = [
		{dev: id.dev + 1}, {ino: id.ino + 1}, {size: id.size + 1}, {mtimeMs: id.mtimeMs + 0.001}, {ctimeMs: id.ctimeMs + 0.001},
	];
	for (const change of changes) {
		t.is(loaded.lookup('images/root.squashfs', {...id, ...change}), undefined, JSON.stringify(change));
	}

	t.truthy(loaded.lookup('images/root.squashfs', {...id}));
});

test('identities past what a small integer holds (a sparse file past 4 GiB, device and inode numbers as overlayfs and btrfs give them) are kept exactly', async t => {
	const dir = await tempDir(t);
	const file = path.join(dir, 'images', 'disk.qcow2');
	await mkdir(path.dirname(file), {recursive: true});
	await writeFile(file, '');
	await truncate(file, (2 ** 32) + 5);
	const sparse = await identity(file);
	t.is(sparse.size, (2 ** 32) + 5);
	const large = {dev: (2 ** 40) + 3, ino: (2 ** 53) - 1, size: (2 ** 31) + 1, mtimeMs: sparse.mtimeMs, ctimeMs: sparse.ctimeMs};
	const cachePath = path.join(dir, 'cache.json');
	const cache = new DigestCache(cachePath, root);
	cache.record('images/disk.qcow2', sparse, {content: 'qcow2', sha256: sha});
	cache.record('images/large', large, {content: 'qcow2', sha256: otherSha});
	await cache.save();
	const loaded = await DigestCache.load(cachePath, root, collector().emit);
	t.is(loaded.lookup('images/disk.qcow2', identityOf(await stat(file)))?.sha256, sha);
	t.is(loaded.lookup('images/large', {...large})?.sha256, otherSha);
	// What each number would be cut to as a 32-bit integer is another file.
	t.is(loaded.lookup('images/disk.qcow2', {...sparse, size: 5}), undefined);
	for (const field of ['dev', 'ino', 'size'] as const) {
		t.is(loaded.lookup('images/large', {...large, [field]: large[field] | 0}), undefined, field);
	}
});

test('same-size content rewritten with the mtime put back: the ctime moves, the lookup misses', async t => {
	const dir = await tempDir(t);
	const {file, id, cachePath} = await savedCache(dir);
	await rewriteSameSize(file, flipLastByte);
	const now = await identity(file);
	t.is(now.size, id.size);
	t.is(now.mtimeMs, id.mtimeMs, 'precondition: the mtime is exactly as before');
	t.is(now.ino, id.ino, 'precondition: same inode');
	t.not(now.ctimeMs, id.ctimeMs, 'precondition: the ctime moved');
	const loaded = await DigestCache.load(cachePath, root, collector().emit);
	t.is(loaded.lookup('images/root.squashfs', now), undefined);
});

test('a file replaced by another of the same size and mtime (new inode) misses', async t => {
	const dir = await tempDir(t);
	const {file, id, cachePath} = await savedCache(dir);
	const replacement = `${file}.new`;
	await writeFile(replacement, 'hsqs and some BYTES');
	await rename(replacement, file);
	const now = await identity(file);
	t.not(now.ino, id.ino);
	const loaded = await DigestCache.load(cachePath, root, collector().emit);
	t.is(loaded.lookup('images/root.squashfs', now), undefined);
});

test('a time in nanoseconds is made the very milliseconds Node\'s stats give for it, before 1970 too', async t => {
	const file = path.join(await tempDir(t), 'f');
	await writeFile(file, 'x');
	const stamps = [1_765_100_000_999_999_999n, 1_765_100_000_000_000_001n, 1_765_100_000_123_456_789n, 2_200_000_000_999_999_999n, 1n, 0n, -1n, -1_500_000_000n, -86_400_000_000_001n];
	for (const ns of stamps) {
		const magnitude = ns < 0n ? -ns : ns;
		await execa('touch', ['-m', '-d', `${ns < 0n ? '-' : ''}${touchStamp(magnitude)}`.replace('-@', '@-'), file]);
		const [exact, plain] = [await stat(file, {bigint: true}), await stat(file)];
		t.is(exact.mtimeNs, ns, 'precondition: the filesystem keeps the nanoseconds');
		t.is(millisecondsOf(String(ns)), plain.mtimeMs, String(ns));
	}
});

test('a cache of the first format (nanosecond strings) is read, journal and deltas too, and written again in the current format', async t => {
	const dir = await tempDir(t);
	const files = ['a', 'b'].map(name => path.join(dir, name));
	for (const file of files) {
		await writeFile(file, file);
	}

	const firstIdentity = async (file: string) => {
		const {dev, ino, size, mtimeNs, ctimeNs} = await stat(file, {bigint: true});
		return {dev: String(dev), ino: String(ino), size: Number(size), mtimeNs: String(mtimeNs), ctimeNs: String(ctimeNs)};
	};

	const [a, b] = [await firstIdentity(files[0]!), await firstIdentity(files[1]!)];
	const cachePath = path.join(dir, 'cache.json');
	await writeFile(cachePath, JSON.stringify({
		format: 'simplestreams-digests:1', root, files: {'images/a': {...a, content: 'squashfs', sha256: sha}}, combined: {[`${otherSha}:${sha}`]: sha},
		deltas: {'images/delta-x.vcdiff': {source: sha, target: otherSha, size: 3, sha256: otherSha, identity: b}},
	}));
	await writeFile(path.join(dir, 'cache.journal'), `${JSON.stringify(['file', 'images/b', {...b, content: 'xz', sha256: otherSha}])}\n`);
	const c = collector();
	const loaded = await DigestCache.load(cachePath, root, c.emit);
	t.deepEqual(c.events, []);
	const [idA, idB] = [await identity(files[0]!), await identity(files[1]!)];
	t.deepEqual(loaded.lookup('images/a', idA), {content: 'squashfs', sha256: sha});
	t.deepEqual(loaded.lookup('images/b', idB), {content: 'xz', sha256: otherSha});
	t.deepEqual(loaded.delta('images/delta-x.vcdiff')?.identity, idB);
	t.is(loaded.combined(`${otherSha}:${sha}`), sha);
	t.is(loaded.lookup('images/a', {...idA, ctimeMs: idA.ctimeMs + 0.001}), undefined);

	t.is(await loaded.save(), 4, 'written although nothing changed');
	t.deepEqual((await readdir(dir)).sort(), ['a', 'b', 'cache.json'], 'the journal folded into the snapshot');
	const data = JSON.parse(await readFile(cachePath, 'utf8')) as {format: string; files: Record<string, FileIdentity>};
	t.is(data.format, 'simplestreams-digests:2');
	t.deepEqual(data.files['images/b'], {...idB, content: 'xz', sha256: otherSha});
	const again = await DigestCache.load(cachePath, root, c.emit);
	t.deepEqual(c.events, []);
	t.truthy(again.lookup('images/a', idA));
	t.deepEqual(again.delta('images/delta-x.vcdiff')?.identity, idB);
	t.is(await again.save(), undefined);
});

const corrupt: Record<string, (dir: string) => string> = {
	garbage: () => 'this is not { json',
	binary: () => '\u0000\u0001\u0002',
	empty: () => '',
	'JSON null': () => 'null',
	'JSON number': () => '5',
	'JSON array': () => '[]',
	'another format': () => JSON.stringify({format: 'simplestreams-digests:0', root, files: {}, combined: {}}),
	'no format': () => JSON.stringify({root, files: {}, combined: {}}),
	'files is null': () => JSON.stringify({format: 'simplestreams-digests:2', root, files: null, combined: {}}),
	'combined is a string': () => JSON.stringify({format: 'simplestreams-digests:2', root, files: {}, combined: 'x'}),
};

for (const [name, content] of Object.entries(corrupt)) {
	test(`a corrupt cache file (${name}) gives a warning and an empty cache`, async t => {
		const dir = await tempDir(t);
		const {id, cachePath} = await savedCache(dir);
		await writeFile(cachePath, content(dir));
		const c = collector();
		const loaded = await DigestCache.load(cachePath, root, c.emit);
		t.is(c.of('warning').length, 1);
		t.is(c.of('warning')[0]?.path, cachePath);
		t.regex(c.of('warning')[0]?.message ?? '', /digest cache ignored.*hashing everything/);
		t.is(loaded.lookup('images/root.squashfs', id), undefined);
	});
}

test('a cache file of another web root gives a warning naming that root, and an empty cache', async t => {
	const dir = await tempDir(t);
	const {id, cachePath} = await savedCache(dir);
	const c = collector();
	const loaded = await DigestCache.load(cachePath, '/srv/other', c.emit);
	t.regex(c.of('warning')[0]?.message ?? '', /belongs to \/srv\/www/);
	t.is(loaded.lookup('images/root.squashfs', id), undefined);
	t.is(loaded.combined(`${otherSha}:${sha}`), undefined);
});

const badEntries = async (dir: string) => {
	const {id, cachePath} = await savedCache(dir);
	const data = JSON.parse(await readFile(cachePath, 'utf8')) as {files: Record<string, unknown>; combined: Record<string, unknown>};
	const good = data.files['images/root.squashfs'] as Record<string, unknown>;
	Object.assign(data.files, {
		'images/null': null,
		'images/string': 'x',
		'images/size-string': {...good, size: String(id.size)},
		'images/size-float': {...good, size: 1.5},
		'images/upper-sha': {...good, sha256: sha.toUpperCase()},
		'images/short-sha': {...good, sha256: 'abc'},
		'images/bad-content': {...good, content: 'rar'},
		'images/no-ino': {...good, ino: undefined},
		'images/ino-string': {...good, ino: String(id.ino)},
		'images/mtime-ns': {...good, mtimeMs: undefined, mtimeNs: '1'},
		'images/problem-number': {...good, problem: 5},
	});
	Object.assign(data.combined, {'a:b': 'not hex', 'c:d': 42, 'e:f': null});
	await writeFile(cachePath, JSON.stringify(data));
	return {id, cachePath};
};

test('a cache file with bad entries: they are dropped, the good ones kept, nothing throws', async t => {
	const dir = await tempDir(t);
	const {id, cachePath} = await badEntries(dir);
	const loaded = await DigestCache.load(cachePath, root, collector().emit);
	t.deepEqual(loaded.lookup('images/root.squashfs', id), {content: 'squashfs', sha256: sha});
	for (const name of ['null', 'string', 'size-string', 'size-float', 'upper-sha', 'short-sha', 'bad-content', 'no-ino', 'ino-string', 'mtime-ns', 'problem-number']) {
		t.is(loaded.lookup(`images/${name}`, id), undefined, name);
	}

	t.is(loaded.combined('a:b'), undefined);
	t.is(loaded.combined('c:d'), undefined);
	t.is(loaded.combined('e:f'), undefined);
	t.is(loaded.combined(`${otherSha}:${sha}`), sha);
});

test('a cache file with bad entries says so in a warning', async t => {
	const dir = await tempDir(t);
	const {cachePath} = await badEntries(dir);
	const c = collector();
	await DigestCache.load(cachePath, root, c.emit);
	t.is(c.of('warning').length, 1, 'dropped entries are reported');
	t.is(c.of('warning')[0]?.path, cachePath);
});

test('a missing cache file is silently empty; an unreadable one gives a warning', async t => {
	const dir = await tempDir(t);
	const c = collector();
	const missing = await DigestCache.load(path.join(dir, 'nope', 'cache.json'), root, c.emit);
	t.deepEqual(c.events, []);
	t.is(missing.combined('x'), undefined);
	const directory = path.join(dir, 'dir.json');
	await mkdir(directory);
	await DigestCache.load(directory, root, c.emit);
	t.regex(c.of('warning')[0]?.message ?? '', /digest cache ignored: it is a directory, not a regular file; hashing everything/);
});

test('save writes only when something changed', async t => {
	const dir = await tempDir(t);
	const cachePath = path.join(dir, 'deep', 'er', 'cache.json');
	const fresh = new DigestCache(cachePath, root);
	t.is(await fresh.save(), undefined);
	await t.throwsAsync(stat(cachePath), {code: 'ENOENT'}, 'nothing written for an unchanged cache');
	const file = path.join(dir, 'f');
	await writeFile(file, 'x');
	fresh.record('images/f', await identity(file), {content: 'unknown'});
	t.is(await fresh.save(), 1, 'creates the parent directories');
	const written = await mtimeNs(cachePath);
	t.is(await fresh.save(), undefined, 'clean after a save');
	const loaded = await DigestCache.load(cachePath, root, collector().emit);
	t.truthy(loaded.lookup('images/f', await identity(file)));
	t.is(await loaded.save(), undefined, 'lookups do not make it dirty');
	t.is(await mtimeNs(cachePath), written);
	t.is((await stat(cachePath)).mode & 0o777, 0o600);
});

test('a new snapshot is atomic: a new file is renamed into place, no temporary file is left', async t => {
	const dir = await tempDir(t);
	const {cachePath} = await savedCache(dir);
	const before = await readFile(cachePath, 'utf8');
	const hardlink = path.join(dir, 'old-cache.json');
	await link(cachePath, hardlink);
	// A cache of another root in the same file: this one starts afresh, with a snapshot of its own.
	const other = await DigestCache.load(cachePath, '/srv/other', collector().emit);
	other.recordCombined(`${sha}:${sha}`, otherSha);
	t.is(await other.save(), 1);
	t.is(await readFile(hardlink, 'utf8'), before, 'the old inode was never written to');
	t.not((await stat(cachePath)).ino, (await stat(hardlink)).ino);
	t.deepEqual((await readdir(dir)).sort(), ['cache.json', 'images', 'old-cache.json']);
	const data = JSON.parse(await readFile(cachePath, 'utf8')) as {format: string; root: string; combined: Record<string, string>};
	t.is(data.format, 'simplestreams-digests:2');
	t.is(data.root, '/srv/other');
	t.is(data.combined[`${sha}:${sha}`], otherSha);
});

test('a save after a load appends what changed to the journal and leaves the snapshot alone; a load replays it', async t => {
	const dir = await tempDir(t);
	const {id, cachePath} = await savedCache(dir);
	const snapshot = await readFile(cachePath, 'utf8');
	const inode = (await stat(cachePath)).ino;
	const journal = path.join(dir, 'cache.journal');
	const c1 = await DigestCache.load(cachePath, root, collector().emit);
	c1.record('images/b', id, {content: 'xz', sha256: otherSha});
	t.is(await c1.save(), 3);
	const appended = await readFile(journal, 'utf8');
	t.is(appended.split('\n').length, 2, 'one line, for the one entry');
	t.true(appended.includes('images/b'));
	t.is(await readFile(cachePath, 'utf8'), snapshot);
	t.is((await stat(cachePath)).ino, inode);
	t.is((await stat(journal)).mode & 0o777, 0o600);
	t.deepEqual(c1.paths, [cachePath, journal]);

	// Dropped entries are journalled too.
	t.truthy(c1.lookup('images/b', id));
	c1.prune();
	t.is(await c1.save(), 1);
	t.is(await readFile(cachePath, 'utf8'), snapshot);

	const c = collector();
	const c2 = await DigestCache.load(cachePath, root, c.emit);
	t.deepEqual(c.events, []);
	t.truthy(c2.lookup('images/b', id));
	t.is(c2.lookup('images/root.squashfs', id), undefined);
	t.is(c2.combined(`${otherSha}:${sha}`), undefined);
});

test('a journal line cut short at the end is ignored, and the next append starts on a line of its own', async t => {
	const dir = await tempDir(t);
	const {id, cachePath} = await savedCache(dir);
	const journal = path.join(dir, 'cache.journal');
	const c1 = await DigestCache.load(cachePath, root, collector().emit);
	c1.record('images/b', id, {content: 'xz', sha256: otherSha});
	c1.record('images/c', id, {content: 'xz', sha256: otherSha});
	await c1.save();
	const whole = await readFile(journal);
	// The second line's append was cut short by a crash.
	await writeFile(journal, whole.subarray(0, whole.length - 20));

	const c = collector();
	const c2 = await DigestCache.load(cachePath, root, c.emit);
	t.deepEqual(c.events, [], 'a torn tail is no malformed entry');
	t.truthy(c2.lookup('images/b', id));
	t.is(c2.lookup('images/c', id), undefined, 'hashed again');
	c2.record('images/d', id, {content: 'xz', sha256: sha});
	await c2.save();

	const c3 = await DigestCache.load(cachePath, root, c.emit);
	t.deepEqual(c.events, []);
	t.truthy(c3.lookup('images/b', id));
	t.truthy(c3.lookup('images/d', id));
});

test('a journal grown large is folded into a new snapshot; one left by a crash before its removal changes nothing', async t => {
	const dir = await tempDir(t);
	const {id, cachePath} = await savedCache(dir);
	const journal = path.join(dir, 'cache.journal');
	const cache = await DigestCache.load(cachePath, root, collector().emit);
	let kept: Buffer | undefined;
	let count = 0;
	// Saves of a hundred entries each, until one folds the journal into the snapshot (over 1 MiB of lines).
	while (kept === undefined || (await stat(journal).catch(() => undefined))) {
		kept = await readFile(journal).catch(() => Buffer.alloc(0));
		for (let i = 0; i < 100; i++) {
			cache.record(`images/many/${count++}`, id, {content: 'xz', sha256: sha});
		}

		t.is(await cache.save(), count + 2);
		if (count > 100_000) {
			t.fail('never folded');
			return;
		}
	}

	t.deepEqual(cache.paths, [cachePath]);
	const data = JSON.parse(await readFile(cachePath, 'utf8')) as {files: Record<string, unknown>};
	t.is(Object.keys(data.files).length, count + 1);

	// The journal as it was before its last append, put back: a replay over the snapshot holding it all.
	await writeFile(journal, kept);
	const c = collector();
	const loaded = await DigestCache.load(cachePath, root, c.emit);
	t.deepEqual(c.events, []);
	for (const n of [0, Math.floor(count / 2), count - 1]) {
		t.truthy(loaded.lookup(`images/many/${n}`, id), String(n));
	}

	t.truthy(loaded.lookup('images/root.squashfs', id));
});

test('a journal beside no snapshot is not used, and the next save removes it', async t => {
	const dir = await tempDir(t);
	const {id, cachePath} = await savedCache(dir);
	const c1 = await DigestCache.load(cachePath, root, collector().emit);
	c1.record('images/b', id, {content: 'xz', sha256: otherSha});
	await c1.save();
	await rename(cachePath, path.join(dir, 'elsewhere.json'));
	const c2 = await DigestCache.load(cachePath, root, collector().emit);
	t.is(c2.lookup('images/b', id), undefined);
	c2.record('images/c', id, {content: 'xz', sha256: otherSha});
	await c2.save();
	t.deepEqual((await readdir(dir)).sort(), ['cache.json', 'elsewhere.json', 'images']);
	t.deepEqual(c2.paths, [cachePath]);
});

test('prune drops what was not used since the load', async t => {
	const dir = await tempDir(t);
	const {id, cachePath} = await savedCache(dir);
	const c1 = await DigestCache.load(cachePath, root, collector().emit);
	c1.record('images/b', id, {content: 'xz', sha256: otherSha});
	c1.recordCombined(`${sha}:${sha}`, otherSha);
	await c1.save();

	const c2 = await DigestCache.load(cachePath, root, collector().emit);
	t.truthy(c2.lookup('images/b', id));
	t.truthy(c2.combined(`${sha}:${sha}`));
	c2.prune();
	t.is(await c2.save(), 2, 'the unused file entry and pair are gone');

	const c3 = await DigestCache.load(cachePath, root, collector().emit);
	t.is(c3.lookup('images/root.squashfs', id), undefined);
	t.is(c3.combined(`${otherSha}:${sha}`), undefined);
	t.truthy(c3.lookup('images/b', id));
	t.truthy(c3.combined(`${sha}:${sha}`));
	c3.prune();
	t.is(await c3.save(), undefined, 'nothing unused: nothing to write');
});

test('a cache kept in memory (the watcher\'s) forgets at each prune what the scan since the last one did not use', async t => {
	const dir = await tempDir(t);
	const {id, cachePath} = await savedCache(dir);
	const cache = await DigestCache.load(cachePath, root, collector().emit);
	t.truthy(cache.lookup('images/root.squashfs', id));
	t.truthy(cache.combined(`${otherSha}:${sha}`));
	cache.prune();
	t.is(await cache.save(), undefined, 'both used: nothing dropped');

	// The next scan: the version is gone from the tree, so nothing looks it up.
	cache.prune();
	t.is(cache.lookup('images/root.squashfs', id), undefined);
	t.is(cache.combined(`${otherSha}:${sha}`), undefined);
	t.is(await cache.save(), 0);
});

test('the default cache path is outside the web root, per root, under XDG_CACHE_HOME', t => {
	const saved = process.env.XDG_CACHE_HOME;
	try {
		process.env.XDG_CACHE_HOME = '/var/cache/test';
		const a = defaultCachePath('/srv/www');
		t.regex(a, /^\/var\/cache\/test\/simplestreams\/[0-9a-f]{16}\.json$/);
		t.not(defaultCachePath('/srv/other'), a);
		t.is(defaultCachePath('/srv/www'), a);
	} finally {
		if (saved === undefined) {
			delete process.env.XDG_CACHE_HOME;
		} else {
			process.env.XDG_CACHE_HOME = saved;
		}
	}
});
