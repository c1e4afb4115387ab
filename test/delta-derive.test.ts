// The pure parts of deltas, verify and list: which deltas are planned, which delta items the
// catalog keeps, how each client derives images (aliases, delta sources), and the Go-type checks.
import test from 'ava';
import {clientImages} from '../source/list/derive.js';
import {catalog} from '../source/pipeline/catalog.js';
import {leftoverDeltas} from '../source/pipeline/delta-leftovers.js';
import {planDeltas, type Delta} from '../source/pipeline/delta.js';
import {pathPair, type Digests, type ScannedProduct} from '../source/domain/tree.js';
import type {PlannedProduct} from '../source/pipeline/plan.js';
import {checkVersions} from '../source/verify/checks.js';
import {decode, productsTypeErrors} from '../source/streams/decode.js';
import type {ProductsFile} from '../source/streams/model.js';
import {checkProducts} from '../source/verify/schema.js';
import {collector, digest, product, productRef, tempDir, writeFiles} from './helpers/fixtures.js';

const ref = productRef('acme', '1.0', 'amd64', 'default');

const planned = (p: ScannedProduct, held: string[] = []): PlannedProduct => ({
	product: p,
	versions: p.versions.filter(v => !held.includes(v.name)).map(version => ({version, metas: version.files.filter(f => f.role.kind === 'meta'), roots: version.files.filter(f => f.role.kind === 'root')})),
	held: p.versions.filter(v => held.includes(v.name)),
});

function digestsOf(p: ScannedProduct): Digests {
	const digests: Digests = {files: new Map(), combined: new Map()};
	for (const version of p.versions) {
		for (const file of version.files) {
			digests.files.set(file.path, digest(file.path));
		}

		for (const meta of version.files.filter(f => f.role.kind === 'meta')) {
			for (const root of version.files.filter(f => f.role.kind === 'root')) {
				digests.combined.set(pathPair(meta.path, root.path), digest(`${meta.path}+${root.path}`));
			}
		}
	}

	return digests;
}

const squashfsVersion = {'incus.tar.xz': 100, 'root.squashfs': 1000};

test('each version with a squashfs gets a delta from the closest older one that has one; VMs only when asked', t => {
	const p = product(ref, {
		'20240101_0000': squashfsVersion,
		'20240102_0000': {'incus.tar.xz': 100, 'disk.qcow2': 2000},
		'20240103_0000': {...squashfsVersion, 'disk.qcow2': 2000},
	});
	const shape = (vm: boolean) => planDeltas([planned(p)], digestsOf(p), '/www', {vm, ratio: 0.8}, collector().emit).map(j => `${j.version}<-${j.base} ${j.root} ${j.path.slice(j.path.lastIndexOf('/') + 1)}`);
	t.deepEqual(shape(false), ['20240103_0000<-20240101_0000 squashfs delta-20240101_0000.vcdiff']);
	t.deepEqual(shape(true), [
		'20240103_0000<-20240101_0000 squashfs delta-20240101_0000.vcdiff',
		'20240103_0000<-20240102_0000 disk-kvm.img delta-20240102_0000.qcow2.vcdiff',
	]);
});

test('delta files no planned delta uses are found, except one whose base is still settling', async t => {
	const root = await tempDir(t, 'ss-leftovers');
	const p = product(ref, {'20240101_0000': squashfsVersion, '20240102_0000': squashfsVersion, '20240103_0000': squashfsVersion, '20240104_0000': squashfsVersion});
	const at = (version: string) => `${ref.path}/${version}`;
	await writeFiles(root, {
		[`${at('20240102_0000')}/delta-20240101_0000.vcdiff`]: 'wanted now',
		[`${at('20240102_0000')}/delta-20231231_0000.vcdiff`]: 'its base left long ago',
		[`${at('20240102_0000')}/delta-20240101_0000.qcow2.vcdiff`]: 'a VM delta, not wanted without --vm-deltas',
		[`${at('20240104_0000')}/delta-20240103_0000.vcdiff`]: 'its base is settling',
		[`${at('20240104_0000')}/notes.txt`]: 'not a delta',
	});
	const plan = planned(p, ['20240103_0000']);
	const jobs = planDeltas([plan], digestsOf(p), root, {vm: false, ratio: 0.8}, collector().emit);
	const leftovers = leftoverDeltas([plan], jobs, root, {vm: false, ratio: 0.8});
	t.deepEqual(leftovers.map(l => `${l.path.slice(ref.path.length + 1)}: ${l.why} (${l.size} B)`), [
		'20240102_0000/delta-20231231_0000.vcdiff: 20231231_0000 is not the version before 20240102_0000 any more (22 B)',
		'20240102_0000/delta-20240101_0000.qcow2.vcdiff: VM disk deltas are published with --vm-deltas only (42 B)',
	]);
});

