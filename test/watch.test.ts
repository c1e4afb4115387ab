// A running `--watch` against real filesystem changes, checked in the streams it writes (and, for an
// arrival, with the real lxc client). Each test has its own tree, watcher and cache.
import {createHash} from 'node:crypto';
import {appendFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises';
import {hostname} from 'node:os';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import test from 'ava';
import {execa} from 'execa';
import {cacheOnDisk} from './helpers/cache.js';
import {remote} from './helpers/clients.js';
import {bigFile, imageVersion, qcow2Disk, tempDir} from './helpers/images.js';
import {serve} from './helpers/server.js';
import {product, readStreams, startWatcher, until, versionsIn} from './helpers/watch.js';
import {formatBytes} from '../source/util/format.js';
import {running} from '../source/util/owner.js';

const cli = path.resolve('dist/cli.js');

const version = async (root: string, name: string, rootfs: Array<'root.squashfs' | 'disk.qcow2'> = ['root.squashfs']) =>
	imageVersion(root, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: name, meta: ['incus.tar.xz'], rootfs});

test.serial('a version that arrives by renaming its upload directory is published, and lxc sees it', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	t.deepEqual(versionsIn(await readStreams(w.root)), ['20240101_0000']);
	const upload = await version(w.root, '.20240102_0000');
	const started = Date.now();
	await rename(upload.dir, path.join(w.root, product, '20240102_0000'));
	await until('the new version', async () => versionsIn(await readStreams(w.root)).includes('20240102_0000'));
	t.log(`rename → images.json in ${Date.now() - started} ms (settle 0.4 s)`);
	// The log line follows the write.
	await until('the log line', async () => /regenerated in .*: \+1 \(acme:1\.0:amd64:default 20240102_0000\)/.test(w.log()));

	const server = await serve(w.root);
	t.teardown(async () => server.stop());
	const client = await remote('lxc', server.url, server.caFile);
	t.teardown(async () => client.close());
	const listed = await client.list();
	t.deepEqual(listed.map(i => i.properties.serial).sort(), ['20240101_0000', '20240102_0000']);
});

test.serial('a slow copy into a visible directory never publishes a partial digest', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	}, ['--log', 'json']);
	const source = await qcow2Disk(path.join(w.tmp.path, 'source.qcow2'), {sizeMiB: 8, content: 'slow copy '.repeat(50_000)});
	const bytes = await readFile(source);
	const meta = await version(w.tmp.path, '20240102_0000', []);
	const target = path.join(w.root, product, '20240102_0000');
	await mkdir(target, {recursive: true});
	await writeFile(path.join(target, 'incus.tar.xz'), await readFile(meta.files['incus.tar.xz']!));
	const final = createHash('sha256').update(bytes).digest('hex');
	const publishedDisk = async () => (await readStreams(w.root))?.products['acme:1.0:amd64:default']?.versions['20240102_0000']?.items['disk.qcow2']?.sha256;
	// Every digest the streams show while the copy runs, read beside it.
	const seen = new Set<string>();
	let copying = true;
	const reading = (async () => {
		while (copying) {
			const digest = await publishedDisk();
			if (digest) {
				seen.add(digest);
			}

			await sleep(50);
		}
	})();
	// A regeneration held the version back as settling, and ended: the streams it wrote are what can fail.
	const heldBack = () => {
		const events = w.log().split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as {type: string; path?: string});
		const held = events.findIndex(event => event.type === 'settling' && event.path === `${product}/20240102_0000`);
		return held >= 0 && events.slice(held).some(event => event.type === 'regenerated');
	};

	// The copy: half the disk, then 1 KiB at a time, pauses far shorter than the settle window, until a
	// regeneration has looked at the partial disk (the debounce forces one within five settle windows;
	// 1 KiB a probe lasts longer than until's bound, so the disk is still partial when it does).
	const handle = await open(path.join(target, 'disk.qcow2'), 'w');
	let offset = Math.floor(bytes.length / 2);
	await handle.write(bytes.subarray(0, offset));
	await until('a regeneration that held the partial disk back', async () => {
		if (heldBack()) {
			return true;
		}

		const {bytesWritten} = await handle.write(bytes.subarray(offset, offset + 1024));
		offset += bytesWritten;
		return false;
	}).catch((error: Error) => {
		throw new Error(`${error.message}; log:\n${w.log()}`);
	});
	const afterHeld = await publishedDisk();
	t.true(afterHeld === undefined || afterHeld === final, 'the regeneration that held it published no digest of the partial disk');
	await handle.write(bytes.subarray(offset));
	await handle.close();
	await until('the finished disk', async () => (await publishedDisk()) === final);
	copying = false;
	await reading;
	t.deepEqual([...seen].filter(digest => digest !== final), [], 'no digest of a partial file was ever published');
});

