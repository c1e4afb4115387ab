// What an uploader can put in the web root to stop or mislead the generator: crafted headers,
// FIFOs, devices and symbolic links out of the root. Each is skipped and named; the rest is published.
import {open, readFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {distPath, metaTarball, qcow2, squashfs, tempDir} from './helpers/fixtures.js';

const cli = distPath('cli.js');
const product = 'images/acme/1.0/amd64/default';

/** A web root with one good version, and a runner of `-N` on it with a private cache. */
async function webRoot(t: Parameters<typeof tempDir>[0]) {
	const dir = await tempDir(t);
	const root = path.join(dir, 'www');
	const good = path.join(root, product, '20240101_0000');
	await Promise.all([metaTarball(path.join(good, 'incus.tar.xz')), squashfs(path.join(good, 'root.squashfs'))]);
	const run = async (args: string[] = []) => execa(process.execPath, [cli, '-N', '--plain', ...args, root], {
		reject: false,
		stdin: 'ignore',
		timeout: 100_000,
		env: {XDG_CACHE_HOME: path.join(dir, 'xdg')},
	});
	const published = async () => JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as {products: Record<string, {versions: Record<string, unknown>}>};
	return {dir, root, run, published};
}

test('a qcow2 disk whose header claims a huge L1 table is skipped, named, and the rest published', async t => {
	const {root, run, published} = await webRoot(t);
	const version = path.join(root, product, '20240102_0000');
	await metaTarball(path.join(version, 'incus.tar.xz'), 'meta2');
	const disk = await qcow2(path.join(version, 'disk.qcow2'));
	// l1_size (u32 BE at 36) = 2^28 entries, 2 GiB of table, inside a 3 GiB sparse file.
	const handle = await open(disk, 'r+');
	try {
		const field = Buffer.alloc(4);
		field.writeUInt32BE(2 ** 28);
		await handle.write(field, 0, 4, 36);
		await handle.truncate(3 * 1024 ** 3);
	} finally {
		await handle.close();
	}

	const result = await run();
	t.is(result.exitCode, 0, result.stderr);
	t.regex(result.stderr, /20240102_0000\/disk\.qcow2.*L1 table/);
	t.deepEqual(Object.keys((await published()).products['acme:1.0:amd64:default']!.versions), ['20240101_0000']);
});
