// Locate the image in SRC: every regular file is classified by its bytes (names are free), so a
// distrobuilder output directory, an `lxc image export` or an `incus publish` export all work.
import {mkdtemp, readdir, rm, stat} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {basename, join, resolve} from 'node:path';
import {execa} from 'execa';
import {canonicalArchitecture} from '../domain/architectures.js';
import type {Content} from '../domain/ftypes.js';
import type {RootFtype} from '../streams/ftypes.js';
import {inspectContent} from '../domain/magic.js';
import {printable} from '../util/printable.js';
import {errorCode} from '../util/errors.js';
import {compareText} from '../util/compare.js';
import {bareMetaFile} from './bare.js';
import type {Found, SourceFile, SourceRoot} from './found.js';
import {ImportError} from './errors.js';
import {inspectTarball, parseMetadata} from './metadata.js';
import {rootfsArchitecture} from './rootfs-arch.js';
import {tarContents, type TarContent} from './tarball.js';
import {splitUnified} from './unified.js';

export type FindOptions = {
	/** Where the scratch directory goes: the web root, so its files are renamed into place. */
	scratchIn: string;
};

const rootNames: Record<RootFtype, string> = {squashfs: 'squashfs images', 'root.tar.xz': 'rootfs tarballs', 'disk-kvm.img': 'qcow2 disks'};

const isTarball = (content: Content): content is TarContent => tarContents.includes(content);

/** A file's size, device and content; a file still being written is an error naming it. */
async function sourceFile(name: string, path: string, origin?: string): Promise<SourceFile> {
	try {
		const [stats, inspected] = await Promise.all([stat(path), inspectContent(path)]);
		if (inspected.problem) {
			throw new ImportError(`${printable(path)}: ${inspected.problem} (is it still being written?)`);
		}

		return {name, path, size: stats.size, dev: stats.dev, content: inspected.content, ...(origin === undefined ? {} : {origin})};
	} catch (error) {
		throw error instanceof ImportError ? error : new ImportError(`${printable(path)} cannot be read (${errorCode(error)})`);
	}
}

type Sorted = {
	metas: Array<{file: SourceFile; yaml?: string; problem?: string}>;
	roots: SourceRoot[];
	unified: SourceFile[];
	ignored: Found['ignored'];
	/** Tarballs that are neither metadata nor a rootfs: perhaps a broken metadata tarball. */
	odd: Array<{file: SourceFile; reason: string}>;
};

/** Puts one file where it belongs by its bytes. */
async function sortFile(file: SourceFile, into: Sorted): Promise<void> {
	if (file.content === 'squashfs' || file.content === 'qcow2') {
		into.roots.push({...file, ftype: file.content === 'squashfs' ? 'squashfs' : 'disk-kvm.img'});
	} else if (isTarball(file.content)) {
		const kind = await inspectTarball(file.path, file.content);
		if (kind.kind === 'unified') {
			into.unified.push(file);
		} else if (kind.kind === 'metadata') {
			into.metas.push({file, yaml: kind.yaml, problem: kind.problem});
		} else if (kind.kind === 'rootfs') {
			into.roots.push({...file, ftype: 'root.tar.xz'});
		} else {
			into.ignored.push({name: file.name, reason: kind.reason});
			into.odd.push({file, reason: kind.reason});
		}
	} else {
		into.ignored.push({name: file.name, reason: 'content not recognised (not a tarball, squashfs or qcow2)'});
	}
}

/** A squashfs with nothing but its root directory: no rootfs at all. */
async function emptySquashfs(file: string): Promise<boolean> {
	const listing = await execa('unsquashfs', ['-l', '-d', '', file], {reject: false, stderr: 'ignore'});
	return !listing.failed && !listing.stdout.split('\n').some(line => line.startsWith('/'));
}