test('a base still settling gives no delta, and says so', t => {
	const p = product(ref, {'20240101_0000': squashfsVersion, '20240102_0000': squashfsVersion});
	const c = collector();
	t.deepEqual(planDeltas([planned(p, ['20240101_0000'])], digestsOf(p), '/www', {vm: false, ratio: 0.8}, c.emit), []);
	t.deepEqual(c.of('delta-skipped').map(e => e.reason), ['its base 20240101_0000 is still settling']);
});

test('the catalog publishes a delta only where its base is published, and drops carried-over ones whose base left', t => {
	const p = product(ref, {'20240102_0000': squashfsVersion, '20240103_0000': squashfsVersion});
	const delta = (version: string, base: string): Delta => ({product: ref.id, version, base, root: 'squashfs', path: `${ref.path}/${version}/delta-${base}.vcdiff`, sha256: digest(base), size: 10});
	const previous = catalog([planned(p)], digestsOf(p), collector().emit).products;
	const held = previous.products[ref.id]!.versions['20240102_0000']!;
	held.items['root.20240101_0000.vcdiff'] = {ftype: 'squashfs.vcdiff', path: `${ref.path}/20240102_0000/delta-20240101_0000.vcdiff`, sha256: digest('x'), size: 10, delta_base: '20240101_0000'};
	const result = catalog([planned(p, ['20240102_0000'])], digestsOf(p), collector().emit, previous, [delta('20240103_0000', '20240102_0000'), delta('20240103_0000', '20231231_0000')]);
	const versions = result.products.products[ref.id]!.versions;
	t.deepEqual(versions['20240103_0000']!.items['root.20240102_0000.vcdiff'], {ftype: 'squashfs.vcdiff', path: `${ref.path}/20240103_0000/delta-20240102_0000.vcdiff`, sha256: digest('20240102_0000'), size: 10, delta_base: '20240102_0000'});
	t.falsy(versions['20240103_0000']!.items['root.20231231_0000.vcdiff'], 'the base is no version of the product');
	t.falsy(versions['20240102_0000']!.items['root.20240101_0000.vcdiff'], 'the held version\'s base has gone');
});

const fp = (n: number) => String(n).repeat(64).slice(0, 64);

/** A products file by hand: two versions, a squashfs delta, a disk delta, and an extra product claiming an alias. */
const handMade: ProductsFile = {products: {
	'acme:1.0:amd64:default': {arch: 'amd64', aliases: 'acme/1.0,acme/lts', os: 'acme', release: '1.0', variant: 'default', requirements: {a: 'b'}, versions: {
		'20240101_0000': {items: {
			'lxd.tar.xz': {ftype: 'lxd.tar.xz', path: 'm1', size: 1, 'combined_squashfs_sha256': fp(1), 'combined_disk-kvm-img_sha256': fp(2)},
			'incus.tar.xz': {ftype: 'incus.tar.xz', path: 'm1', size: 1, 'combined_squashfs_sha256': fp(1), 'combined_disk-kvm-img_sha256': fp(2)},
			'root.squashfs': {ftype: 'squashfs', path: 's1', size: 10},
			'disk.qcow2': {ftype: 'disk-kvm.img', path: 'd1', size: 20},
		}},
		'20240102_0000': {items: {
			'lxd.tar.xz': {ftype: 'lxd.tar.xz', path: 'm2', size: 1, 'combined_squashfs_sha256': fp(3), 'combined_disk-kvm-img_sha256': fp(4)},
			'incus.tar.xz': {ftype: 'incus.tar.xz', path: 'm2', size: 1, 'combined_squashfs_sha256': fp(3), 'combined_disk-kvm-img_sha256': fp(4)},
			'root.squashfs': {ftype: 'squashfs', path: 's2', size: 10},
			'disk.qcow2': {ftype: 'disk-kvm.img', path: 'd2', size: 20},
			'root.20240101_0000.vcdiff': {ftype: 'squashfs.vcdiff', path: 'x1', size: 2, delta_base: '20240101_0000'},
			'disk.20240101_0000.qcow2.vcdiff': {ftype: 'disk-kvm.img.vcdiff', path: 'x2', size: 2, delta_base: '20240101_0000'},
		}},
	}},
	'other:1:amd64:default': {arch: 'amd64', aliases: 'acme/lts', os: 'other', release: '1', variant: 'default', lxd_requirements: {c: 'd'}, versions: {
		'20240109_0000': {items: {
			'lxd.tar.xz': {ftype: 'lxd.tar.xz', path: 'm3', size: 1, 'combined_squashfs_sha256': fp(5)},
			'root.squashfs': {ftype: 'squashfs', path: 's3', size: 10},
		}},
	}},
}};