test.serial('a squashfs upload that stalls longer than the settle window is not published until complete', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	const finished = await version(w.tmp.path, '20240102_0000');
	const bytes = await readFile(finished.files['root.squashfs']!);
	const target = path.join(w.root, product, '20240102_0000');
	await mkdir(target, {recursive: true});
	await writeFile(path.join(target, 'incus.tar.xz'), await readFile(finished.files['incus.tar.xz']!));
	// Cut inside the filesystem itself, not in mksquashfs's padding to 4 KiB.
	const cut = Math.floor(Number(bytes.readBigUInt64LE(40)) / 2);
	await writeFile(path.join(target, 'root.squashfs'), bytes.subarray(0, cut));
	await until('the stalled upload to be judged', async () => /root\.squashfs: truncated: the squashfs superblock says/.test(w.log())).catch((error: Error) => {
		throw new Error(`${error.message}; log:\n${w.log()}`);
	});
	t.deepEqual(versionsIn(await readStreams(w.root)), ['20240101_0000']);
	await appendFile(path.join(target, 'root.squashfs'), bytes.subarray(cut));
	await until('the completed upload', async () => versionsIn(await readStreams(w.root)).includes('20240102_0000'));
	const item = (await readStreams(w.root))!.products['acme:1.0:amd64:default']!.versions['20240102_0000']!.items['root.squashfs']!;
	t.is(item.sha256, createHash('sha256').update(bytes).digest('hex'));
});

test.serial('deleting a version, then a whole product, removes them from the streams', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await version(root, '20240102_0000');
		await imageVersion(root, {os: 'other', release: '2', arch: 'arm64', variant: 'default', version: '20240101', meta: ['lxd.tar.xz'], rootfs: ['root.tar.xz']});
	});
	t.truthy((await readStreams(w.root))?.products['other:2:arm64:default']);
	await rm(path.join(w.root, product, '20240101_0000'), {recursive: true});
	await until('the version to leave', async () => versionsIn(await readStreams(w.root)).join() === '20240102_0000');
	await rm(path.join(w.root, 'images/other'), {recursive: true});
	// index.json is written right after images.json: wait for both.
	await until('the product to leave', async () => {
		const streams = await readStreams(w.root);
		const index = JSON.parse(await readFile(path.join(w.root, 'streams/v1/index.json'), 'utf8')) as {index: {images: {products: string[]}}};
		return streams && !streams.products['other:2:arm64:default'] && index.index.images.products.join() === 'acme:1.0:amd64:default';
	});
	t.pass();
});

