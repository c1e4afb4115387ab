import test from 'ava';
import {stableJson} from '../source/util/json.js';

test('stableJson sorts the keys of every object, at every level, whether or not its own are in order', t => {
	const inOrder = {a: 1, b: {z: 1, y: [{d: 1, c: 2}, 3]}, c: {e: 1, f: 2}};
	t.is(stableJson(inOrder), '{"a":1,"b":{"y":[{"c":2,"d":1},3],"z":1},"c":{"e":1,"f":2}}\n');
	const outOfOrder = {c: {f: 2, e: 1}, a: 1, b: {a: {y: 1, x: 2}, b: null}};
	t.is(stableJson(outOfOrder), '{"a":1,"b":{"a":{"x":2,"y":1},"b":null},"c":{"e":1,"f":2}}\n');
});

test('stableJson orders keys by code unit, as a bare sort does, and leaves the objects it is given as they were', t => {
	const value = {b: 1, B: 2, 'a b': 3, é: 4, _: 5};
	t.is(stableJson(value), '{"B":2,"_":5,"a b":3,"b":1,"é":4}\n');
	t.deepEqual(Object.keys(value), ['b', 'B', 'a b', 'é', '_']);
});