test('each client derives images, deltas and aliases as its source says', t => {
	const lxd = clientImages(handMade, 'lxd');
	const incus = clientImages(handMade, 'incus');
	t.deepEqual(lxd.map(i => `${i.version} ${i.rootType} ${i.fingerprint.slice(0, 1)}`), ['20240102_0000 squashfs 3', '20240102_0000 disk-kvm.img 4', '20240101_0000 squashfs 1', '20240101_0000 disk-kvm.img 2', '20240109_0000 squashfs 5']);
	t.is(incus.length, 4, 'Incus reads only incus.tar.xz items');
	// The newest squashfs owns the aliases; the VM has them in its own namespace; `other` sorts after `acme` and gets none of acme/lts.
	t.deepEqual(lxd[0]!.aliases, ['acme/1.0', 'acme/1.0/amd64', 'acme/lts', 'acme/lts/amd64']);
	t.deepEqual(lxd[1]!.aliases, ['acme/1.0', 'acme/1.0/amd64', 'acme/lts', 'acme/lts/amd64']);
	t.deepEqual(lxd[2]!.aliases, []);
	t.deepEqual(lxd[4]!.aliases, []);
	// Delta sources: LXD reads the VM field for a disk delta, Incus the squashfs one (§12).
	t.deepEqual(lxd[1]!.deltas.map(d => d.sourceFingerprint), [fp(2)]);
	t.deepEqual(incus.find(i => i.rootType === 'disk-kvm.img' && i.version === '20240102_0000')!.deltas.map(d => d.sourceFingerprint), [fp(1)]);
	t.deepEqual(lxd[0]!.deltas.map(d => d.base), ['20240101_0000']);
	// LXD takes lxd_requirements over requirements.
	t.deepEqual(lxd[4]!.requirements, {c: 'd'});
	t.deepEqual(lxd[0]!.requirements, {a: 'b'});
});

test('verify checks: Go types, number literals, hidden pairings and ignored deltas', t => {
	const file = (value: unknown, text = JSON.stringify(value)) => {
		const read = {path: 'streams/v1/images.json', value, text};
		const typeErrors = productsTypeErrors(read);
		return {typeErrors, problems: checkProducts({...read, typeErrors})};
	};

	t.deepEqual(file(handMade).typeErrors, []);
	const broken = structuredClone(handMade) as unknown as {products: Record<string, Record<string, unknown>>};
	broken.products['acme:1.0:amd64:default']!.aliases = ['acme/1.0'];
	broken.products['other:1:amd64:default']!.requirements = {secureboot: false};
	const checked = file(broken);
	t.is(checked.typeErrors.length, 2);
	// (The hand-made items have no sha256, which is reported too, but is no type error.)
	t.deepEqual(checked.problems.filter(p => p.message.includes('reject')).map(p => `${p.product}: ${p.message}`), [
		'acme:1.0:amd64:default: aliases is an array, not a string: LXD and Incus reject the whole products file',
		'other:1:amd64:default: requirements is an object with a value that is not a string, not an object of string values: LXD and Incus reject the whole products file',
	]);
	const text = JSON.stringify(handMade).replace('"size":10', '"size":1e1');
	t.regex(file(JSON.parse(text), text).problems[0]!.message, /the number 1e1 is not a whole number as Go reads one/);

	const products = decode(handMade);
	delete products.products['other:1:amd64:default']!.versions['20240109_0000']!.items['lxd.tar.xz']!['combined_squashfs_sha256'];
	products.products['acme:1.0:amd64:default']!.versions['20240102_0000']!.items['root.20240101_0000.vcdiff']!.delta_base = '20231231_0000';
	const found = checkVersions(products, 'streams/v1/images.json');
	t.deepEqual(found.problems.map(p => `${p.version} ${p.item}: ${p.message}`), [
		'20240102_0000 root.20240101_0000.vcdiff: its base 20231231_0000 is not a version of this product: the clients ignore the delta',
		'20240109_0000 lxd.tar.xz: no combined_squashfs_sha256: LXD hides the squashfs image',
		'20240109_0000 undefined: no incus.tar.xz item: Incus sees nothing of this version',
	]);
	// The VM delta works for LXD; Incus takes it for one from the base's container (§12).
	t.deepEqual(found.warnings.map(p => `${p.version} ${p.item}`), ['20240102_0000 disk.20240101_0000.qcow2.vcdiff']);
	t.regex(found.warnings[0]!.message, new RegExp(`^Incus applies this VM delta to the container image ${fp(1).slice(0, 12)} of 20240101_0000`));
});
