import {appendFile, readFile, truncate, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {contentFits, describeExpected, type Content, type Role} from '../source/domain/ftypes.js';
import {classify, inspectBytes, inspectContent, magicLength} from '../source/domain/magic.js';
import {compressedTarball, qcow2, squashfs, tarball, tempDir} from './helpers/fixtures.js';

const files = {'metadata.yaml': 'architecture: x86_64\n', 'templates/hostname.tpl': '{{ container.name }}\n'};

/** What the probe makes of a file's content. */
const detectContent = async (file: string) => (await inspectContent(file)).content;

test('compressed tarballs are told by their magic bytes, whatever their name', async t => {
	const dir = await tempDir(t);
	t.is(await detectContent(await compressedTarball(path.join(dir, 'a.tar.gz'), files, 'xz')), 'xz');
	t.is(await detectContent(await compressedTarball(path.join(dir, 'b.tar.xz'), files, 'gzip')), 'gzip');
	t.is(await detectContent(await compressedTarball(path.join(dir, 'c'), files, 'bzip2')), 'bzip2');
});

// zstd is one of the suite's tools (scripts/system-deps.sh): without it this fails, it does not pass unchecked.
test('zstd tarballs', async t => {
	const dir = await tempDir(t);
	t.is(await detectContent(await compressedTarball(path.join(dir, 'lxd.tar.xz'), files, 'zstd')), 'zstd');
});

test('plain tarballs with a ustar magic at offset 257 (ustar, gnu, posix)', async t => {
	const dir = await tempDir(t);
	for (const format of ['ustar', 'gnu', 'posix']) {
		t.is(await detectContent(await tarball(path.join(dir, `${format}.tar`), files, format)), 'tar', format);
	}
});

test('a v7 tarball has no ustar magic and is unknown (the clients refuse it too)', async t => {
	const dir = await tempDir(t);
	t.is(await detectContent(await tarball(path.join(dir, 'v7.tar'), files, 'v7')), 'unknown');
});

test('squashfs from mksquashfs and qcow2 from qemu-img', async t => {
	const dir = await tempDir(t);
	t.is(await detectContent(await squashfs(path.join(dir, 'root.squashfs'))), 'squashfs');
	t.is(await detectContent(await qcow2(path.join(dir, 'disk.qcow2'))), 'qcow2');
});

test('a raw disk image is not qcow2', async t => {
	const dir = await tempDir(t);
	const raw = path.join(dir, 'disk.qcow2');
	await execa('qemu-img', ['create', '-q', '-f', 'raw', raw, '1M']);
	t.is(await detectContent(raw), 'unknown');
});

test('text, empty and short files are unknown', async t => {
	const dir = await tempDir(t);
	const text = path.join(dir, 'incus.tar.xz');
	await writeFile(text, 'this is not an archive\n'.repeat(40));
	t.is(await detectContent(text), 'unknown');
	const empty = path.join(dir, 'empty');
	await writeFile(empty, '');
	t.is(await detectContent(empty), 'unknown');
	const short = path.join(dir, 'short');
	await writeFile(short, 'ustar');
	t.is(await detectContent(short), 'unknown');
});

test('detectContent rejects for a missing file', async t => {
	const dir = await tempDir(t);
	await t.throwsAsync(detectContent(path.join(dir, 'missing')), {code: 'ENOENT'});
});

test('inspectContent: complete squashfs and xz files have no problem', async t => {
	const dir = await tempDir(t);
	t.deepEqual(await inspectContent(await squashfs(path.join(dir, 'root.squashfs'))), {content: 'squashfs'});
	const xz = await compressedTarball(path.join(dir, 'incus.tar.xz'), files, 'xz');
	t.deepEqual(await inspectContent(xz), {content: 'xz'});
	await appendFile(xz, Buffer.alloc(8));
	t.deepEqual(await inspectContent(xz), {content: 'xz'}, 'stream padding after the footer');
	t.deepEqual(await inspectContent(await qcow2(path.join(dir, 'disk.qcow2'))), {content: 'qcow2'});
});

test('inspectContent: a squashfs or xz file cut short has a problem', async t => {
	const dir = await tempDir(t);
	const sq = await squashfs(path.join(dir, 'root.squashfs'));
	const used = Number((await readFile(sq)).readBigUInt64LE(40)); // Superblock bytes_used; the file is padded past it.
	await truncate(sq, used);
	t.deepEqual(await inspectContent(sq), {content: 'squashfs'}, 'exactly bytes_used long');
	await truncate(sq, used - 1);
	const cut = await inspectContent(sq);
	t.is(cut.content, 'squashfs');
	t.regex(cut.problem ?? '', /truncated/);
	await truncate(sq, 20);
	t.regex((await inspectContent(sq)).problem ?? '', /truncated/, 'shorter than a superblock');
	const xz = await compressedTarball(path.join(dir, 'incus.tar.xz'), files, 'xz');
	const length = (await readFile(xz)).length;
	for (const cut of [1, 2, 12, length - 6]) {
		await truncate(xz, length - cut);
		const xzCut = await inspectContent(xz);
		t.is(xzCut.content, 'xz');
		t.regex(xzCut.problem ?? '', /truncated/, `xz cut ${cut} bytes short`);
	}
});

test('inspectContent: an xz file cut short whose last bytes are zeros is still truncated', async t => {
	// Stream padding is zeros *after* a footer. Zeros where the footer should be are not padding:
	// an upload into a preallocated file looks like this, and so does an xz file cut 3 bytes short
	// (the high bytes of Backward Size and the first Stream Flags byte are all zero).
	const dir = await tempDir(t);
	const xz = await compressedTarball(path.join(dir, 'incus.tar.xz'), files, 'xz');
	const bytes = await readFile(xz);
	await writeFile(xz, Buffer.concat([bytes.subarray(0, bytes.length - 3)]));
	t.regex((await inspectContent(xz)).problem ?? '', /truncated/, 'cut 3 bytes short');
	await writeFile(xz, Buffer.concat([bytes.subarray(0, 40), Buffer.alloc(bytes.length - 40)]));
	t.regex((await inspectContent(xz)).problem ?? '', /truncated/, 'preallocated, half written');
});

test('inspectContent: a qcow2 disk with data is whole; cut short it has a problem', async t => {
	const dir = await tempDir(t);
	const raw = path.join(dir, 'disk.raw');
	await writeFile(raw, Buffer.alloc(1024 * 1024, 0x5a));
	const disk = path.join(dir, 'disk.qcow2');
	await execa('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, disk]);
	t.deepEqual(await inspectContent(disk), {content: 'qcow2'});
	const {length} = await readFile(disk);
	await truncate(disk, Math.floor(length / 2));
	const cut = await inspectContent(disk);
	t.is(cut.content, 'qcow2');
	t.regex(cut.problem ?? '', /truncated/);
	await truncate(disk, 50);
	t.regex((await inspectContent(disk)).problem ?? '', /truncated/, 'shorter than a header');
});

/** A qcow2 header of 512-byte clusters, no L1 table, and a refcount table at 512 in a file of `size` bytes: its last cluster short. */
function shortQcow2(size: number): Buffer {
	const bytes = Buffer.alloc(size);
	bytes.write('QFI\xfb', 'latin1');
	bytes.writeUInt32BE(3, 4);
	bytes.writeUInt32BE(9, 20);
	bytes.writeBigUInt64BE(512n, 48);
	bytes.writeUInt32BE(1, 56);
	return bytes;
}

test('inspect: a qcow2 table that ends inside an entry reads as zeros past the file, never throws', async t => {
	const dir = await tempDir(t);
	const disk = path.join(dir, 'disk.qcow2');
	// The refcount table's last cluster holds 489 bytes: its 62nd entry is one byte.
	const zeroed = shortQcow2(1001);
	await writeFile(disk, zeroed);
	t.deepEqual(await inspectContent(disk), {content: 'qcow2'});
	t.deepEqual(inspectBytes(zeroed), {content: 'qcow2'});
	// Its last entry's high half whole, its low half past the end: a block at 2^32, past the end.
	const pointing = shortQcow2(1004);
	pointing[1003] = 1;
	await writeFile(disk, pointing);
	t.regex((await inspectContent(disk)).problem ?? '', /truncated: its refcount block at byte 4294967296/);
	t.regex(inspectBytes(pointing).problem ?? '', /truncated: its refcount block at byte 4294967296/);
});

test('classify on bytes', t => {
	const bytes = (...b: number[]) => Uint8Array.from(b);
	t.is(classify(bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)), 'xz');
	t.is(classify(bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a)), 'unknown', 'truncated xz magic');
	t.is(classify(bytes(0x1f, 0x8b)), 'gzip');
	t.is(classify(Buffer.from('BZh9')), 'bzip2');
	t.is(classify(bytes(0x28, 0xb5, 0x2f, 0xfd)), 'zstd');
	t.is(classify(Buffer.from('hsqs')), 'squashfs');
	t.is(classify(Buffer.from('QFI\xfb', 'latin1')), 'qcow2');
	t.is(classify(new Uint8Array(0)), 'unknown');
	const tar = Buffer.alloc(magicLength);
	tar.write('ustar', 257, 'latin1');
	t.is(classify(tar), 'tar');
	t.is(classify(tar.subarray(0, 261)), 'unknown', 'ustar magic cut short');
});

