import test from 'ava';
import type {Content} from '../source/domain/ftypes.js';
import type {FileFacts} from '../source/domain/file.js';
import {contentPair, pathPair, type ImageFile, type ScannedProduct} from '../source/domain/tree.js';
import {plan, type DigestTask, type PlanOptions} from '../source/pipeline/plan.js';
import {collector, digest, product, productRef} from './helpers/fixtures.js';

const natural: Record<string, Content> = {
	'lxd.tar.xz': 'xz', 'incus.tar.xz': 'xz', 'root.squashfs': 'squashfs', 'rootfs.squashfs': 'squashfs',
	'root.tar.xz': 'xz', 'rootfs.tar.xz': 'xz', 'disk.qcow2': 'qcow2', 'disk-kvm.img': 'qcow2',
};

const files = (products: readonly ScannedProduct[]) => products.flatMap(p => p.versions.flatMap(v => v.files));
const base = (file: {path: string}) => file.path.slice(file.path.lastIndexOf('/') + 1);

/** FileFacts for every file: its natural content, overridden per name; a digest when `cached` says so. */
function knowledge(products: readonly ScannedProduct[], options: {content?: Record<string, Content>; cached?: (file: ImageFile) => boolean} = {}) {
	const map = new Map<string, FileFacts>();
	for (const file of files(products)) {
		const content = options.content?.[file.path] ?? natural[base(file)]!;
		map.set(file.path, options.cached?.(file) ? {content, sha256: digest(file.path)} : {content});
	}

	return map;
}

const none: PlanOptions['cachedCombined'] = () => undefined;
/** `fuse`: one worker, so every rootfs is read once; otherwise two, and one version's rootfs passes split. */
const options = (fuse: boolean, cachedCombined = none): PlanOptions => ({jobs: fuse ? 1 : 2, cachedCombined});

const ref = productRef('debian', '12', 'amd64', 'default');
const dir = `${ref.path}/20240101_0000`;
/** A compact view of a task: file name ← prefix name, and what it wants. */
const shape = (task: DigestTask) => `${base(task.file)}${task.prefix ? ` after ${base(task.prefix)}` : ''}${task.wantFile ? ' +file' : ''}${task.wantCombined ? ' +combined' : ''} ${task.work}`;

test('files whose content does not fit their role are skipped with the reason', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'lxd.tar.xz': 100, 'root.squashfs': 1000, 'root.tar.xz': 500, 'disk.qcow2': 2000}});
	const c = collector();
	const result = plan([p], knowledge([p], {content: {
		[`${dir}/lxd.tar.xz`]: 'unknown',
		[`${dir}/root.squashfs`]: 'xz',
		[`${dir}/disk.qcow2`]: 'squashfs',
	}}), options(false), c.emit);
	const skipped = Object.fromEntries(c.of('skipped').map(e => [e.path, e.reason]));
	t.deepEqual(Object.keys(skipped).sort(), [`${dir}/disk.qcow2`, `${dir}/lxd.tar.xz`, `${dir}/root.squashfs`]);
	t.regex(skipped[`${dir}/lxd.tar.xz`]!, /content is not recognised; expected a tarball/);
	t.regex(skipped[`${dir}/root.squashfs`]!, /content is xz; expected a squashfs image/);
	t.regex(skipped[`${dir}/disk.qcow2`]!, /content is squashfs; expected a qcow2 disk image/);
	t.true(c.of('skipped').every(e => e.scope === 'file'));
	const [version] = result.products[0]!.versions;
	t.deepEqual(version!.metas.map(base), ['incus.tar.xz']);
	t.deepEqual(version!.roots.map(base), ['root.tar.xz']);
	t.false(result.tasks.some(task => task.file.path.endsWith('root.squashfs') || task.prefix?.path.endsWith('lxd.tar.xz')));
});

