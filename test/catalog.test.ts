import test from 'ava';
import {catalog} from '../source/pipeline/catalog.js';
import type {Item} from '../source/streams/model.js';
import {indexPath, productsPath} from '../source/streams/paths.js';
import {pathPair, type Digests, type ScannedProduct} from '../source/domain/tree.js';
import type {PlannedProduct} from '../source/pipeline/plan.js';
import {stableJson} from '../source/util/json.js';
import {collector, digest, product, productRef} from './helpers/fixtures.js';

const planned = (p: ScannedProduct): PlannedProduct => ({
	product: p,
	versions: p.versions.map(version => ({version, metas: version.files.filter(f => f.role.kind === 'meta'), roots: version.files.filter(f => f.role.kind === 'root')})),
});

/** Digests for every file and every (meta, root) pair of a version; `combined` may override a pair's fingerprint. */
function digestsOf(products: readonly ScannedProduct[], combined: (meta: string, root: string) => string = (m, r) => digest(`${m}+${r}`)): Digests {
	const digests: Digests = {files: new Map(), combined: new Map()};
	for (const version of products.flatMap(p => p.versions)) {
		for (const file of version.files) {
			digests.files.set(file.path, digest(file.path));
		}

		for (const meta of version.files.filter(f => f.role.kind === 'meta')) {
			for (const root of version.files.filter(f => f.role.kind === 'root')) {
				digests.combined.set(pathPair(meta.path, root.path), combined(meta.path, root.path));
			}
		}
	}

	return digests;
}

const ref = productRef('debian', '12', 'amd64', 'default');
const dir = `${ref.path}/20240101_0000`;
const combinedKeys = (item: Item) => Object.keys(item).filter(k => k.startsWith('combined_')).sort();

test('one incus.tar.xz file gives both an lxd.tar.xz and an incus.tar.xz item with the same values', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'root.squashfs': 1000}});
	const c = collector();
	const result = catalog([planned(p)], digestsOf([p]), c.emit);
	const {items} = result.products.products['debian:12:amd64:default']!.versions['20240101_0000']!;
	t.deepEqual(Object.keys(items).sort(), ['incus.tar.xz', 'lxd.tar.xz', 'root.squashfs']);
	const fingerprint = digest(`${dir}/incus.tar.xz+${dir}/root.squashfs`);
	const meta = {path: `${dir}/incus.tar.xz`, sha256: digest(`${dir}/incus.tar.xz`), size: 100, combined_squashfs_sha256: fingerprint};
	t.deepEqual(items['incus.tar.xz'], {ftype: 'incus.tar.xz', ...meta});
	t.deepEqual(items['lxd.tar.xz'], {ftype: 'lxd.tar.xz', ...meta});
	t.deepEqual(items['root.squashfs'], {ftype: 'squashfs', path: `${dir}/root.squashfs`, sha256: digest(`${dir}/root.squashfs`), size: 1000});
	t.deepEqual(result.images, {lxd: 1, incus: 1});
	t.is(result.versions, 1);
	t.deepEqual(c.of('skipped'), []);
});

test('an lxd.tar.xz file alone serves Incus too', t => {
	const p = product(ref, {'20240101_0000': {'lxd.tar.xz': 100, 'root.tar.xz': 500}});
	const {items} = catalog([planned(p)], digestsOf([p]), collector().emit).products.products[ref.id]!.versions['20240101_0000']!;
	t.is(items['incus.tar.xz']?.path, `${dir}/lxd.tar.xz`);
	t.is(items['incus.tar.xz']?.ftype, 'incus.tar.xz');
	t.is(items['lxd.tar.xz']?.path, `${dir}/lxd.tar.xz`);
});

test('when both metadata files exist each client gets its own, with its own fingerprints', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'lxd.tar.xz': 90, 'root.squashfs': 1000}});
	const {items} = catalog([planned(p)], digestsOf([p]), collector().emit).products.products[ref.id]!.versions['20240101_0000']!;
	t.deepEqual(items['lxd.tar.xz'], {ftype: 'lxd.tar.xz', path: `${dir}/lxd.tar.xz`, sha256: digest(`${dir}/lxd.tar.xz`), size: 90, combined_squashfs_sha256: digest(`${dir}/lxd.tar.xz+${dir}/root.squashfs`)});
	t.deepEqual(items['incus.tar.xz'], {ftype: 'incus.tar.xz', path: `${dir}/incus.tar.xz`, sha256: digest(`${dir}/incus.tar.xz`), size: 100, combined_squashfs_sha256: digest(`${dir}/incus.tar.xz+${dir}/root.squashfs`)});
});