const meta: Role = {kind: 'meta', ftype: 'incus.tar.xz'};
const roles: Record<string, Role> = {
	meta,
	lxdMeta: {kind: 'meta', ftype: 'lxd.tar.xz'},
	squashfs: {kind: 'root', ftype: 'squashfs'},
	rootTar: {kind: 'root', ftype: 'root.tar.xz'},
	disk: {kind: 'root', ftype: 'disk-kvm.img'},
};
const all: Content[] = ['xz', 'gzip', 'bzip2', 'zstd', 'tar', 'squashfs', 'qcow2', 'unknown'];

test('contentFits: each role takes exactly the contents the clients can use', t => {
	const fits: Record<string, Content[]> = {
		meta: ['xz', 'gzip', 'bzip2', 'zstd', 'tar'],
		lxdMeta: ['xz', 'gzip', 'bzip2', 'zstd', 'tar'],
		squashfs: ['squashfs'],
		rootTar: ['xz', 'gzip', 'bzip2', 'zstd', 'tar'],
		disk: ['qcow2'],
	};
	for (const [name, role] of Object.entries(roles)) {
		for (const content of all) {
			t.is(contentFits(role, content), fits[name]!.includes(content), `${name} ← ${content}`);
		}
	}
});

test('describeExpected names what a role needs', t => {
	t.regex(describeExpected(meta), /tarball/);
	t.regex(describeExpected(roles.rootTar!), /tarball/);
	t.regex(describeExpected(roles.squashfs!), /squashfs/);
	t.regex(describeExpected(roles.disk!), /qcow2/);
});