export async function findImage(source: string, options: FindOptions = {scratchIn: tmpdir()}): Promise<Found> {
	const dir = resolve(source);
	const dirents = await readdir(dir, {withFileTypes: true}).catch((error: unknown) => {
		throw new ImportError(`cannot read the import directory ${printable(dir)} (${errorCode(error)})`);
	});
	const sorted: Sorted = {metas: [], roots: [], unified: [], ignored: [], odd: []};
	const {metas, roots, unified, ignored} = sorted;
	for (const dirent of dirents.sort((a, b) => compareText(a.name, b.name))) {
		const {name} = dirent;
		if (name.startsWith('.') || dirent.isDirectory()) {
			continue;
		}

		if (!dirent.isFile()) {
			ignored.push({name, reason: dirent.isSymbolicLink() ? 'a symbolic link (import the file itself)' : 'not a regular file'});
			continue;
		}

		await sortFile(await sourceFile(name, join(dir, name)), sorted);
	}

	const [whole, another] = unified;
	if (whole && (another ?? metas[0]?.file ?? roots[0])) {
		const others = [...unified.slice(1), ...metas.map(m => m.file), ...roots].map(f => printable(f.name));
		throw new ImportError(`${printable(dir)} holds the unified image ${printable(whole.name)} and also ${others.join(', ')}: leave only the image to import`);
	}

	let scratch: string | undefined;
	try {
		if (whole) {
			scratch = await mkdtemp(join(options.scratchIn, '.import-'));
			const parts = await splitUnified(whole.path, scratch);
			const origin = `split from ${printable(whole.name)}`;
			for (const part of [parts.meta, parts.root]) {
				await sortFile(await sourceFile(basename(part), part, origin), sorted);
			}

			ignored.push({name: whole.name, reason: 'the unified image these files are split from'});
		}

		return {...await settle(dir, sorted, options, scratch), ...(scratch === undefined ? {} : {scratch})};
	} catch (error) {
		if (scratch) {
			await rm(scratch, {recursive: true, force: true});
		}

		throw error;
	}
}

async function settle(dir: string, {metas, roots, ignored, odd}: Sorted, options: FindOptions, scratch: string | undefined): Promise<Found> {
	const left = ignored.length > 0 ? `; ignored: ${ignored.map(i => `${printable(i.name)} (${i.reason})`).join(', ')}` : '';
	const [first, second] = metas;
	if (second) {
		throw new ImportError(`${printable(dir)} holds ${metas.length} metadata tarballs (${metas.map(m => printable(m.file.name)).join(', ')}): leave only the one to import`);
	}

	if (roots.length === 0) {
		throw new ImportError(first
			? `no rootfs in ${printable(dir)} (a squashfs, a root.tar.xz or a qcow2 disk) to go with ${printable(first.file.name)}${left}`
			: `no image in ${printable(dir)} (a rootfs or qcow2 disk, with or without a metadata tarball, or a unified image)${left}`);
	}

	const [broken] = odd;
	if (!first && broken) {
		throw new ImportError(`no metadata tarball in ${printable(dir)}: ${printable(broken.file.path)} is ${broken.reason}. `
			+ `Fix it, or remove it to import ${roots.map(r => printable(r.name)).join(' and ')} as a bare image, with metadata written for it`);
	}

	for (const [ftype, what] of Object.entries(rootNames)) {
		const same = roots.filter(r => r.ftype === ftype);
		if (same.length > 1) {
			throw new ImportError(`${printable(dir)} holds ${same.length} ${what} (${same.map(r => printable(r.name)).join(', ')}): leave only the one to import`);
		}
	}

	for (const root of roots) {
		if (root.content === 'squashfs' && await emptySquashfs(root.path)) {
			throw new ImportError(`${printable(root.path)} is an empty squashfs: there is no root filesystem in it to launch`);
		}

		if (root.content === 'squashfs' || isTarball(root.content)) {
			root.arch = await rootfsArchitecture(root.path, root.content);
		}
	}

	let meta: Found['meta'];
	if (first) {
		if (first.problem !== undefined || first.yaml === undefined) {
			throw new ImportError(`${printable(first.file.path)}: ${first.problem ?? 'metadata.yaml cannot be read'}`);
		}

		try {
			meta = {...first.file, metadata: parseMetadata(first.yaml)};
		} catch (error) {
			throw new ImportError(`${printable(first.file.path)}: ${(error as Error).message}`);
		}
	} else {
		const where = scratch ?? await mkdtemp(join(options.scratchIn, '.import-'));
		scratch = where;
		meta = bareMetaFile(where, roots, (await stat(where)).dev);
	}

	const wanted = meta.metadata.architecture && canonicalArchitecture(meta.metadata.architecture);
	for (const root of roots) {
		if (wanted && root.arch && !root.arch.arches.includes(wanted)) {
			throw new ImportError(`${printable(root.path)} is built for ${root.arch.arches.join(' or ')} (${printable(root.arch.binary)}), but ${printable(meta.path)} says architecture ${meta.metadata.architecture!}`);
		}
	}

	return {dir, meta, roots, ignored, ...(scratch === undefined ? {} : {scratch})};
}