test('every combined field name per rootfs ftype, and the rootfs item keys and ftypes', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'root.squashfs': 1000, 'root.tar.xz': 500, 'disk.qcow2': 3000}});
	const result = catalog([planned(p)], digestsOf([p]), collector().emit);
	const {items} = result.products.products[ref.id]!.versions['20240101_0000']!;
	const pair = (root: string) => digest(`${dir}/incus.tar.xz+${dir}/${root}`);
	for (const key of ['lxd.tar.xz', 'incus.tar.xz']) {
		const meta = items[key]!;
		t.deepEqual(combinedKeys(meta), ['combined_disk-kvm-img_sha256', 'combined_rootxz_sha256', 'combined_sha256', 'combined_squashfs_sha256'], key);
		t.is(meta.combined_squashfs_sha256, pair('root.squashfs'));
		t.is(meta.combined_rootxz_sha256, pair('root.tar.xz'));
		t.is(meta.combined_sha256, pair('root.tar.xz'), 'legacy name for root.tar.xz');
		t.is(meta['combined_disk-kvm-img_sha256'], pair('disk.qcow2'));
	}

	t.deepEqual(Object.fromEntries(Object.entries(items).map(([key, item]) => [key, item.ftype])), {
		'lxd.tar.xz': 'lxd.tar.xz', 'incus.tar.xz': 'incus.tar.xz', 'root.squashfs': 'squashfs', 'root.tar.xz': 'root.tar.xz', 'disk.qcow2': 'disk-kvm.img',
	});
	t.deepEqual(result.images, {lxd: 3, incus: 3});
});

test('rootfs files named rootfs.squashfs and disk-kvm.img get the official item keys', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 100, 'rootfs.squashfs': 1000, 'disk-kvm.img': 3000}});
	const {items} = catalog([planned(p)], digestsOf([p]), collector().emit).products.products[ref.id]!.versions['20240101_0000']!;
	t.deepEqual(Object.keys(items).sort(), ['disk.qcow2', 'incus.tar.xz', 'lxd.tar.xz', 'root.squashfs']);
	t.is(items['root.squashfs']!.path, `${dir}/rootfs.squashfs`);
	t.is(items['disk.qcow2']!.path, `${dir}/disk-kvm.img`);
});

test('aliases: os/release/variant, plus os/release only for the default variant', t => {
	const products = [product(ref, {'20240101_0000': {'incus.tar.xz': 1, 'root.squashfs': 2}}), product(productRef('debian', '12', 'amd64', 'cloud'), {'20240101_0000': {'incus.tar.xz': 3, 'root.squashfs': 4}})];
	const result = catalog(products.map(planned), digestsOf(products), collector().emit).products.products;
	t.is(result['debian:12:amd64:default']!.aliases, 'debian/12/default,debian/12');
	t.is(result['debian:12:amd64:cloud']!.aliases, 'debian/12/cloud');
	t.like(result['debian:12:amd64:cloud'], {arch: 'amd64', os: 'debian', release: '12', release_title: '12', variant: 'cloud'});
});

test('the same alias on one arch for two container products: only the first keeps it, with a warning', t => {
	const a = product(ref, {'20240101_0000': {'incus.tar.xz': 1, 'root.squashfs': 2}}, {aliases: ['debian/stable']});
	const b = product(productRef('debian', '12', 'amd64', 'slim'), {'20240101_0000': {'incus.tar.xz': 3, 'root.squashfs': 4}}, {aliases: ['debian/stable', 'debian/slim']});
	const c = collector();
	const result = catalog([a, b].map(planned), digestsOf([a, b]), c.emit).products.products;
	t.is(result[ref.id]!.aliases, 'debian/12/default,debian/12,debian/stable');
	t.is(result['debian:12:amd64:slim']!.aliases, 'debian/12/slim,debian/slim');
	t.is(c.of('warning').length, 1);
	t.regex(c.of('warning')[0]!.message, /debian\/stable/);
});

