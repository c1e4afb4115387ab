// A web root for the live-tree tests: one version with a real metadata tarball and a rootfs of any
// size, made in milliseconds (fallocate), so hashing it takes as long as a test needs to watch.
import {execFileSync} from 'node:child_process';
import {mkdir, mkdtemp, open, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {ExecutionContext} from 'ava';

export const versionDir = 'images/acme/1.0/amd64/default/20240101_0000';

const metadata = `architecture: x86_64
creation_date: 1704067200
properties:
  os: acme
  release: "1.0"
  variant: default
  description: Acme 1.0 amd64 (default)
`;

/** A temp dir (removed after the test, big files included) holding webroot/ with one version. */
export async function liveTree(t: ExecutionContext, rootSize: number): Promise<{dir: string; root: string; version: string}> {
	const dir = await mkdtemp(path.join(tmpdir(), 'ss-live-'));
	t.teardown(async () => rm(dir, {recursive: true, force: true}));
	const root = path.join(dir, 'webroot');
	const version = path.join(root, versionDir);
	await mkdir(version, {recursive: true});
	await writeFile(path.join(dir, 'metadata.yaml'), metadata);
	// A real xz stream of a real tar: the pipeline checks magic bytes and the xz footer.
	execFileSync('sh', ['-c', `tar --format=gnu -C "${dir}" -cf - metadata.yaml | xz -c -T1 > "${path.join(version, 'lxd.tar.xz')}"`]);
	const squashfs = path.join(version, 'root.squashfs');
	execFileSync('fallocate', ['-l', String(rootSize), squashfs]);
	// The squashfs magic at offset 0 and bytes_used (offset 40) equal to the file's size.
	const handle = await open(squashfs, 'r+');
	try {
		const superblock = Buffer.alloc(96);
		superblock.write('hsqs');
		superblock.writeBigUInt64LE(BigInt(rootSize), 40);
		await handle.write(superblock, 0, superblock.length, 0);
	} finally {
		await handle.close();
	}

	return {dir, root, version};
}
