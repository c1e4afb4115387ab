// The retention plan's pure parts: which versions a policy retires, which TARGETs name what, what is
// deleted now and what later, and the DURATION syntax.
import test from 'ava';
import {parseDuration} from '../source/retention/duration.js';
import {nextDeletion, planRetention, restore} from '../source/retention/plan.js';
import {chooseRetirements} from '../source/retention/policy.js';
import {emptyRecord, type RetirementRecord} from '../source/retention/record.js';
import {resolveTargets} from '../source/retention/targets.js';

const product = 'acme:1.0:amd64:default';
const dir = 'images/acme/1.0/amd64/default';
const names = ['20240101_0000', '20240103_0000', '20240102_0000', '20240105_0000', '20240104_0000'];
const versions = names.map(name => ({product, name, path: `${dir}/${name}`}));
const day = 86_400_000;
const now = Date.UTC(2024, 0, 6);

test('--keep N retires every version beyond the newest N, newest by name', t => {
	t.deepEqual(chooseRetirements(versions, {keep: 2}, now).map(c => c.path.slice(-13)).sort(), ['20240101_0000', '20240102_0000', '20240103_0000']);
	t.deepEqual(chooseRetirements(versions, {keep: 5}, now), []);
	t.regex(chooseRetirements(versions, {keep: 2}, now)[0]!.why, /beyond the newest 2/);
});

test('--older-than retires by the date in the name, never the newest version', t => {
	t.deepEqual(chooseRetirements(versions, {olderThanMs: 2.5 * day}, now).map(c => c.path.slice(-13)).sort(), ['20240101_0000', '20240102_0000', '20240103_0000']);
	// Every version is old: the newest stays all the same.
	t.deepEqual(chooseRetirements(versions, {olderThanMs: 0}, now + (365 * day)).map(c => c.path.slice(-13)).sort(), ['20240101_0000', '20240102_0000', '20240103_0000', '20240104_0000']);
	t.deepEqual(chooseRetirements(versions, {keep: 1}, now).length, 4);
	t.deepEqual(chooseRetirements([versions[0]!], {keep: 1, olderThanMs: 0}, now), []);
});

test('with --keep and --older-than a version retires only when both say so', t => {
	t.deepEqual(chooseRetirements(versions, {keep: 2, olderThanMs: 4.5 * day}, now).map(c => c.path.slice(-13)), ['20240101_0000']);
});

test('products are counted apart', t => {
	const other = versions.map(v => ({...v, product: 'acme:1.0:arm64:default', path: v.path.replace('amd64', 'arm64')}));
	t.is(chooseRetirements([...versions, ...other], {keep: 4}, now).length, 2);
});

test('a retirement is due after the grace; an earlier one keeps its own time unless a shorter grace asks sooner', t => {
	const files = [{path: `${dir}/20240101_0000/root.squashfs`, size: 100, ino: '1', mtimeNs: '1'}];
	const first = planRetention(emptyRecord(), [{kind: 'version', path: `${dir}/20240101_0000`, product, why: 'removed', files}], now, 3_600_000);
	t.is(first.retire.length, 1);
	t.deepEqual(first.deleteNow, []);
	t.is(first.later[0]!.deleteAfter, new Date(now + 3_600_000).toISOString());
	t.is(nextDeletion(first), now + 3_600_000);

	const record: RetirementRecord = first.record;
	t.deepEqual(planRetention(record, [], now + 3_599_999, 0).deleteNow, []);
	t.is(planRetention(record, [], now + 3_600_000, 0).deleteNow.length, 1);
	t.deepEqual(planRetention(record, [], now + 3_600_000, 0).record.retired, []);
	// Retired again with a longer grace: the earlier time holds; with a shorter one, it moves closer.
	t.is(planRetention(record, [{...first.retire[0]!}], now, 10 * 3_600_000).later[0]!.deleteAfter, first.later[0]!.deleteAfter);
	const sooner = planRetention(record, [{...first.retire[0]!}], now, 0);
	t.deepEqual(sooner.retire, []);
	t.is(sooner.deleteNow.length, 1);
	t.is(planRetention(emptyRecord(), [{kind: 'version', path: `${dir}/x`, product, why: 'removed', files}], now, 0).deleteNow.length, 1);
});

test('restore takes a version, or every version of a product, out of the record', t => {
	const record = planRetention(emptyRecord(), versions.map(v => ({kind: 'version' as const, path: v.path, product, why: 'removed', files: []})), now, day).record;
	t.is(restore(record, [`${dir}/20240101_0000`]).record.retired.length, 4);
	t.is(restore(record, [dir]).restored.length, 5);
	t.is(restore(record, [`${dir}/2024`]).restored.length, 0);
});

test('TARGET: a product, a version, or a fingerprint prefix the clients would take as unique', t => {
	const tree = versions.map(v => ({product: v.product, path: v.path}));
	const images = [
		{product, path: `${dir}/20240101_0000`, fingerprint: 'ab12'.padEnd(64, '0')},
		{product, path: `${dir}/20240101_0000`, fingerprint: 'ab12'.padEnd(64, '0')}, // the same image for the other client
		{product, path: `${dir}/20240102_0000`, fingerprint: 'ab34'.padEnd(64, '0')},
	];
	t.deepEqual(resolveTargets(['acme/1.0/amd64/default/20240103_0000'], tree, images).chosen.map(c => c.path), [`${dir}/20240103_0000`]);
	t.is(resolveTargets(['images/acme/1.0/amd64/default/'], tree, images).chosen.length, 5);
	t.deepEqual(resolveTargets(['AB12'], tree, images).chosen.map(c => c.path), [`${dir}/20240101_0000`]);
	const ambiguous = resolveTargets(['ab'], tree, images);
	t.deepEqual(ambiguous.chosen, []);
	t.regex(ambiguous.problems[0]!, /ambiguous/);
	t.regex(resolveTargets(['acme/1.0/amd64/default/20990101_0000'], tree, images).problems[0]!, /no published version/);
	t.regex(resolveTargets(['cd'], tree, images).problems[0]!, /no published image/);
	t.regex(resolveTargets(['acme/1.0'], tree, images).problems[0]!, /not a product/);
});

test('DURATION: 90s, 30m, 6h, 2d or seconds', t => {
	t.is(parseDuration('--grace', '90s'), 90_000);
	t.is(parseDuration('--grace', '30m'), 1_800_000);
	t.is(parseDuration('--grace', '6h'), 21_600_000);
	t.is(parseDuration('--grace', '2d'), 2 * day);
	t.is(parseDuration('--grace', '0'), 0);
	t.is(parseDuration('--grace', '45'), 45_000);
	for (const bad of ['', '6 hours', '-1', '1w', 'h']) {
		t.throws(() => parseDuration('--grace', bad), {message: /--grace must be a duration/}, bad);
	}
});
