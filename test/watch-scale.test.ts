// The watcher on what grows with the tree: the products it scans again after a change (those that
// moved, publishing what a full run would), the inotify watches it holds (directories, never files)
// and what it does when the kernel's limit on them is reached (lowered for the watcher alone, in a
// user namespace of its own).
import {cp, mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {imageVersion} from './helpers/images.js';
import {inotifyWatches, product, readStreams, startWatcher, until, versionsIn} from './helpers/watch.js';

const version = async (root: string, name: string, at = product) => {
	const [os, release, arch, variant] = at.split('/').slice(1) as [string, string, string, string];
	return imageVersion(root, {os, release, arch, variant, version: name, meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
};

type Scanned = {type: 'scanned'; products: number; versions: number};

test.serial('a change rescans only the products (or the directories above them) that moved, and publishes what a cold -N publishes on the same tree', async t => {
	const zeta = 'images/zeta/1.0/amd64/default';
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await version(root, '20240101_0000', zeta);
		await version(root, '20240101_0000', 'images/zeta/2.0/amd64/default');
		// Skipped at every scan of acme, said once in the log while it is there.
		await mkdir(path.join(root, product, '.20231231_0000'));
	}, ['--log', 'json']);
	const scans = () => w.log().split('\n').filter(line => line.includes('"type":"scanned"')).map(line => JSON.parse(line) as Scanned);
	t.is(scans()[0]?.products, 3, 'the first regeneration scans everything');

	// A version arrives in acme, and in zeta one arrives as the old one is removed.
	const arrival = await version(w.tmp.path, '20240102_0000');
	await rename(arrival.dir, path.join(w.root, product, '20240102_0000'));
	await until('acme\'s new version', async () => versionsIn(await readStreams(w.root)).includes('20240102_0000'));
	const replacement = await version(w.tmp.path, '20240102_0000', zeta);
	await rename(replacement.dir, path.join(w.root, zeta, '20240102_0000'));
	await rm(path.join(w.root, zeta, '20240101_0000'), {recursive: true});
	await until('zeta\'s version replaced', async () => versionsIn(await readStreams(w.root), 'zeta:1.0:amd64:default').join() === '20240102_0000');
	// Its aliases, a product's own file.
	await writeFile(path.join(w.root, zeta, '.aliases'), 'zed\n');
	await until('the alias', async () => JSON.stringify(await readStreams(w.root)).includes('zed'));
	// Above the products: an OS arrives whole, a release goes; each is scanned alone.
	await version(w.tmp.path, '20240101_0000', 'images/omega/1.0/amd64/default');
	await rename(path.join(w.tmp.path, 'images/omega'), path.join(w.root, 'images/omega'));
	await until('omega', async () => versionsIn(await readStreams(w.root), 'omega:1.0:amd64:default').join() === '20240101_0000');
	await rm(path.join(w.root, 'images/zeta/2.0'), {recursive: true});
	await until('zeta 2.0 gone', async () => (await readStreams(w.root))?.products['zeta:2.0:amd64:default'] === undefined);
	const later = scans().slice(1);
	t.true(later.length > 0);
	t.true(later.every(scan => scan.products <= 1), JSON.stringify(later));

	// A full scan again: what it finds wrong was reported all along, so it is not said again.
	// A regeneration already under way for the last changes may end first: wait for the full one's.
	const lines = () => w.log().split('\n');
	const before = lines().length;
	w.watcher.kill('SIGHUP');
	await until('the full rescan, and its regeneration', async () => {
		const after = lines().slice(before);
		const full = after.findIndex(line => line.includes('"type":"scanned"') && (JSON.parse(line) as Scanned).products === 3);
		return full >= 0 && after.slice(full).some(line => line.includes('"type":"regenerated"'));
	});
	t.is(w.log().split('\n').filter(line => line.includes('"type":"skipped"') && line.includes('.20231231_0000')).length, 1, w.log());

	// The same tree, copied as it is, published cold by -N with a cache of its own: the same bytes.
	const copy = path.join(w.tmp.path, 'copy');
	await cp(path.join(w.root, 'images'), path.join(copy, 'images'), {recursive: true, preserveTimestamps: true});
	const cold = await execa(process.execPath, [path.resolve('dist/cli.js'), '-N', copy, '--cache', path.join(w.tmp.path, 'cold.json')], {reject: false, env: {CI: 'true'}});
	t.is(cold.exitCode, 0, cold.stderr);
	for (const file of ['streams/v1/index.json', 'streams/v1/images.json']) {
		t.is(await readFile(path.join(w.root, file), 'utf8'), await readFile(path.join(copy, file), 'utf8'), file);
	}

	t.deepEqual(versionsIn(await readStreams(w.root), 'zeta:1.0:amd64:default'), ['20240102_0000'], 'the removed version is gone');
});

test.serial('one watch per directory down to the versions and on the way to what it published, none per file, and none on uploads in progress', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await version(root, '20240102_0000');
		await version(root, '.20240103_0000');
	});
	// The root, images/, acme/, 1.0/, amd64/, default/ and the two versions; their four files have
	// none. And streams/ and streams/v1/, for what it published (watch/served.ts).
	await until('the watches', async () => (await inotifyWatches(w.watcher.pid!)) === 10);
	const upload = await version(w.tmp.path, '20240104_0000');
	await rename(upload.dir, path.join(w.root, product, '20240104_0000'));
	await until('the new version', async () => versionsIn(await readStreams(w.root)).includes('20240104_0000'));
	await until('its watch', async () => (await inotifyWatches(w.watcher.pid!)) === 11);
	t.pass();
});

test.serial('at the inotify limit the watcher says so once, still publishes, and finds what it cannot watch at its rescan', async t => {
	const limited = 'images/zeta/1.0/amd64/default';
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await version(root, '20240101_0000', limited);
	}, [], ['unshare', '--user', '--map-root-user', 'sh', '-c', 'echo 4 > /proc/sys/user/max_inotify_watches && exec "$0" "$@"']);
	t.deepEqual(versionsIn(await readStreams(w.root)), ['20240101_0000']);
	t.deepEqual(versionsIn(await readStreams(w.root), 'zeta:1.0:amd64:default'), ['20240101_0000']);
	const said = () => w.log().split('\n').filter(line => line.includes('inotify watch limit is reached (fs.inotify.max_user_watches')).length;
	await until('the limit said', async () => said() > 0);
	t.regex(w.log(), /warning .*: the inotify watch limit is reached \(fs\.inotify\.max_user_watches = \d+\): 4 directories are watched, the others only looked at by a full rescan every 60 s/);

	// Four watches: the root, images/ and one of acme/ and zeta/ with a level below it. The product
	// directories have none: a new version in either shows at the next rescan.
	for (const at of [product, limited]) {
		const upload = await version(w.tmp.path, '20240102_0000', at);
		await rename(upload.dir, path.join(w.root, at, '20240102_0000'));
	}

	await until('both new versions', async () => {
		const streams = await readStreams(w.root);
		return versionsIn(streams).includes('20240102_0000') && versionsIn(streams, 'zeta:1.0:amd64:default').includes('20240102_0000');
	}, 240_000);
	t.is(said(), 1, 'said once, though each rescan tries again');
	t.is(w.watcher.exitCode, null, 'still running');
});