test('a file the probe found cut short is skipped with the probe\'s reason', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'root.squashfs': 1000, 'root.tar.xz': 500}});
	const known = knowledge([p]);
	known.set(`${dir}/root.squashfs`, {content: 'squashfs', problem: 'truncated: whatever the probe said'});
	const c = collector();
	const result = plan([p], known, options(false), c.emit);
	t.deepEqual(c.of('skipped').map(e => [e.path, e.reason]), [[`${dir}/root.squashfs`, 'truncated: whatever the probe said']]);
	t.deepEqual(result.products[0]!.versions[0]!.roots.map(base), ['root.tar.xz']);
});

test('metadata-only, rootfs-only and empty versions are skipped with the reason', t => {
	const p = product(ref, {
		'20240101_0000': {'incus.tar.xz': 100},
		'20240102_0000': {'root.squashfs': 1000, 'disk.qcow2': 1000},
		'20240103_0000': {},
		'20240104_0000': {'incus.tar.xz': 100, 'root.squashfs': 1000},
		'20240105_0000': {'incus.tar.xz': 100, 'root.squashfs': 1000},
	});
	const unreadable = `${ref.path}/20240105_0000/incus.tar.xz`;
	const known = knowledge([p], {content: {[`${ref.path}/20240104_0000/root.squashfs`]: 'unknown'}});
	known.delete(unreadable); // The probe could not read it (and said so itself).
	const c = collector();
	const result = plan([p], known, options(false), c.emit);
	t.deepEqual(result.products[0]!.versions, []);
	const versions = Object.fromEntries(c.of('skipped').filter(e => e.scope === 'version').map(e => [e.path.slice(-13), e.reason]));
	t.regex(versions['20240101_0000']!, /metadata but no usable rootfs/);
	t.regex(versions['20240102_0000']!, /a rootfs but no usable metadata/);
	t.regex(versions['20240103_0000']!, /no usable image files/);
	t.regex(versions['20240104_0000']!, /metadata but no usable rootfs/);
	t.regex(versions['20240105_0000']!, /a rootfs but no usable metadata/);
	t.false(c.of('skipped').some(e => e.path === unreadable), 'an unreadable file is the probe\'s to report');
	t.deepEqual(result.tasks, []);
});

test('without fusing, every uncached file gets its own pass and every pair a combined pass', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'root.squashfs': 1000, 'root.tar.xz': 500}});
	const result = plan([p], knowledge([p]), options(false), collector().emit);
	t.deepEqual(result.tasks.map(shape), [
		'root.squashfs after incus.tar.xz +combined 1100',
		'root.squashfs +file 1000',
		'root.tar.xz after incus.tar.xz +combined 600',
		'root.tar.xz +file 500',
		'incus.tar.xz +file 100',
	]);
	t.is(result.cached.files.size, 0);
	t.is(result.cached.combined.size, 0);
});

test('fusing: one pass per rootfs gives its digest and its first combined digest', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'lxd.tar.xz': 90, 'root.squashfs': 1000, 'disk.qcow2': 3000}});
	const result = plan([p], knowledge([p]), options(true), collector().emit);
	t.deepEqual(result.tasks.map(shape), [
		'disk.qcow2 after incus.tar.xz +file +combined 3100',
		'disk.qcow2 after lxd.tar.xz +combined 3090',
		'root.squashfs after incus.tar.xz +file +combined 1100',
		'root.squashfs after lxd.tar.xz +combined 1090',
		'incus.tar.xz +file 100',
		'lxd.tar.xz +file 90',
	]);
	t.is(result.tasks.filter(task => task.wantFile && task.file.path.endsWith('root.squashfs')).length, 1, 'the rootfs is hashed once');
});

