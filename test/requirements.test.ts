import test from 'ava';
import {mergeRequirements, parseRequirements} from '../source/domain/requirements.js';

test('parseRequirements reads an object of strings', t => {
	t.deepEqual(parseRequirements('{"secureboot": "false", "nesting": "true"}'), {secureboot: 'false', nesting: 'true'});
	t.deepEqual(parseRequirements('{}'), {});
	t.deepEqual(parseRequirements(' {"cgroup":"v1"}\n'), {cgroup: 'v1'});
	t.deepEqual(parseRequirements('{"empty": ""}'), {empty: ''});
});

test('parseRequirements refuses non-string values, naming the key and saying values must be strings', t => {
	const cases: Array<[string, string]> = [
		['{"secureboot": false}', 'secureboot'],
		['{"nesting": true}', 'nesting'],
		['{"cgroup": 2}', 'cgroup'],
		['{"a": "ok", "privileged": null}', 'privileged'],
		['{"list": ["x"]}', 'list'],
		['{"nested": {"x": "y"}}', 'nested'],
	];
	for (const [text, key] of cases) {
		const error = t.throws(() => parseRequirements(text), undefined, text);
		t.true(error?.message.includes(`"${key}"`), `${text}: ${error?.message}`);
		t.regex(error?.message ?? '', /values must be strings/, text);
	}
});

test('parseRequirements suggests the string spelling of a bool', t => {
	t.regex(t.throws(() => parseRequirements('{"secureboot": false}'))?.message ?? '', /write "false"/);
});

test('parseRequirements refuses invalid JSON', t => {
	for (const text of ['', 'nope', '{"a": "b"', "{'a': 'b'}", '{"a": "b",}']) {
		t.regex(t.throws(() => parseRequirements(text))?.message ?? '', /not valid JSON/, JSON.stringify(text));
	}
});

test('parseRequirements refuses JSON that is not an object', t => {
	for (const text of ['["secureboot"]', '[]', '"false"', '5', 'null', 'true']) {
		t.regex(t.throws(() => parseRequirements(text))?.message ?? '', /must be a JSON object/, text);
	}
});

test('parseRequirements refuses an empty key', t => {
	t.regex(t.throws(() => parseRequirements('{"": "x"}'))?.message ?? '', /empty key/);
});

test('parseRequirements refuses __proto__ rather than dropping it silently', t => {
	// JSON.parse makes "__proto__" an own key; assigning it to a plain object would change nothing.
	t.regex(t.throws(() => parseRequirements('{"__proto__": "x", "a": "b"}'))?.message ?? '', /"__proto__", which no client reads/);
});

test('mergeRequirements: the nearest level wins per key', t => {
	const images = {a: 'images', b: 'images', c: 'images'};
	const os = {b: 'os', c: 'os'};
	const variant = {c: 'variant', d: 'variant'};
	t.deepEqual(mergeRequirements([images, os, variant]), {a: 'images', b: 'os', c: 'variant', d: 'variant'});
	t.deepEqual(mergeRequirements([variant, images]), {a: 'images', b: 'images', c: 'images', d: 'variant'});
	t.deepEqual(images, {a: 'images', b: 'images', c: 'images'}, 'inputs untouched');
});

test('mergeRequirements of nothing is empty', t => {
	t.deepEqual(mergeRequirements([]), {});
	t.deepEqual(mergeRequirements([{}, {}]), {});
});
