// The watcher on what grows with the tree: the inotify watches it holds (directories, never files)
// and what it does when the kernel's limit on them is reached (lowered for the watcher alone, in a
// user namespace of its own).
import {readdir, readFile, rename} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {imageVersion} from './helpers/images.js';
import {product, readStreams, startWatcher, until, versionsIn} from './helpers/watch.js';

const version = async (root: string, name: string, at = product) => {
	const [os, release, arch, variant] = at.split('/').slice(1) as [string, string, string, string];
	return imageVersion(root, {os, release, arch, variant, version: name, meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
};

/** The inotify watches a process holds, from its file descriptors' fdinfo. */
async function inotifyWatches(pid: number): Promise<number> {
	let count = 0;
	for (const fd of await readdir(`/proc/${pid}/fdinfo`)) {
		const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
		count += info.split('\n').filter(line => line.startsWith('inotify wd:')).length;
	}

	return count;
}

test.serial('one watch per directory down to the versions, none per file, and none on uploads in progress', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await version(root, '20240102_0000');
		await version(root, '.20240103_0000');
	});
	// The root, images/, acme/, 1.0/, amd64/, default/ and the two versions; their four files have none.
	await until('the watches', async () => (await inotifyWatches(w.watcher.pid!)) === 8);
	const upload = await version(w.tmp.path, '20240104_0000');
	await rename(upload.dir, path.join(w.root, product, '20240104_0000'));
	await until('the new version', async () => versionsIn(await readStreams(w.root)).includes('20240104_0000'));
	await until('its watch', async () => (await inotifyWatches(w.watcher.pid!)) === 9);
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