test('with two workers, rootfs passes stay fused while other tasks keep the second worker busy, and split when none would', t => {
	const versions = Object.fromEntries(['20240101_0000', '20240102_0000', '20240103_0000'].map(name => [name, {'incus.tar.xz': 10, 'root.squashfs': 1000}]));
	const three = product(ref, versions);
	t.deepEqual(plan([three], knowledge([three]), options(false), collector().emit).tasks.map(shape), [
		'root.squashfs after incus.tar.xz +file +combined 1010',
		'root.squashfs after incus.tar.xz +file +combined 1010',
		'root.squashfs after incus.tar.xz +combined 1010',
		'root.squashfs +file 1000',
		'incus.tar.xz +file 10',
		'incus.tar.xz +file 10',
		'incus.tar.xz +file 10',
	]);
	const one = product(ref, {'20240101_0000': {'incus.tar.xz': 10, 'root.squashfs': 1000}});
	t.deepEqual(plan([one], knowledge([one]), {jobs: 2, cachedCombined: none}, collector().emit).tasks.map(shape), [
		'root.squashfs after incus.tar.xz +combined 1010',
		'root.squashfs +file 1000',
		'incus.tar.xz +file 10',
	], 'a single rootfs: its two digests on two workers');
	t.deepEqual(plan([one], knowledge([one]), {jobs: 1, cachedCombined: none}, collector().emit).tasks.map(shape), [
		'root.squashfs after incus.tar.xz +file +combined 1010',
		'incus.tar.xz +file 10',
	], 'one worker: always one pass');
});

test('with two workers, an even number of equal rootfs passes stays fused: splitting one would end no sooner and read it twice', t => {
	const versions = Object.fromEntries(['20240101_0000', '20240102_0000'].map(name => [name, {'incus.tar.xz': 10, 'root.squashfs': 1000}]));
	const two = product(ref, versions);
	t.deepEqual(plan([two], knowledge([two]), options(false), collector().emit).tasks.map(shape), [
		'root.squashfs after incus.tar.xz +file +combined 1010',
		'root.squashfs after incus.tar.xz +file +combined 1010',
		'incus.tar.xz +file 10',
		'incus.tar.xz +file 10',
	]);
});

test('cached files get no file pass; a cached pair gets no pass at all', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'root.squashfs': 1000, 'root.tar.xz': 500, 'disk.qcow2': 3000}});
	const meta = `${dir}/incus.tar.xz`;
	const squash = `${dir}/root.squashfs`;
	const asked: string[] = [];
	const combined = (pair: string) => {
		asked.push(pair);
		return pair === contentPair(digest(meta), digest(squash)) ? digest('combined') : undefined;
	};

	const known = knowledge([p], {cached: file => !file.path.endsWith('disk.qcow2')});
	for (const fuse of [false, true]) {
		asked.length = 0;
		const result = plan([p], known, options(fuse, combined), collector().emit);
		t.deepEqual(result.tasks.map(shape), [
			`disk.qcow2 after incus.tar.xz ${fuse ? '+file +combined 3100' : '+combined 3100'}`,
			...(fuse ? [] : ['disk.qcow2 +file 3000']),
			'root.tar.xz after incus.tar.xz +combined 600',
		], `fuse=${fuse}`);
		t.deepEqual(asked.sort(), [contentPair(digest(meta), digest(`${dir}/root.tar.xz`)), contentPair(digest(meta), digest(squash))].sort());
		t.is(result.cached.combined.get(pathPair(meta, squash)), digest('combined'));
		t.deepEqual([...result.cached.files.keys()].sort(), [meta, `${dir}/root.squashfs`, `${dir}/root.tar.xz`]);
	}
});

test('nothing to do when everything is cached', t => {
	const p = product(ref, {
		'20240101_0000': {'incus.tar.xz': 100, 'lxd.tar.xz': 100, 'root.squashfs': 1000, 'root.tar.xz': 500},
		'20240102_0000': {'incus.tar.xz': 100, 'disk.qcow2': 3000},
	});
	const known = knowledge([p], {cached: () => true});
	for (const fuse of [false, true]) {
		const result = plan([p], known, options(fuse, pair => sha256Of(pair)), collector().emit);
		t.deepEqual(result.tasks, []);
		t.is(result.cached.files.size, 6);
		t.is(result.cached.combined.size, 5);
		for (const [pair, value] of result.cached.combined) {
			const [metaPath, rootPath] = pair.split('\0') as [string, string];
			t.is(value, sha256Of(contentPair(digest(metaPath), digest(rootPath))));
		}
	}
});