test.serial('what the watcher published, changed by someone else (deleted, replaced, written to in place), is said and published again; its own writes start nothing', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	const served = ['streams/v1/images.json', 'streams/v1/index.json', 'index.html'].flatMap(file => [file, `${file}.gz`]);
	const read = async () => Promise.all(served.map(async file => readFile(path.join(w.root, file), 'base64').catch(() => '')));
	const published = await read();
	t.true(published.every(text => text !== ''));
	const regenerations = () => w.log().split('\n').filter(line => line.includes('regenerated in')).length;
	const first = regenerations();
	const repaired = async (file: string, done: number) => {
		await until(`${file} published again`, async () => (await read()).every((text, at) => text === published[at]) && regenerations() === first + done);
		t.regex(w.log(), new RegExp(`full rescan: ${file.replaceAll('.', '\\.')} was written to, replaced or deleted by someone else; publishing it again`), file);
	};

	await rm(path.join(w.root, 'streams/v1/index.json.gz'));
	await repaired('streams/v1/index.json.gz', 1);
	await rm(path.join(w.root, 'index.html'));
	await repaired('index.html', 2);
	await writeFile(path.join(w.root, 'index.html.other'), 'not the page');
	await rename(path.join(w.root, 'index.html.other'), path.join(w.root, 'index.html'));
	await until('the page replaced', async () => regenerations() === first + 3);
	t.regex(w.log(), /warning index\.html: .*not a page simplestreams wrote/, 'a page put there by someone else is theirs: left alone');
	t.is(await readFile(path.join(w.root, 'index.html'), 'utf8'), 'not the page');
	published[4] = Buffer.from('not the page').toString('base64');
	await appendFile(path.join(w.root, 'streams/v1/images.json'), ' ');
	await repaired('streams/v1/images.json', 4);
	await rm(path.join(w.root, 'streams'), {recursive: true});
	await repaired('streams/v1/images.json', 5);
	t.false(w.log().includes('cannot write'), w.log());

	// Its own writes start no regeneration of their own: after an upload, one more and no other.
	const upload = await version(w.root, '.20240102_0000');
	await rename(upload.dir, path.join(w.root, product, '20240102_0000'));
	await until('the upload', async () => versionsIn(await readStreams(w.root)).includes('20240102_0000') && regenerations() === first + 6);
	await rm(path.join(w.root, 'streams/v1/index.json'));
	await until('index.json published again', async () => regenerations() === first + 7 && (await stat(path.join(w.root, 'streams/v1/index.json')).catch(() => undefined)) !== undefined);
	t.is(regenerations(), first + 7, w.log());
});

test.serial('a watcher started over published streams tells the versions that came and went while none ran', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await version(root, '20240102_0000');
		await execa(process.execPath, [cli, '-N', root, '--cache', path.join(root, '..', 'published-cache.json')], {env: {CI: 'true'}});
		await rm(path.join(root, product, '20240102_0000'), {recursive: true});
		await version(root, '20240103_0000');
	}, ['--log', 'json']);
	const first = w.log().split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as {type: string; added?: string[]; removed?: string[]}).find(event => event.type === 'regenerated');
	t.deepEqual(first?.added, ['acme:1.0:amd64:default 20240103_0000']);
	t.deepEqual(first?.removed, ['acme:1.0:amd64:default 20240102_0000']);
	t.deepEqual(versionsIn(await readStreams(w.root)), ['20240101_0000', '20240103_0000']);
});

test.serial('a changed requirements file changes the published requirements', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await writeFile(path.join(root, 'images/.requirements'), '{"secureboot": "false"}');
	});
	t.deepEqual((await readStreams(w.root))?.products['acme:1.0:amd64:default']?.requirements, {secureboot: 'false'});
	await writeFile(path.join(w.root, 'images/acme/.lxd_requirements'), '{"nesting": "true"}');
	await until('the new requirement', async () => (await readStreams(w.root))?.products['acme:1.0:amd64:default']?.requirements.nesting === 'true');
	t.deepEqual((await readStreams(w.root))?.products['acme:1.0:amd64:default']?.requirements, {secureboot: 'false', nesting: 'true'});
});

test.serial('a requirements file broken, then fixed, publishes the new requirements without hashing anything again', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await writeFile(path.join(root, 'images/acme/.lxd_requirements'), '{"secureboot": "false"}');
		// Another product, so that the regeneration with acme left out still publishes (and saves the cache).
		await imageVersion(root, {os: 'other', release: '2', arch: 'arm64', variant: 'default', version: '20240101', meta: ['lxd.tar.xz'], rootfs: ['root.tar.xz']});
	});
	const regenerations = () => w.log().split('\n').filter(line => line.includes('regenerated in')).length;
	let before = regenerations();
	await writeFile(path.join(w.root, 'images/acme/.lxd_requirements'), '{"secureboot": fals');
	await until('acme to leave the streams', async () => regenerations() > before && !(await readStreams(w.root))?.products['acme:1.0:amd64:default']);
	before = regenerations();
	await writeFile(path.join(w.root, 'images/acme/.lxd_requirements'), '{"secureboot": "true"}');
	await until('acme back with its new requirements', async () => regenerations() > before && (await readStreams(w.root))?.products['acme:1.0:amd64:default']?.requirements.secureboot === 'true');
	const last = w.log().split('\n').filter(line => line.includes('regenerated in')).at(-1)!;
	t.regex(last, /: \+1 \(acme:1\.0:amd64:default 20240101_0000\);.*streams updated$/);
	t.notRegex(last, /hashed/, 'the files below the requirements file were not hashed again');
});

