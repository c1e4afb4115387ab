// A unified image (one tarball with metadata.yaml, templates/ and rootfs/ or rootfs.img, as
// `incus publish` and `incus image export` of a unified image write it) is published split in two:
// a metadata tarball and a squashfs (a root.tar.xz where mksquashfs is missing), or for rootfs.img
// the qcow2 disk. Split images are what the generator pairs per rootfs, what deltas are made
// from, and what LXD and Incus both launch from this tree. The parts are written to a scratch
// directory; the unified tarball itself stays where it is.
import {mkdir, readdir, rename} from 'node:fs/promises';
import {join} from 'node:path';
import {execa} from 'execa';
import {printable} from '../util/printable.js';
import {madeMetadataName} from '../domain/ftypes.js';
import {ImportError} from './errors.js';

export type SplitParts = {meta: string; root: string};

const tarOwner = ['--numeric-owner', '--owner=0', '--group=0'];

const hasTool = async (tool: string) => (await execa('sh', ['-c', `command -v ${tool}`], {reject: false})).exitCode === 0;

/** Unpacks `file` below `scratch` and writes its two parts there. */
export async function splitUnified(file: string, scratch: string): Promise<SplitParts> {
	const unpacked = join(scratch, 'unpacked');
	await mkdir(unpacked, {recursive: true});
	// GNU tar tells the compression from the bytes (xz, gzip, bzip2, zstd), as the daemons do.
	const untar = await execa('tar', ['-xf', file, '-C', unpacked, '--numeric-owner', '--xattrs', '--xattrs-include=*'], {reject: false});
	if (untar.exitCode !== 0) {
		throw new ImportError(`${printable(file)} cannot be unpacked (${untar.stderr.trim().split('\n').pop() ?? `tar exit ${untar.exitCode}`})`);
	}

	const top = await readdir(unpacked);
	const meta = join(scratch, madeMetadataName);
	await execa('tar', ['-C', unpacked, '-cJf', meta, ...tarOwner, 'metadata.yaml', ...(top.includes('templates') ? ['templates'] : [])]);
	if (top.includes('rootfs.img')) {
		const root = join(scratch, 'disk.qcow2');
		await rename(join(unpacked, 'rootfs.img'), root);
		return {meta, root};
	}

	const rootfs = join(unpacked, 'rootfs');
	if ((await readdir(rootfs)).length === 0) {
		throw new ImportError(`${printable(file)} is a unified image with an empty rootfs/: there is nothing to launch`);
	}

	if (await hasTool('mksquashfs')) {
		const root = join(scratch, 'root.squashfs');
		await execa('mksquashfs', [rootfs, root, '-noappend', '-quiet', '-no-progress']);
		return {meta, root};
	}

	const root = join(scratch, 'root.tar.xz');
	await execa('sh', ['-c', 'cd "$1" && tar --numeric-owner -cf - . | xz -T0 -c > "$2"', 'sh', rootfs, root]);
	return {meta, root};
}
