import test from 'ava';
import {isCalendarDate, segmentProblem, versionNameProblem, versionOrderProblem} from '../source/domain/naming.js';

test('versionNameProblem accepts every official form', t => {
	for (const name of ['20240101_12:34', '20240101_1234', '202401011234', '20240101', '20240229_23:59', '20241231_0000', '197001010000']) {
		t.is(versionNameProblem(name), undefined, name);
	}
});

test('versionNameProblem refuses impossible dates', t => {
	for (const name of ['20240230', '20231301', '19691231', '20230229', '20240431_1200', '20240001', '20240100', '00000000']) {
		t.regex(versionNameProblem(name) ?? '', /real date/, name);
	}
});

test('versionNameProblem refuses impossible times of day', t => {
	for (const name of ['20240101_24:00', '20240101_1260', '202401012400', '20240101_23:60', '20240101_9999']) {
		t.regex(versionNameProblem(name) ?? '', /impossible time/, name);
	}
});

test('versionNameProblem refuses names that are not versions, naming the accepted forms', t => {
	for (const name of ['2024-01-01', 'v20240101', 'latest', '1234567', '', '20240101_9', '20240101.1', '20240101_12:3', '20240101 1234', '２０２４０１０１']) {
		const problem = versionNameProblem(name) ?? '';
		t.regex(problem, /is not a version name/, name);
		t.true(problem.includes('YYYYMMDD_HH:MM') && problem.includes('YYYYMMDDhhmm'), name);
	}
});

test('segmentProblem refuses dot names', t => {
	for (const name of ['.', '..', '.hidden', '.20240101_0000']) {
		t.regex(segmentProblem(name) ?? '', /starts with a dot/, name);
	}
});

test('segmentProblem refuses characters the clients escape differently', t => {
	for (const name of ['a b', '50%', 'a,b', 'débian', 'ü', 'a?b', 'a#b', 'a/b', 'a\tb', '', 'a~b', 'a@b']) {
		t.regex(segmentProblem(name) ?? '', /escape differently/, JSON.stringify(name));
	}
});

test('segmentProblem accepts letters, digits and :+-._', t => {
	for (const name of ['debian', 'Debian', '24.04', 'x86_64', 'a:b+c-d._e', 'default', 'cloud-init', '20240101_12:00', 'a.']) {
		t.is(segmentProblem(name), undefined, name);
	}
});

test('isCalendarDate knows leap years', t => {
	t.true(isCalendarDate('20240229'), 'divisible by 4');
	t.true(isCalendarDate('20000229'), 'divisible by 400');
	t.false(isCalendarDate('20230229'), 'not divisible by 4');
	t.false(isCalendarDate('21000229'), 'divisible by 100 but not 400');
	t.true(isCalendarDate('20230228'));
	t.true(isCalendarDate('19700101'), 'epoch');
	t.false(isCalendarDate('19691231'), 'before the epoch');
	t.false(isCalendarDate('20240431'));
	t.true(isCalendarDate('99991231'));
	t.false(isCalendarDate('20240001'), 'month 0');
	t.false(isCalendarDate('20241301'), 'month 13');
	t.false(isCalendarDate('20240100'), 'day 0');
	t.true(isCalendarDate('20241231'));
	t.false(isCalendarDate('20240631'), 'June has 30 days');
});

test('isCalendarDate wants exactly eight digits', t => {
	for (const text of ['2024011', '202401011', '2024010a', ' 20240101', '2024-1-1', '']) {
		t.false(isCalendarDate(text), JSON.stringify(text));
	}
});

test('versionOrderProblem: names of one form sort as their dates', t => {
	t.is(versionOrderProblem([]), undefined);
	t.is(versionOrderProblem(['20240101_12:00', '20240102_09:30', '20250101_00:00']), undefined);
	t.is(versionOrderProblem(['20240101', '20231231']), undefined, 'one layout: string order is time order');
});

test('versionOrderProblem: mixed forms that sort against their dates are named', t => {
	// "1" sorts before "_": 10:00 comes first by name, after 09:00 by time.
	t.regex(versionOrderProblem(['20240101_09:00', '202401011000']) ?? '', /versions 202401011000 and 20240101_09:00 sort against their dates/);
	t.regex(versionOrderProblem(['202401011000', '20240101_09:00']) ?? '', /sort against their dates/, 'whatever the order found on disk');
	t.is(versionOrderProblem(['20240101_09:00', '20240101_1300']), undefined, 'mixed forms in time order are fine');
	t.is(versionOrderProblem(['20240101', '20240102_1200']), undefined);
});
