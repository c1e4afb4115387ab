// A watcher's long kept texts held outside V8's heap (util/outside-heap.ts): the same characters
// back, and a long ASCII text counted as external memory rather than in the heap.
import test from 'ava';
import {outsideHeap} from '../source/util/outside-heap.js';

test('a long ASCII text comes back the same, held outside the heap', t => {
	const text = `{"products":${'{"sha256":"0123456789abcdef"},'.repeat(60_000)}"end"}`;
	const before = process.memoryUsage().external;
	const kept = outsideHeap(text);
	const grown = process.memoryUsage().external - before;
	t.is(kept, text);
	t.true(grown >= text.length, `external memory grew by ${grown} bytes for ${text.length} characters`);
});

test('a long text beyond Latin-1 keeps every character', t => {
	const text = `${'x'.repeat(1_100_000)}ü漢`;
	t.is(outsideHeap(text), text);
});
