// Retention in a bucket, the pure rules (retention/bucket.ts): which objects the streams no longer
// name join the bucket's record, when they fall due, what is restored, and what is left alone.
import test from 'ava';
import {emptyBucketRecord, planBucketRetention, validBucketRecord, type BucketRecord, type KnownRetirement} from '../source/retention/bucket.js';

const hour = 3_600_000;
const now = Date.UTC(2024, 0, 6, 12);
const iso = (ms: number) => new Date(ms).toISOString();
const version = 'images/acme/1.0/amd64/default/20240101_0000';
const rootfs = `${version}/root.squashfs`;
const meta = `${version}/incus.tar.xz`;
/** Retired locally an hour ago with a grace of 6 h, as the root's record holds it. */
const known: KnownRetirement = {path: version, why: 'beyond the newest 2', retiredAt: iso(now - hour), deleteAfter: iso(now + (5 * hour)), files: [{path: rootfs, size: 4096}, {path: meta, size: 500}]};
const uploaded = new Map([[rootfs, 'a'.repeat(64)], [meta, 'b'.repeat(64)]]);
const unreferenced = new Map([[rootfs, 4096], [meta, 500]]);

const plan = (input: Partial<Parameters<typeof planBucketRetention>[0]>) => planBucketRetention({record: emptyBucketRecord(), known: [known], unreferenced, uploaded, named: new Set(), now, ...input});

test('a retired version\'s objects join the record with a grace that starts now, as long as the root\'s', t => {
	const result = plan({});
	t.is(result.retire.length, 1);
	t.deepEqual(result.retire[0]!.objects.map(object => object.path).sort(), [meta, rootfs]);
	t.is(result.retire[0]!.retiredAt, iso(now));
	t.is(result.retire[0]!.deleteAfter, iso(now + (6 * hour)), 'the bucket\'s streams named it until now: a whole grace from now');
	t.deepEqual(result.due, []);
	t.deepEqual(result.left, []);
	t.true(result.changed);
});

test('a grace that ended locally long ago still runs in full in the bucket; a grace of 0 is due at once', t => {
	const late = plan({known: [{...known, retiredAt: iso(now - (48 * hour)), deleteAfter: iso(now - (42 * hour))}]});
	t.is(late.retire[0]!.deleteAfter, iso(now + (6 * hour)));
	t.deepEqual(late.due, []);
	const zero = plan({known: [{...known, retiredAt: iso(now), deleteAfter: iso(now)}]});
	t.deepEqual(zero.due.map(entry => entry.path), [version]);
});

test('what nobody retired, or simplestreams did not upload, or another file of the same name, is left', t => {
	const notes = `${version}/notes.txt`;
	const result = plan({
		unreferenced: new Map([...unreferenced, [notes, 12], ['images/other/x.bin', 7]]),
		uploaded: new Map([[rootfs, 'a'.repeat(64)]]),
		known: [{...known, files: [{path: rootfs, size: 4096}, {path: meta, size: 501}, {path: notes, size: 12}]}],
	});
	t.deepEqual(result.retire[0]!.objects.map(object => object.path), [rootfs]);
	t.deepEqual(result.left.map(object => object.path).sort(), ['images/other/x.bin', meta, notes].sort());
});

test('a dry run\'s retirement (no file list) takes the uploaded objects under its path, and only those', t => {
	const result = plan({known: [{path: version, why: 'removed', retiredAt: iso(now), deleteAfter: iso(now + hour)}], unreferenced: new Map([...unreferenced, [`${version}0/root.squashfs`, 9]])});
	t.deepEqual(result.retire[0]!.objects.map(object => object.path).sort(), [meta, rootfs]);
	t.deepEqual(result.left.map(object => object.path), [`${version}0/root.squashfs`]);
});

test('recorded objects fall due at their time; one the streams name again is restored; an unchanged record is not written', t => {
	const record: BucketRecord = {...emptyBucketRecord(), retired: [{path: version, why: 'x', retiredAt: iso(now - (7 * hour)), deleteAfter: iso(now - hour), objects: [{path: rootfs, size: 4096, sha256: 'a'.repeat(64)}, {path: meta, size: 500, sha256: 'b'.repeat(64)}]}]};
	t.true(validBucketRecord(record));
	const due = plan({record, known: []});
	t.deepEqual(due.due.map(entry => entry.objects.length), [2]);
	t.false(due.changed, 'only deleting: the record is written once, after');
	const waiting = plan({record: {...record, retired: [{...record.retired[0]!, deleteAfter: iso(now + hour)}]}, known: []});
	t.deepEqual([waiting.due.length, waiting.later.length, waiting.changed], [0, 1, false]);
	const back = plan({record, known: [], named: new Set([meta]), unreferenced: new Map([[rootfs, 4096]])});
	t.deepEqual(back.restored.map(object => object.path), [meta]);
	t.deepEqual(back.due[0]!.objects.map(object => object.path), [rootfs]);
	t.true(back.changed);
});

test('a record this program did not write is refused', t => {
	t.false(validBucketRecord({format: 'simplestreams-bucket-retired:1', retired: [{path: version, why: 'x', retiredAt: 'x', deleteAfter: 'never', objects: []}]}));
	t.false(validBucketRecord({format: 'simplestreams-bucket-retired:1', retired: [{path: version, why: 'x', retiredAt: 'x', deleteAfter: iso(now), objects: [{path: '../etc/passwd', size: 1, sha256: 'a'}]}]}));
	t.false(validBucketRecord([]));
	t.true(validBucketRecord(emptyBucketRecord()));
});
