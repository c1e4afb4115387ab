// Figures of --deltas and verify, called from bench/run.ts: the delta of the test pair (two
// versions whose squashfs differ a little, test/helpers/images.ts deltaPair) as a fraction of the
// full squashfs, and `simplestreams verify` on a published corpus against the limit (limit.ts).
import {readFile, rm} from 'node:fs/promises';
import path from 'node:path';
import {deltaPair} from '../test/helpers/images.js';
import type {Corpus} from './corpus.js';
import {median, rate, seconds, timed} from './measure.js';

/** A row of run.ts's table. */
export type FigureRow = {label: string; generator: string; floor: string; ratio: string; target: string; result: string};

type Item = {ftype: string; size: number; delta_base?: string};

/** Publish the test pair with --deltas and read the delta's size off the streams. */
export async function deltaFigure(base: string, cli: string): Promise<{row: FigureRow; note: string}> {
	const root = path.join(base, 'delta-pair');
	await rm(root, {recursive: true, force: true});
	await deltaPair(root);
	await timed([process.execPath, cli, '--deltas', '-N', root, '--cache', path.join(base, 'run', 'delta-pair.cache.json')]);
	const products = JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as {products: Record<string, {versions: Record<string, {items: Record<string, Item>}>}>};
	const items = Object.values(Object.values(products.products)[0]!.versions).map(v => Object.values(v.items)).find(list => list.some(item => item.delta_base));
	const delta = items?.find(item => item.ftype === 'squashfs.vcdiff');
	const full = items?.find(item => item.ftype === 'squashfs');
	if (!delta || !full) {
		throw new Error(`no delta published for the test pair in ${root}`);
	}

	const fraction = delta.size / full.size;
	return {
		row: {label: 'deltas: test pair, delta / full squashfs', generator: `${(fraction * 100).toFixed(1)}%`, floor: '', ratio: '', target: '≤ 80% (else left out)', result: fraction <= 0.8 ? 'PASS' : 'MISS'},
		note: `delta pair: ${delta.size} bytes of delta for a ${full.size}-byte squashfs (xdelta3 -e -9)`,
	};
}

/**
 * `simplestreams verify` on a corpus the generator just published: the same SHA-256 work as a cold
 * build (`bytes`), files in page cache, against the limit of that work (`limit`, ms on all cores).
 */
export async function verifyFigure(c: Corpus, cli: string, bytes: number, limit: number, repeat: number, settle: () => Promise<void>): Promise<{row: FigureRow; note: string}> {
	const verify: number[] = [];
	for (let run = 1; run <= repeat; run++) {
		await settle();
		verify.push((await timed([process.execPath, cli, 'verify', c.root, '--json'])).milliseconds);
	}

	const ratio = median(verify) / limit;
	return {
		row: {
			label: `${c.name}: verify (files in page cache)`, generator: `${seconds(median(verify))} (${rate(bytes, median(verify))})`,
			floor: `${seconds(limit)} (the limit)`, ratio: `${ratio.toFixed(2)}×`, target: '≤ 1.25×', result: ratio <= 1.25 ? 'met' : 'not met',
		},
		note: `${c.name} verify runs: ${verify.map(v => seconds(v)).join(', ')}`,
	};
}
