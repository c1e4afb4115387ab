// Locate the image in SRC: every regular file is classified by its bytes (names are free), so a
// distrobuilder output directory, an `lxc image export` or an `incus publish` export all work.
import {readdir, stat} from 'node:fs/promises';
import {join, resolve} from 'node:path';
import {canonicalArchitecture} from '../domain/architectures.js';
import type {Content} from '../domain/ftypes.js';
import type {RootFtype} from '../streams/ftypes.js';
import {inspectContent} from '../domain/magic.js';
import {printable} from '../report/printable.js';
import {errorCode} from '../util/errors.js';
import {ImportError} from './errors.js';
import {inspectTarball, parseMetadata, type Metadata} from './metadata.js';
import {rootfsArchitecture, type RootArch} from './rootfs-arch.js';
import {tarContents, type TarContent} from './tarball.js';

export type SourceFile = {name: string; path: string; size: number; dev: number; content: Content};

export type SourceRoot = SourceFile & {ftype: RootFtype; arch?: RootArch};

export type Found = {
	dir: string;
	meta: SourceFile & {metadata: Metadata};
	roots: SourceRoot[];
	/** Files left where they are, and why. */
	ignored: Array<{name: string; reason: string}>;
};

const rootNames: Record<RootFtype, string> = {squashfs: 'squashfs images', 'root.tar.xz': 'rootfs tarballs', 'disk-kvm.img': 'qcow2 disks'};

const isTarball = (content: Content): content is TarContent => tarContents.includes(content);

export async function findImage(source: string): Promise<Found> {
	const dir = resolve(source);
	const dirents = await readdir(dir, {withFileTypes: true}).catch((error: unknown) => {
		throw new ImportError(`cannot read the import directory ${printable(dir)} (${errorCode(error)})`);
	});
	const metas: Array<{file: SourceFile; yaml?: string; problem?: string}> = [];
	const roots: SourceRoot[] = [];
	const ignored: Found['ignored'] = [];
	for (const dirent of dirents.sort((a, b) => (a.name < b.name ? -1 : 1))) {
		const {name} = dirent;
		const path = join(dir, name);
		if (name.startsWith('.') || dirent.isDirectory()) {
			continue;
		}

		if (!dirent.isFile()) {
			ignored.push({name, reason: dirent.isSymbolicLink() ? 'a symbolic link (import the file itself)' : 'not a regular file'});
			continue;
		}

		let file: SourceFile;
		try {
			const [stats, inspected] = await Promise.all([stat(path), inspectContent(path)]);
			if (inspected.problem) {
				throw new ImportError(`${printable(path)}: ${inspected.problem} (is it still being written?)`);
			}

			file = {name, path, size: stats.size, dev: stats.dev, content: inspected.content};
		} catch (error) {
			throw error instanceof ImportError ? error : new ImportError(`${printable(path)} cannot be read (${errorCode(error)})`);
		}

		if (file.content === 'squashfs' || file.content === 'qcow2') {
			roots.push({...file, ftype: file.content === 'squashfs' ? 'squashfs' : 'disk-kvm.img'});
		} else if (isTarball(file.content)) {
			const kind = await inspectTarball(path, file.content);
			if (kind.kind === 'unified') {
				throw new ImportError(`${printable(path)} is a unified image (metadata.yaml and ${kind.entry} in one tarball), which cannot be published yet. `
					+ 'Split it: unpack it, then put metadata.yaml and templates/ in incus.tar.xz and the rootfs in root.squashfs (mksquashfs rootfs root.squashfs) or, for rootfs.img, name it disk.qcow2');
			}

			if (kind.kind === 'metadata') {
				metas.push({file, yaml: kind.yaml, problem: kind.problem});
			} else if (kind.kind === 'rootfs') {
				roots.push({...file, ftype: 'root.tar.xz'});
			} else {
				ignored.push({name, reason: kind.reason});
			}
		} else {
			ignored.push({name, reason: 'content not recognised (not a tarball, squashfs or qcow2)'});
		}
	}

	const left = ignored.length > 0 ? `; ignored: ${ignored.map(i => `${printable(i.name)} (${i.reason})`).join(', ')}` : '';
	const [meta, second] = metas;
	if (!meta) {
		throw new ImportError(`no metadata tarball in ${printable(dir)} (a tarball holding metadata.yaml, such as lxd.tar.xz or incus.tar.xz)${left}`);
	}

	if (second) {
		throw new ImportError(`${printable(dir)} holds ${metas.length} metadata tarballs (${metas.map(m => printable(m.file.name)).join(', ')}): leave only the one to import`);
	}

	if (roots.length === 0) {
		throw new ImportError(`no rootfs in ${printable(dir)} (a squashfs, a root.tar.xz or a qcow2 disk) to go with ${printable(meta.file.name)}${left}`);
	}

	for (const [ftype, what] of Object.entries(rootNames)) {
		const same = roots.filter(r => r.ftype === ftype);
		if (same.length > 1) {
			throw new ImportError(`${printable(dir)} holds ${same.length} ${what} (${same.map(r => printable(r.name)).join(', ')}): leave only the one to import`);
		}
	}

	if (meta.problem !== undefined || meta.yaml === undefined) {
		throw new ImportError(`${printable(meta.file.path)}: ${meta.problem ?? 'metadata.yaml cannot be read'}`);
	}

	let metadata: Metadata;
	try {
		metadata = parseMetadata(meta.yaml);
	} catch (error) {
		throw new ImportError(`${printable(meta.file.path)}: ${(error as Error).message}`);
	}

	for (const root of roots) {
		if (root.content === 'squashfs' || isTarball(root.content)) {
			root.arch = await rootfsArchitecture(root.path, root.content);
		}

		const wanted = metadata.architecture && canonicalArchitecture(metadata.architecture);
		if (wanted && root.arch && !root.arch.arches.includes(wanted)) {
			throw new ImportError(`${printable(root.path)} is built for ${root.arch.arches.join(' or ')} (${printable(root.arch.binary)}), but ${printable(meta.file.path)} says architecture ${metadata.architecture}`);
		}
	}

	return {dir, meta: {...meta.file, metadata}, roots, ignored};
}