test.serial('a corrupt file next to good ones is reported, and the good ones are still published', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	const good = await version(w.tmp.path, '.staging');
	const target = path.join(w.root, product, '20240102_0000');
	await mkdir(target);
	await writeFile(path.join(target, 'incus.tar.xz'), await readFile(good.files['incus.tar.xz']!));
	await writeFile(path.join(target, 'root.squashfs'), await readFile(good.files['root.squashfs']!));
	await writeFile(path.join(target, 'disk.qcow2'), 'this is not a qcow2 image\n');
	await until('the good part of the new version', async () => versionsIn(await readStreams(w.root)).includes('20240102_0000'));
	const items = (await readStreams(w.root))!.products['acme:1.0:amd64:default']!.versions['20240102_0000']!.items;
	t.deepEqual(Object.keys(items).sort(), ['incus.tar.xz', 'lxd.tar.xz', 'root.squashfs']);
	t.regex(w.log(), /skipped file images\/acme\/1\.0\/amd64\/default\/20240102_0000\/disk\.qcow2: content is not recognised; expected a qcow2 disk image/);
	t.is(w.watcher.exitCode, null, 'still running');
});

test.serial('versions that come and go leave the digest cache the size of the tree', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	let previous = '20240101_0000';
	for (const name of ['20240102_0000', '20240103_0000', '20240104_0000', '20240105_0000']) {
		const upload = await version(w.root, `.${name}`);
		await rename(upload.dir, path.join(w.root, product, name));
		await rm(path.join(w.root, product, previous), {recursive: true});
		await until(`${name} alone in the streams`, async () => versionsIn(await readStreams(w.root)).join() === name);
		previous = name;
	}

	// The cache is saved before the streams are written, in the same regeneration.
	const cache = await cacheOnDisk(path.join(w.tmp.path, 'cache.json'));
	t.deepEqual(Object.keys(cache.files).sort(), [`${product}/${previous}/incus.tar.xz`, `${product}/${previous}/root.squashfs`]);
	t.is(Object.keys(cache.combined).length, 1, 'the fingerprint of the one image left');
});

test.serial('images/ gone (an unmounted share): the streams stay, said once; back, it is published again without hashing', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	const published = await readFile(path.join(w.root, 'streams/v1/images.json'), 'utf8');
	const images = path.join(w.root, 'images');
	const away = path.join(w.tmp.path, 'images.away');
	await rename(images, away);
	const refusal = `regeneration failed, previous streams kept: nothing to publish: ${images} does not exist`;
	await until('the watcher to say it keeps the streams', async () => w.log().includes(refusal));
	// The mount point of an unmounted share is an empty directory; and a rescan looks again.
	await mkdir(images);
	w.watcher.kill('SIGHUP');
	await until('the watcher to say why again', async () => w.log().includes(`nothing to publish: ${images} holds no image version`));
	w.watcher.kill('SIGHUP');
	await until('the second rescan', async () => w.log().split('full rescan: SIGHUP').length === 3);
	await rm(images, {recursive: true});
	await rename(away, images);
	await until('a regeneration with images/ back', async () => w.log().split('regenerated in').length === 3);
	t.is(await readFile(path.join(w.root, 'streams/v1/images.json'), 'utf8'), published);
	const log = w.log();
	t.is(log.split(refusal).length, 2, `said once:\n${log}`);
	t.is(log.split('holds no image version').length, 2, `said once:\n${log}`);
	t.regex(log.split('\n').filter(line => line.includes('regenerated in')).at(-1)!, /: no version changes; 1 images for LXD, 1 for Incus; streams unchanged$/, 'nothing hashed again');
});