test('a VM product may reuse a container product\'s aliases: clients keep containers and VMs apart', t => {
	// Format notes §9.4 and §17: the alias namespace is (name, image type, arch).
	const container = product(productRef('acme', '1.0', 'amd64', 'default'), {'20240102_0000': {'incus.tar.xz': 1, 'root.squashfs': 2}});
	const vm = product(productRef('acme', '1.0', 'amd64', 'default-vm'), {'20240102_0000': {'incus.tar.xz': 3, 'disk.qcow2': 4}}, {aliases: ['acme/1.0/default', 'acme/1.0']});
	const c = collector();
	const result = catalog([container, vm].map(planned), digestsOf([container, vm]), c.emit).products.products;
	t.is(result['acme:1.0:amd64:default']!.aliases, 'acme/1.0/default,acme/1.0');
	t.deepEqual(result['acme:1.0:amd64:default-vm']!.aliases!.split(',').sort(), ['acme/1.0', 'acme/1.0/default', 'acme/1.0/default-vm']);
	t.deepEqual(c.of('warning'), []);
});

test('requirements are always written; lxd_requirements only when non-empty, and identical', t => {
	const plain = product(ref, {'20240101_0000': {'incus.tar.xz': 1, 'root.squashfs': 2}});
	const vm = product(productRef('debian', '12', 'amd64', 'vm'), {'20240101_0000': {'incus.tar.xz': 3, 'disk.qcow2': 4}}, {requirements: {secureboot: 'false', cgroup: 'v2'}});
	const result = catalog([plain, vm].map(planned), digestsOf([plain, vm]), collector().emit).products.products;
	t.deepEqual(result[ref.id]!.requirements, {});
	t.false('lxd_requirements' in result[ref.id]!);
	t.deepEqual(result['debian:12:amd64:vm']!.requirements, {secureboot: 'false', cgroup: 'v2'});
	t.deepEqual(result['debian:12:amd64:vm']!.lxd_requirements, {secureboot: 'false', cgroup: 'v2'});
	const json = JSON.parse(stableJson(result)) as typeof result;
	t.deepEqual(json[ref.id]!.requirements, {}, 'an empty object, not omitted');
});

test('a fingerprint seen in two versions is published once; the skip names both files', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 1, 'root.squashfs': 2, 'root.tar.xz': 3}, '20240102_0000': {'incus.tar.xz': 1, 'root.squashfs': 2}});
	const other = `${ref.path}/20240102_0000`;
	// The 20240102 copy has the same bytes as 20240101, so the same fingerprint for the squashfs pairing.
	const digests = digestsOf([p], (meta, root) => digest(`${meta.replace(other, dir)}+${root.replace(other, dir)}`));
	const c = collector();
	const result = catalog([planned(p)], digests, c.emit);
	t.deepEqual(Object.keys(result.products.products[ref.id]!.versions), ['20240101_0000']);
	const duplicates = c.of('skipped').filter(e => e.scope === 'file');
	t.is(duplicates.length, 2, 'once per client');
	for (const event of duplicates) {
		t.is(event.path, `${other}/root.squashfs`);
		t.true(event.reason.includes(`${dir}/root.squashfs`), event.reason);
	}

	t.true(c.of('skipped').some(e => e.scope === 'version' && e.path === other));
	t.deepEqual(result.images, {lxd: 2, incus: 2});
	t.is(result.versions, 1);
});

test('a fingerprint seen in two products is published once', t => {
	const a = product(ref, {'20240101_0000': {'incus.tar.xz': 1, 'root.squashfs': 2}});
	const b = product(productRef('debian', '12', 'amd64', 'copy'), {'20240101_0000': {'incus.tar.xz': 1, 'root.squashfs': 2}});
	const c = collector();
	const result = catalog([a, b].map(planned), digestsOf([a, b], () => digest('same')), c.emit);
	t.deepEqual(Object.keys(result.products.products), [ref.id]);
	t.deepEqual(result.index.index.images.products, [ref.id]);
	t.true(c.of('skipped').some(e => e.scope === 'product' && e.path === b.ref.path));
});

