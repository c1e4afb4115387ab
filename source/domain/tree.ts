// The web root's images as the scan finds them, and the digests found for them: the data that flows
// through scan → retain → plan → hash → catalog → write, and what retention and the import read.
import {sep} from 'node:path';
import type {FileIdentity} from './file.js';
import type {Role} from './ftypes.js';

export type ImageFile = {
	/** Path relative to the web root, with `/`: exactly what goes into an item's `path`. */
	readonly path: string;
	/** Where to read it (a link inside the root already resolved). */
	readonly absolute: string;
	readonly role: Role;
	readonly identity: FileIdentity;
};

/**
 * Where `name` is in the directory `parent`. Not join(): `parent` is already normal and `name` plain
 * segments, so joining is concatenating, and join's normalising weighed on the scan of a large tree
 * (bench/RESULTS.md).
 */
export const under = (parent: string, name: string) => (parent.endsWith(sep) ? parent + name : parent + sep + name);

/**
 * A file read where its path says, under the root: where to read it is made when asked (to probe or
 * hash it) rather than kept, which would be a second path held for every file of the tree beside its
 * relative one (bench/RESULTS.md).
 */
class RootedFile implements ImageFile {
	constructor(private readonly root: string, readonly path: string, readonly role: Role, readonly identity: FileIdentity) {}

	get absolute(): string {
		return under(this.root, this.path);
	}
}

/** A file the scan found at `path` under `root`; `elsewhere`: where it is read when a link on the way leads away from there. */
export function imageFile(root: string, path: string, role: Role, identity: FileIdentity, elsewhere?: string): ImageFile {
	return elsewhere === undefined ? new RootedFile(root, path, role, identity) : {path, absolute: elsewhere, role, identity};
}

/** Where a file reached through a link is read; none for a file read where its path says, under the root. */
export const linkTarget = (file: ImageFile): string | undefined => (file instanceof RootedFile ? undefined : file.absolute);

export type ProductRef = {
	/** `os:release:arch:variant` */
	id: string;
	os: string;
	release: string;
	arch: string;
	variant: string;
	/** `images/os/release/arch/variant` */
	path: string;
};

export type ScannedVersion = {
	product: ProductRef;
	name: string;
	/** `images/os/release/arch/variant/version` */
	path: string;
	files: ImageFile[];
};

export type ScannedProduct = {
	ref: ProductRef;
	requirements: Record<string, string>;
	/** Extra aliases from the product's `.aliases` file. */
	aliases: string[];
	versions: ScannedVersion[];
};

export type Tree = {
	root: string;
	products: ScannedProduct[];
	/**
	 * Paths the scan left out whole for a reason that may pass (a requirements file broken, a
	 * directory unreadable): what the digest cache knows of the files below them is still wanted.
	 */
	setAside: string[];
};

/** Everything hashing found: file digests by ImageFile.path, fingerprints by pathPair(meta, root). */
export type Digests = {
	files: Map<string, string>;
	combined: Map<string, string>;
};

export const pathPair = (metaPath: string, rootPath: string) => `${metaPath}\0${rootPath}`;

/**
 * Cache key of a combined fingerprint: it depends only on the two files' contents. Joined, not
 * concatenated: the digest cache keeps the key, and a concatenation is kept as its flat copy and
 * the 32-byte node that points to it (bench/RESULTS.md).
 */
export const contentPair = (metaSha256: string, rootSha256: string) => [metaSha256, rootSha256].join(':');

/** When a version's newest file was written (epoch ms). mtime, not ctime: a chmod or a rename does not make a finished file look unfinished. */
export const lastWritten = (version: ScannedVersion) => Math.max(0, ...version.files.map(f => Math.floor(f.identity.mtimeMs)));