test.serial('when the root is removed, the watcher waits, and publishes again when it comes back', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	const saved = path.join(w.tmp.path, 'saved');
	await rename(w.root, saved);
	await until('the watcher to notice', async () => w.log().includes('is gone; waiting for it to come back'));
	await rename(saved, w.root);
	await version(w.root, '20240102_0000');
	await until('the streams after the return', async () => versionsIn(await readStreams(w.root)).includes('20240102_0000'));
	t.regex(w.log(), /is back; rescanning/);
});

test.serial('a root replaced in one step (renamed away, a new one renamed in) is watched anew', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	const next = path.join(w.tmp.path, 'next');
	await version(next, '20240201_0000');
	await rename(w.root, path.join(w.tmp.path, 'old'));
	await rename(next, w.root);
	await until('the new root\'s streams', async () => versionsIn(await readStreams(w.root)).join() === '20240201_0000').catch((error: Error) => {
		throw new Error(`${error.message}; log:\n${w.log()}`);
	});
	// Changes in the new root are seen: the watch followed the swap.
	const upload = await version(w.root, '.20240202_0000');
	await rename(upload.dir, path.join(w.root, product, '20240202_0000'));
	await until('a version added to the new root', async () => versionsIn(await readStreams(w.root)).includes('20240202_0000')).catch((error: Error) => {
		throw new Error(`${error.message}; log:\n${w.log()}`);
	});
	t.regex(w.log(), /full rescan: the root was replaced|is back; rescanning/);

	// The lock went away with the old directory: the new root has one of its own, so a -N on it is refused.
	const lock = JSON.parse(await readFile(path.join(w.root, '.simplestreams.lock'), 'utf8')) as {pid: number; command: string};
	t.like(lock, {pid: w.watcher.pid, command: 'simplestreams --watch'});
	const other = await execa('node', [cli, '-N', '--cache', path.join(w.tmp.path, 'other-cache.json'), w.root], {reject: false, env: {CI: 'true'}});
	t.is(other.exitCode, 1, other.stderr);
	t.regex(other.stderr, /is being written by another simplestreams \(simplestreams --watch, pid \d+/);

	// And the watcher removes that one when it stops, not the one in the directory it left.
	w.watcher.kill('SIGTERM');
	t.is((await w.watcher).exitCode, 0);
	await t.throwsAsync(readFile(path.join(w.root, '.simplestreams.lock')), {code: 'ENOENT'});
	t.truthy(await readFile(path.join(w.tmp.path, 'old', '.simplestreams.lock'), 'utf8'));
});

test.serial('a root replaced by one another simplestreams is writing: the watcher waits for its lock, then publishes', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	const next = path.join(w.tmp.path, 'next');
	await version(next, '20240201_0000');
	// A live process on this host holds the new root's lock, as a long -N would.
	const holder = execa('sleep', ['60']);
	t.teardown(() => {
		holder.kill();
	});
	await writeFile(path.join(next, '.simplestreams.lock'), JSON.stringify({pid: holder.pid, host: hostname(), since: new Date().toISOString(), command: 'simplestreams -N', started: running(holder.pid!)!.started}));
	await rename(w.root, path.join(w.tmp.path, 'old'));
	await rename(next, w.root);
	await until('the watcher to wait for the lock', async () => /regeneration failed, previous streams kept: .* is being written by another simplestreams \(simplestreams -N, pid \d+.*; trying again every 2 s until it is free/.test(w.log()));
	await sleep(4500);
	t.deepEqual(versionsIn(await readStreams(w.root)), [], 'nothing published while the other holds the lock');
	t.is(w.log().match(/is being written by another simplestreams/g)?.length, 1, 'said once, however often it is tried');
	holder.kill();
	await holder.catch(() => undefined);
	await until('the new root\'s streams', async () => versionsIn(await readStreams(w.root)).join() === '20240201_0000').catch((error: Error) => {
		throw new Error(`${error.message}; log:\n${w.log()}`);
	});
	t.like(JSON.parse(await readFile(path.join(w.root, '.simplestreams.lock'), 'utf8')), {pid: w.watcher.pid});
});

