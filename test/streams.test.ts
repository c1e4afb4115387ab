// The format's one reader and one writer: what the writer publishes the reader decodes as it was,
// and a streams file that is no regular file, or larger than the bound, is a problem, not a hang.
import {appendFile, mkdir, open, readFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {gunzipSync} from 'node:zlib';
import test from 'ava';
import {execa} from 'execa';
import {catalog} from '../source/pipeline/catalog.js';
import {pathPair, type Digests} from '../source/domain/tree.js';
import {indexPath, productsPath} from '../source/streams/paths.js';
import {maxStreamsBytes, readStreams} from '../source/streams/read.js';
import {packedAlone, packPieces, type PackedPieces} from '../source/streams/pack.js';
import {PublishedBytes, PublishedFileChanged, type PublishedFile} from '../source/streams/published.js';
import {streamsText, writeStreams, type StreamsText} from '../source/streams/write.js';
import {writeAtomic} from '../source/util/atomic-write.js';
import {collector, digest, product, productRef, tempDir} from './helpers/fixtures.js';

test('what the writer publishes, readStreams reads back as the same products', async t => {
	const root = await tempDir(t);
	const p = product(productRef('debian', '12', 'amd64', 'default'), {'20240101_0000': {'incus.tar.xz': 100, 'root.squashfs': 1000}});
	const version = p.versions[0]!;
	const [meta, rootfs] = version.files;
	const digests: Digests = {files: new Map(version.files.map(f => [f.path, digest(f.path)])), combined: new Map([[pathPair(meta!.path, rootfs!.path), digest('pair')]])};
	const built = catalog([{product: p, versions: [{version, metas: [meta!], roots: [rootfs!]}]}], digests, collector().emit);
	const written = collector();
	await writeStreams(root, streamsText(built.products, built.index), written.emit);
	t.deepEqual(written.of('written').map(e => e.path), [productsPath, indexPath]);

	const streams = await readStreams(root);
	t.is(streams.index.problem, undefined);
	t.deepEqual(streams.entries.map(e => e.path), [productsPath]);
	t.is(streams.products.length, 1);
	t.deepEqual(streams.products[0]!.typeErrors, []);
	t.deepEqual(streams.products[0]!.decoded, {products: built.products.products});
});

test('a text read from a published file someone else wrote to since fails the write as that, not as a write that could not be made, and leaves the files as they are', async t => {
	const root = await tempDir(t);
	let held: PublishedFile | undefined;
	const first: StreamsText = {products: '', index: '{}', productsPieces: [{text: '{"products":{"a":'}, {text: '"x'.padEnd(100, 'y') + '"'}, {text: '}}'}]};
	await writeStreams(root, first, collector().emit, {held: {path: productsPath, take(file) {
		held = file;
	}}});
	t.teardown(() => held?.close());
	const products = path.join(root, productsPath);
	const written = await readFile(products, 'utf8');
	const again: StreamsText = {products: '', index: '{"changed":1}', productsPieces: [{text: '{"products":{"a":', bytes: new PublishedBytes(held!, 17, 101)}, {text: ',"b":1}}'}]};
	await appendFile(products, ' ');
	const error = await t.throwsAsync(writeStreams(root, again, collector().emit), {instanceOf: PublishedFileChanged});
	t.regex(error!.message, /images\.json was written to by someone else since it was published$/);
	t.is(await readFile(products, 'utf8'), `${written} `);
	t.is(await readFile(path.join(root, indexPath), 'utf8'), '{}');
});

test('an index that is a FIFO is reported, not waited on; a products file over the bound is not read', async t => {
	const root = await tempDir(t);
	await mkdir(path.join(root, 'streams/v1'), {recursive: true});
	await execa('mkfifo', [path.join(root, indexPath)]);
	const fifo = await readStreams(root);
	t.is(fifo.index.problem, 'is a FIFO, not a regular file');
	t.deepEqual(fifo.products, []);

	await execa('rm', [path.join(root, indexPath)]);
	const index = await open(path.join(root, indexPath), 'w');
	await index.writeFile(JSON.stringify({index: {images: {datatype: 'image-downloads', path: productsPath, products: ['a']}}}));
	await index.close();
	// Sparse: the size is over the bound, the disk holds nothing of it.
	const products = await open(path.join(root, productsPath), 'w');
	await products.truncate(maxStreamsBytes + 1);
	await products.close();
	const large = await readStreams(root);
	t.is(large.index.problem, undefined);
	t.is(large.products[0]!.problem, `is ${maxStreamsBytes + 1} bytes, more than the ${maxStreamsBytes} such a file may hold`);
	t.is(large.products[0]!.decoded, undefined);
});

test('a file written from text and bytes in pieces holds them in order: a short piece first, then pieces longer than a step, of characters of several bytes', async t => {
	const dir = await tempDir(t);
	const pieces = ['{', Buffer.from([0x1F, 0x8B, 0xFF]), 'é'.repeat(300_000), Buffer.from('bytes'), '😀'.repeat(200_000), '}'];
	const file = path.join(dir, 'pieces');
	await writeAtomic(file, pieces);
	t.deepEqual(await readFile(file), Buffer.concat(pieces.map(piece => (typeof piece === 'string' ? Buffer.from(piece) : piece))));
});

test('a served file packed piece by piece is a gzip of its whole text that gzip itself reads, the same bytes whether its large pieces were packed before or not', async t => {
	const dir = await tempDir(t);
	const large = (seed: string) => `"${seed}":{${Array.from({length: 100_000}, (_, n) => `"${seed}${n}":"${(n * 7919).toString(16)}"`).join(',')}}`;
	const a = {text: large('a'), of: {}};
	const b = {text: `,${large('b')}`, of: {}};
	const pieces = [{text: '{"products":{'}, a, {text: ',"small":{"x":"é"}'}, b, {text: '}}\n'}];
	t.true(a.text.length >= packedAlone && b.text.length >= packedAlone, 'two pieces packed alone');
	const whole = pieces.map(piece => piece.text).join('');
	const packed: PackedPieces = new WeakMap();
	const first = Buffer.concat(await packPieces(pieces, packed));
	t.true(packed.has(a.of) && packed.has(b.of));
	t.deepEqual(Buffer.concat(await packPieces(pieces, packed)), first, 'from the pieces kept');
	t.deepEqual(Buffer.concat(await packPieces(pieces)), first, 'the same bytes packed anew');
	const file = path.join(dir, 'images.json.gz');
	await writeFile(file, first);
	await execa('gzip', ['-t', file]);
	t.is((await execa('gzip', ['-dc', file])).stdout, whole.trimEnd());
	t.is(gunzipSync(first).toString('utf8'), whole);
});
