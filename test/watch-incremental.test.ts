// A watcher's regenerations keep what did not move (each product's catalog entry, its text, its
// section of the page): what they publish must be what a full run over the same tree publishes, byte
// for byte, also where products depend on each other (a fingerprint or an alias goes to the first
// product to claim it), after a version comes or goes, aliases change, or requirements change. An
// entry of a MB or more is written from the images.json the watcher published; that file written to
// behind its back is made again whole.
import {appendFile, cp, open, readFile, rename, rm, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {imageVersion, tempDir} from './helpers/images.js';
import {startWatcher, until, type Running} from './helpers/watch.js';

const cli = path.resolve('dist/cli.js');
const published = ['streams/v1/images.json', 'streams/v1/index.json', 'index.html'].flatMap(file => [file, `${file}.gz`]);

const acme = 'images/acme/1.0/amd64/default';
const zed = 'images/zed/1.0/amd64/default';

const version = async (root: string, os: string, name: string) =>
	imageVersion(root, {os, release: '1.0', arch: 'amd64', variant: 'default', version: name, meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});

/** The published files, the gzips as base64. */
const read = async (root: string) => Promise.all(published.map(async file => readFile(path.join(root, file), file.endsWith('.gz') ? 'base64' : 'utf8').catch(() => '')));

/** What a one-shot -N publishes from a copy of the watched tree's images/, with a cache of its own. */
async function fullRun(w: Running): Promise<string[]> {
	const copy = await tempDir('ss-full');
	try {
		await cp(path.join(w.root, 'images'), path.join(copy.path, 'webroot', 'images'), {recursive: true});
		await execa(process.execPath, [cli, '-N', path.join(copy.path, 'webroot'), '--cache', path.join(copy.path, 'cache.json')], {env: {CI: 'true'}});
		return await read(path.join(copy.path, 'webroot'));
	} finally {
		await copy.cleanup();
	}
}

/** The watcher's streams and page once they are a full run's (a version it holds while it settles aside), or what it last wrote. */
async function sameAsFull(t: {true: (value: boolean, message: string) => void; log: (text: string) => void}, w: Running, step: string): Promise<void> {
	const full = await fullRun(w);
	const watched = await until(`${step}: the watcher's output to be a full run's`, async () => {
		const now = await read(w.root);
		return now.every((text, at) => text === full[at]) && now;
	}, 30_000).catch(async () => read(w.root));
	for (const [at, file] of published.entries()) {
		// Not t.is: the difference of two texts of a MB is slow to show.
		t.true(watched[at] === full[at], `${step}: ${file}`);
	}

	t.log(`${step}: ${full[0]!.length} bytes of images.json as a full run's`);
}

test.serial('each regeneration publishes what a full run publishes: versions added and removed, aliases and requirements changed, across products that claim the same fingerprints and aliases', async t => {
	const w = await startWatcher(t, async root => {
		const first = await version(root, 'acme', '20240101_0000');
		await writeFile(path.join(root, acme, '.aliases'), 'shared\n');
		// zed's first version is acme's files again: the same fingerprints, which acme claims first.
		await cp(first.dir, path.join(root, zed, '20240101_0000'), {recursive: true});
		await version(root, 'zed', '20240102_0000');
		// "shared" goes to acme; "shared/amd64" is also what the clients make of acme's "shared" for its architecture.
		await writeFile(path.join(root, zed, '.aliases'), 'shared\nshared/amd64\n');
	});
	const before = await read(w.root);
	t.false(before[0]!.includes(`${zed}/20240101_0000`), 'zed\'s copy of acme\'s version is left out');
	await sameAsFull(t, w, 'start');

	const upload = await version(path.join(w.tmp.path, 'upload'), 'acme', '20240102_0000');
	await rename(upload.dir, path.join(w.root, acme, '20240102_0000'));
	await sameAsFull(t, w, 'a version added');

	await rm(path.join(w.root, acme, '20240101_0000'), {recursive: true});
	await sameAsFull(t, w, 'the version zed\'s copy depends on removed');
	t.true((await read(w.root))[0]!.includes(`${zed}/20240101_0000`), 'zed\'s copy is published once acme\'s version is gone');

	await writeFile(path.join(w.root, acme, '.aliases'), 'other\n');
	await sameAsFull(t, w, 'acme\'s aliases changed');

	await writeFile(path.join(w.root, 'images/zed/.requirements'), '{"secureboot": "false"}');
	await sameAsFull(t, w, 'zed\'s requirements changed');

	await rm(path.join(w.root, zed), {recursive: true});
	await sameAsFull(t, w, 'zed removed');
});

test.serial('an entry of a MB or more is written from the images.json published before, a gzip piece from before only where its text is the same; the file written to in place behind the watcher\'s back is made again whole', async t => {
	const big = 'images/big/1.0/amd64/default';
	const w = await startWatcher(t, async root => {
		const first = await version(root, 'big', '20240101_0000');
		// Distinct versions from the same files, a minute apart (the rootfs ends in the version's number),
		// enough to take its entry past a MB.
		for (let n = 1; n < 1500; n++) {
			const name = new Date(Date.UTC(2024, 0, 1, 0, n)).toISOString().replace(/^(\d+)-(\d+)-(\d+)T(\d+):(\d+).*$/, '$1$2$3_$4$5');
			await cp(first.dir, path.join(root, big, name), {recursive: true});
			await appendFile(path.join(root, big, name, 'root.squashfs'), String(n));
		}

		await version(root, 'zed', '20240101_0000');
	}, ['--log', 'json']);
	await sameAsFull(t, w, 'start');
	t.true((await read(w.root))[0]!.length > 1024 * 1024, 'big\'s entry is past a MB');

	const upload = async (os: string, name: string) => {
		const made = await version(path.join(w.tmp.path, 'upload', name), os, name);
		await rename(made.dir, path.join(w.root, `images/${os}/1.0/amd64/default`, name));
	};

	await upload('zed', '20240102_0000');
	await sameAsFull(t, w, 'a version of another product added');
	// A product that sorts first: big's entry is no longer the first, a comma before it.
	await rm(path.join(w.tmp.path, 'upload'), {recursive: true});
	await version(path.join(w.tmp.path, 'upload'), 'aaa', '20240101_0000');
	await rename(path.join(w.tmp.path, 'upload/images/aaa'), path.join(w.root, 'images/aaa'));
	await sameAsFull(t, w, 'a product before it');

	// Written to in place, where big's entry lies: the file the watcher holds is no longer what it wrote.
	const images = path.join(w.root, 'streams/v1/images.json');
	const at = (await readFile(images, 'utf8')).indexOf('"20240101_0100"');
	const file = await open(images, 'r+');
	await file.write('"19990101_0100"', at);
	await file.close();
	const before = w.log().split('\n').filter(line => line.includes('"type":"scanned"')).length;
	await upload('zed', '20240103_0000');
	await sameAsFull(t, w, 'images.json written to behind its back');
	t.true(w.log().split('\n').filter(line => line.includes('"type":"scanned"')).slice(before).some(line => line.includes('"products":3')), 'everything scanned again');

	// Put in its place by another: the watcher's own file still answers, the published one is written whole.
	await writeFile(`${images}.other`, '{}');
	await rename(`${images}.other`, images);
	await upload('zed', '20240104_0000');
	await sameAsFull(t, w, 'images.json replaced behind its back');
});