test.serial('SIGTERM during a regeneration stops within two seconds, exit 0, valid streams', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	}, ['-j', '1']);
	const before = await readFile(path.join(w.root, 'streams/v1/images.json'), 'utf8');
	// A large rootfs keeps the next regeneration hashing for a few seconds.
	const big = path.join(w.root, product, '20240102_0000');
	await version(w.tmp.path, '.big');
	await mkdir(big);
	await writeFile(path.join(big, 'incus.tar.xz'), await readFile(path.join(w.tmp.path, 'images/acme/1.0/amd64/default/.big/incus.tar.xz')));
	await bigFile(path.join(big, 'root.squashfs'), 3 * 1024 ** 3, 'hsqs');
	await until('hashing to start', async () => w.log().includes('regenerating') || true);
	await sleep(1200);
	const sent = Date.now();
	w.watcher.kill('SIGTERM');
	const result = await w.watcher;
	t.is(result.exitCode, 0, w.log());
	t.log(`stopped in ${Date.now() - sent} ms`);
	const after = await readFile(path.join(w.root, 'streams/v1/images.json'), 'utf8');
	t.notThrows(() => JSON.parse(after));
	t.is(after, before, 'the interrupted regeneration wrote nothing');
	t.regex(w.log(), /stopped/);
});

test.serial('a second writer on the same root is refused while the watcher runs', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	const second = await execa('node', [cli, '--watch', w.root, '--cache', path.join(w.tmp.path, 'other.json')], {reject: false, env: {CI: 'true'}, timeout: 60_000});
	t.is(second.exitCode, 1);
	t.regex(second.stderr, /is being written by another simplestreams \(simplestreams --watch, pid \d+/);
	const write = await execa('node', [cli, '-N', w.root, '--cache', path.join(w.tmp.path, 'other.json')], {reject: false, env: {CI: 'true'}, timeout: 60_000});
	t.is(write.exitCode, 1);
	t.regex(write.stderr, /is being written by another simplestreams/);
	const dry = await execa('node', [cli, w.root, '--cache', path.join(w.tmp.path, 'other.json')], {reject: false, env: {CI: 'true'}, timeout: 60_000});
	t.is(dry.exitCode, 0, 'a dry run writes nothing and needs no lock');
});

test.serial('a stale lock from a dead process is taken over', async t => {
	const tmp = await tempDir('ss-stale');
	t.teardown(async () => tmp.cleanup());
	const root = path.join(tmp.path, 'webroot');
	await version(root, '20240101_0000');
	const dead = execa('true');
	await dead;
	await writeFile(path.join(root, '.simplestreams.lock'), JSON.stringify({pid: dead.pid, host: (await import('node:os')).hostname(), since: new Date().toISOString(), command: 'simplestreams -N'}));
	const result = await execa('node', [cli, '-N', root, '--cache', path.join(tmp.path, 'cache.json')], {reject: false, env: {CI: 'true'}});
	t.is(result.exitCode, 0, result.stderr);
	await t.throwsAsync(readFile(path.join(root, '.simplestreams.lock')), {code: 'ENOENT'}, 'released on exit');
});

test.serial('a published version rewritten in place stays published while it settles', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
	});
	const before = await readFile(path.join(w.root, 'streams/v1/images.json'), 'utf8');
	// Rewritten in place with the same bytes: a fresh mtime, the same digest.
	const file = path.join(w.root, product, '20240101_0000/root.squashfs');
	const bytes = await readFile(file);
	// Regenerate now, inside the settle window (again, if a regeneration was busy when the signal came).
	await until('the watcher to hold it', async () => {
		await writeFile(file, bytes);
		w.watcher.kill('SIGHUP');
		await sleep(100);
		return w.log().includes('20240101_0000 to settle');
	});
	t.deepEqual(versionsIn(await readStreams(w.root)), ['20240101_0000']);
	// The regeneration that held it, and the one once it has settled: neither changes a version or a byte.
	const unchanged = /regenerated in [^\n]*no version changes[^\n]*streams unchanged\n[^]*regenerated in [^\n]*no version changes[^\n]*streams unchanged/;
	await until('the regeneration after it has settled', async () => unchanged.test(w.log()));
	t.is(await readFile(path.join(w.root, 'streams/v1/images.json'), 'utf8'), before, 'same bytes: only the mtime moved');
});

