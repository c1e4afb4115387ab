// The live tree's handling of delta events (--deltas, verify): a node with a bar while xdelta3
// works, done or reused after, a failure kept in view, a delta not worth it gone from the tree.
import test from 'ava';
import {because} from '../source/domain/reasons.js';
import {rollup} from '../source/report/live/rows.js';
import {LiveModel} from '../source/report/live/state.js';

const version = 'images/acme/1.0/amd64/default/20240102_0000';

test('delta events drive a node of their own, outside the hashing totals', t => {
	const model = new LiveModel({write: true, jobs: 2});
	const made = `${version}/delta-20240101_0000.vcdiff`;
	const large = `${version}/delta-20231231_0000.vcdiff`;
	const broken = `${version}/delta-20231230_0000.vcdiff`;
	model.apply({type: 'found', product: {id: 'acme:1.0:amd64:default', os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', path: 'images/acme/1.0/amd64/default'}, version: '20240102_0000', path: version, files: []}, 0);
	for (const path of [made, large, broken]) {
		model.apply({type: 'delta-queued', path, base: '20240101_0000', work: 2000}, 10);
	}

	model.apply({type: 'delta-progress', path: made, done: 500, work: 2000}, 20);
	t.is(model.phase, 'deltas');
	t.is(model.node(made).file?.state, 'hashing');
	t.is(rollup(model.tree).active, 1);
	model.apply({type: 'delta-made', path: made, size: 90, fraction: 0.09, milliseconds: 30}, 40);
	t.like(model.node(made).file, {state: 'done', size: 90, done: 2000});
	model.apply({type: 'delta-skipped', path: large, ...because('delta-too-large', 93, 80), problem: false}, 50);
	model.apply({type: 'delta-skipped', path: broken, ...because('xdelta3-failed', 'boom'), problem: true}, 50);
	t.deepEqual(model.node(version).children.map(child => child.name).sort(), ['delta-20231230_0000.vcdiff', 'delta-20240101_0000.vcdiff']);
	t.like(model.node(broken).file, {state: 'failed', reason: {code: 'xdelta3-failed', text: 'xdelta3 failed (boom)'}});
	t.is(rollup(model.tree).problems, 1);
	t.is(model.hash.work, 0, 'xdelta3 is no hash worker');
});