const sha256Of = (text: string) => digest(`combined:${text}`);

test('tasks run largest first, and the passes over one file stay adjacent', t => {
	const a = product(productRef('alpine', '3.20', 'amd64', 'default'), {
		'20240101': {'incus.tar.xz': 50, 'root.squashfs': 700, 'root.tar.xz': 700},
		'20240102': {'incus.tar.xz': 60, 'lxd.tar.xz': 60, 'root.squashfs': 900, 'disk.qcow2': 5000},
	});
	const b = product(ref, {'20240101_0000': {'incus.tar.xz': 700, 'root.tar.xz': 2000, 'disk.qcow2': 700}});
	for (const fuse of [false, true]) {
		const {tasks} = plan([a, b], knowledge([a, b]), options(fuse), collector().emit);
		const sizes = tasks.map(task => task.file.identity.size);
		t.deepEqual(sizes, [...sizes].sort((x, y) => y - x), `fuse=${fuse}: largest first`);
		const seen = new Set<string>();
		let previous: string | undefined;
		for (const task of tasks) {
			if (task.file.path !== previous) {
				t.false(seen.has(task.file.path), `fuse=${fuse}: passes over ${task.file.path} are adjacent`);
				seen.add(task.file.path);
			}

			previous = task.file.path;
		}

		t.is(seen.size, files([a, b]).length);
		for (const task of tasks) {
			t.is(task.work, task.file.identity.size + (task.prefix?.identity.size ?? 0));
		}
	}
});

test('plan is pure: the same input gives the same plan, and the input is untouched', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'root.squashfs': 1000}});
	const known = knowledge([p]);
	const before = JSON.stringify([p, [...known]]);
	const first = plan([p], known, options(false), collector().emit);
	const second = plan([p], known, options(false), collector().emit);
	t.deepEqual(first.tasks.map(shape), second.tasks.map(shape));
	t.is(JSON.stringify([p, [...known]]), before);
});

test('digests the probe took are planned as taken, not as tasks; a rootfs missing a fingerprint with one of its metadata files is hashed', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'lxd.tar.xz': 100, 'root.squashfs': 1000}});
	const [incus, lxd, root] = ['incus.tar.xz', 'lxd.tar.xz', 'root.squashfs'].map(name => `${dir}/${name}`) as [string, string, string];
	const early: NonNullable<PlanOptions['early']> = new Map([
		[incus, {sha256: digest(incus), milliseconds: 1, paired: []}],
		[lxd, {sha256: digest(lxd), milliseconds: 1, paired: []}],
		[root, {sha256: digest(root), milliseconds: 2, paired: [[incus, digest(`${incus} ${root}`)], [lxd, digest(`${lxd} ${root}`)]]}],
	]);
	const whole = plan([p], knowledge([p]), {...options(true), early}, collector().emit);
	t.deepEqual(whole.tasks, []);
	t.deepEqual(whole.taken.map(taken => `${base(taken.file)} ${taken.work}`), ['root.squashfs 2200', 'incus.tar.xz 100', 'lxd.tar.xz 100']);
	t.is(whole.cached.files.get(root), digest(root));
	t.is(whole.cached.combined.get(pathPair(lxd, root)), digest(`${lxd} ${root}`));

	// The probe could not read lxd.tar.xz: the rootfs has no fingerprint with it, so a task takes them all again.
	early.delete(lxd);
	early.get(root)!.paired.pop();
	const partly = plan([p], knowledge([p]), {...options(true), early}, collector().emit);
	t.deepEqual(partly.taken.map(taken => base(taken.file)), ['incus.tar.xz']);
	t.deepEqual(partly.tasks.map(shape), ['root.squashfs after incus.tar.xz +file +combined 1100', 'root.squashfs after lxd.tar.xz +combined 1100', 'lxd.tar.xz +file 100']);
	t.false(partly.cached.files.has(root), 'the rootfs\'s own digest comes from its task');
});