test.serial('--watch runs headless in a detached tmux session and logs each regeneration', async t => {
	const tmp = await tempDir('ss-tmux-watch');
	const socket = `ss-watch-${process.pid}`;
	t.teardown(async () => {
		await execa('tmux', ['-L', socket, 'kill-server'], {reject: false});
		await tmp.cleanup();
	});
	const root = path.join(tmp.path, 'webroot');
	await version(root, '20240101_0000');
	const log = path.join(tmp.path, 'watch.log');
	const command = `node ${cli} --watch ${root} --settle 0.4 --cache ${path.join(tmp.path, 'cache.json')} 2>>${log}; echo exit=$? >>${log}`;
	await execa('tmux', ['-L', socket, 'new-session', '-d', '-s', 'watch', '-x', '100', '-y', '30', command]);
	const logged = async (pattern: RegExp) => until(`${pattern} in the log`, async () => pattern.test(await readFile(log, 'utf8').catch(() => '')));
	await logged(/regenerated in .*: \+1 \(acme:1\.0:amd64:default 20240101_0000\)/);
	const upload = await version(root, '.20240102_0000');
	await rename(upload.dir, path.join(root, product, '20240102_0000'));
	await logged(/regenerated in .*: \+1 \(acme:1\.0:amd64:default 20240102_0000\)/);
	await execa('tmux', ['-L', socket, 'send-keys', '-t', 'watch', 'C-c']);
	await logged(/exit=0/);
	const text = await readFile(log, 'utf8');
	t.regex(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z watching /m, 'timestamped plain lines');
	t.regex(text, /Z stopped\n/);
	t.notRegex(text, /\u001B\[/, 'no escape codes in the log');
});

// A directory named to retitle the terminal (OSC 0) and to start a control sequence (C1 CSI): what the
// watcher's log says about it must not reach the operator's terminal as control characters.
const hostile = 'evil\u001B]0;pwned\u0007\u009B2J';

test.serial('--log plain: a directory named with escape sequences is logged with them made harmless', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await mkdir(path.join(root, 'images', hostile));
	}, ['--log', 'plain']);
	t.regex(w.log(), /skipped tree images\/evil\?\]0;pwned\?\?2J: /);
	t.false(/[\u001B\u0007\u009B]/.test(w.log()), w.log());
});

test.serial('--log json: a directory named with escape sequences is logged as \\u escapes, the name intact', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await mkdir(path.join(root, 'images', hostile));
	}, ['--log', 'json']);
	t.false(/[\u001B\u0007\u009B]/.test(w.log()), w.log());
	const skipped = w.log().split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as {type: string; path?: string; code?: string}).find(event => event.type === 'skipped');
	t.is(skipped?.path, `images/${hostile}`);
	t.is(skipped?.code, 'bad-name', 'a log shipper can filter on the code');
});

test.serial('--log json: durations in whole milliseconds, and a problem that persists is logged once, not at every regeneration', async t => {
	const w = await startWatcher(t, async root => {
		await version(root, '20240101_0000');
		await mkdir(path.join(root, 'images', hostile));
	}, ['--log', 'json']);
	await version(w.root, '20240102_0000');
	await until('a second regeneration', async () => (w.log().match(/"type":"regenerated"/g)?.length ?? 0) >= 2);
	const events = w.log().split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line) as {type: string; path?: string; milliseconds?: number});
	// On a busy machine the new version may be scanned before its files are in, and skipped once itself.
	t.is(events.filter(event => event.type === 'skipped' && event.path === `images/${hostile}`).length, 1, w.log());
	for (const event of events.filter(event => event.milliseconds !== undefined)) {
		t.true(Number.isInteger(event.milliseconds), JSON.stringify(event));
	}
});

test.serial('the log\'s "hashed X" is the size of the files hashed, also when two digests read a rootfs', async t => {
	let files: string[] = [];
	const w = await startWatcher(t, async root => {
		const made = await version(root, '20240101_0000');
		files = (await readdir(made.dir)).map(name => path.join(made.dir, name));
	}, ['-j', '2', '--log', 'plain']);
	const sizes = await Promise.all(files.map(async file => (await stat(file)).size));
	const first = w.log().split('\n').find(line => line.includes('regenerated in'))!;
	t.true(first.endsWith(`hashed ${formatBytes(sizes.reduce((a, b) => a + b, 0))}; streams updated`), first);
});
