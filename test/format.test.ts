import test from 'ava';
import {formatBytes, formatRate} from '../source/util/format.js';

test('sizes and rates below a KiB are whole bytes, larger ones keep three significant figures', t => {
	t.is(formatBytes(512), '512 B');
	t.is(formatRate(94, 999), '94 B/s');
	t.is(formatRate(4567, 48_528), '94 B/s');
	t.is(formatBytes(1536), '1.50 KiB');
	t.is(formatRate(300 * 1024 * 1024, 1000), '300 MiB/s');
});