test('products without a publishable version are left out of both files', t => {
	const good = product(ref, {'20240101_0000': {'incus.tar.xz': 1, 'root.squashfs': 2}});
	const unhashed = product(productRef('debian', '12', 'amd64', 'broken'), {'20240101_0000': {'incus.tar.xz': 3, 'root.squashfs': 4}});
	const empty = product(productRef('debian', '12', 'amd64', 'empty'), {});
	const digests = digestsOf([good, unhashed]);
	digests.files.delete(`${unhashed.ref.path}/20240101_0000/root.squashfs`); // Its hashing failed.
	const c = collector();
	const result = catalog([good, unhashed, empty].map(planned), digests, c.emit);
	t.deepEqual(Object.keys(result.products.products), [ref.id]);
	t.deepEqual(result.index.index.images.products, [ref.id]);
	t.deepEqual(c.of('skipped').filter(e => e.scope === 'product').map(e => e.path).sort(), [unhashed.ref.path, empty.ref.path].sort());
});

test('a meta without its digest publishes nothing for that version', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 1, 'root.squashfs': 2}});
	const digests = digestsOf([p]);
	digests.files.delete(`${dir}/incus.tar.xz`);
	const result = catalog([planned(p)], digests, collector().emit);
	t.deepEqual(result.products.products, {});
	t.deepEqual(result.images, {lxd: 0, incus: 0});
});

test('the index lists the product ids sorted, and both files have the fixed shape', t => {
	const ids = [['ubuntu', '24.04', 'arm64', 'default'], ['alpine', '3.20', 'amd64', 'default'], ['debian', '12', 'amd64', 'cloud'], ['debian', '12', 'amd64', 'default']] as const;
	const products = ids.map(([os, release, arch, variant]) => product(productRef(os, release, arch, variant), {'20240101': {'incus.tar.xz': 1, 'root.squashfs': 2}}));
	const result = catalog(products.map(planned), digestsOf(products), collector().emit);
	t.deepEqual(result.index, {
		format: 'index:1.0',
		index: {images: {datatype: 'image-downloads', path: 'streams/v1/images.json', format: 'products:1.0', products: ['alpine:3.20:amd64:default', 'debian:12:amd64:cloud', 'debian:12:amd64:default', 'ubuntu:24.04:arm64:default']}},
	});
	t.like(result.products, {content_id: 'images', datatype: 'image-downloads', format: 'products:1.0'});
	t.is(productsPath, 'streams/v1/images.json');
	t.is(indexPath, 'streams/v1/index.json');
});

test('every item has ftype, path, sha256 (64 lowercase hex) and an integer size, in the written JSON', t => {
	const p = product(ref, {
		'20240101_0000': {'incus.tar.xz': 100, 'root.squashfs': 1000, 'root.tar.xz': 500, 'disk.qcow2': 3000},
		'20240102_0000': {'lxd.tar.xz': 2 ** 40, 'incus.tar.xz': 7, 'root.tar.xz': 2 ** 33 + 1},
	});
	const result = catalog([planned(p)], digestsOf([p]), collector().emit);
	const json = JSON.parse(stableJson(result.products)) as typeof result.products;
	const items = Object.values(json.products).flatMap(x => Object.values(x.versions).flatMap(v => Object.values(v.items)));
	t.is(items.length, 8);
	for (const item of items) {
		t.is(typeof item.ftype, 'string');
		t.regex(item.path, /^images\/debian\/12\/amd64\/default\/\d{8}_\d{4}\/[\w.-]+$/);
		t.regex(item.sha256 ?? '', /^[0-9a-f]{64}$/);
		t.true(Number.isSafeInteger(item.size) && item.size > 0, `${item.path}: ${item.size}`);
		for (const key of combinedKeys(item)) {
			t.regex(item[key as `combined_${string}`]!, /^[0-9a-f]{64}$/);
		}
	}

	t.true(stableJson(result.products).includes('"size":1099511627776'), 'a large size stays a plain integer');
});

test('catalog is pure: the same input gives the same bytes', t => {
	const p = product(ref, {'20240101_0000': {'incus.tar.xz': 1, 'root.squashfs': 2}});
	const digests = digestsOf([p]);
	const first = catalog([planned(p)], digests, collector().emit);
	const second = catalog([planned(p)], digests, collector().emit);
	t.is(stableJson(first.products), stableJson(second.products));
	t.is(stableJson(first.index), stableJson(second.index));
});
