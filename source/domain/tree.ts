// The web root's images as the scan finds them, and the digests found for them: the data that flows
// through scan → retain → plan → hash → catalog → write, and what retention and the import read.
import {sep} from 'node:path';
import {identityField, identityNumbers, identityOf, putIdentity, type FileIdentity} from './file.js';
import {roleOf, type Role} from './ftypes.js';

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
 * The relative path of `name` in `parent`, as one flat string. The tree's paths are keys of maps (the
 * probe's facts, the digests, the cache), and a key made by concatenation is flattened when looked
 * up, after which the string is held twice over: the flat copy and the concatenation that points
 * to it. Array#join makes the flat string at once.
 */
export const child = (parent: string, name: string) => [parent, name].join('/');

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
function imageFile(root: string, path: string, role: Role, identity: FileIdentity, elsewhere?: string): ImageFile {
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

/**
 * A version whose files are all read where their paths say, held as their names and their
 * identities' numbers until something asks for its files. A no-change -N run never does: what it
 * reads of them (the key, the totals, the replay) goes through visitFiles. The objects of every
 * file (path, file, identity), made by the scan and kept to its end, were most of what that run's
 * scavenges copied (bench/RESULTS.md). The files are made once, at the first ask, so the identities
 * the digest cache shares are the tree's own from then on.
 */
class ListedVersion implements ScannedVersion {
	private made?: ImageFile[];
	/** The files' identities, `identityNumbers` a file in `names`' order; let go once the files are made. */
	private numbers?: readonly number[];

	constructor(readonly product: ProductRef, readonly name: string, readonly path: string, private readonly root: string, readonly names: readonly string[], numbers: readonly number[]) {
		this.numbers = numbers;
	}

	get files(): ImageFile[] {
		if (!this.made) {
			const view = new FileView(this);
			this.made = this.names.map((name, index) => {
				view.index = index;
				return new RootedFile(this.root, child(this.path, name), roleOf(name)!, identityOf(view));
			});
			this.numbers = undefined;
		}

		return this.made;
	}

	/** The number `field` (identityField's) of the identity of file `index`, while no file is made. */
	number(index: number, field: number): number {
		return this.numbers![(index * identityNumbers) + field]!;
	}

	/** Each file in turn, from the numbers while no file is made. */
	visit(visit: FileVisit): void {
		if (this.made) {
			visitMade(this.made, visit);
			return;
		}

		const view = new FileView(this);
		for (let index = 0; index < this.names.length; index++) {
			view.index = index;
			visit(view, undefined);
		}
	}
}

/** What is read of a file, seen without its object: its path and identity. */
export type FileSeen = Pick<ImageFile, 'path' | 'identity'>;

/** File `index` of a ListedVersion, its path made when asked: one view is moved along a version's files. */
class FileView implements FileSeen, FileIdentity {
	index = 0;
	constructor(private readonly version: ListedVersion) {}
	/**
	 * Concatenated, not joined (child): a path seen here is read once and let go (the key's text, a
	 * replayed event), and a concatenation is one small object where a join copies the text.
	 */
	get path() {
		return `${this.version.path}/${this.version.names[this.index]!}`;
	}

	get identity(): FileIdentity {
		return this;
	}

	get dev() {
		return this.version.number(this.index, identityField.dev);
	}

	get ino() {
		return this.version.number(this.index, identityField.ino);
	}

	get size() {
		return this.version.number(this.index, identityField.size);
	}

	get mtimeMs() {
		return this.version.number(this.index, identityField.mtimeMs);
	}

	get ctimeMs() {
		return this.version.number(this.index, identityField.ctimeMs);
	}
}

/**
 * What is read of each file of a version without making its objects: the file as seen (valid during
 * the call only, as a view moves on), and where it is read when a link says (linkTarget).
 */
export type FileVisit = (file: FileSeen, target: string | undefined) => void;

function visitMade(files: readonly ImageFile[], visit: FileVisit): void {
	// By index: see treeKey (receipt.ts).
	for (let index = 0; index < files.length; index++) {
		const file = files[index]!;
		visit(file, linkTarget(file));
	}
}

/** Each file of `version` in turn, as FileVisit says: the files' objects are not made for it. */
export function visitFiles(version: ScannedVersion, visit: FileVisit): void {
	if (version instanceof ListedVersion) {
		version.visit(visit);
	} else {
		visitMade(version.files, visit);
	}
}

/** How many files `version` holds, without making them. */
export const fileCount = (version: ScannedVersion) => (version instanceof ListedVersion ? version.names.length : version.files.length);

/** Version names' lists, shared by every version holding the same names in the same order. */
const sharedNames = new Map<string, readonly string[]>();
/** The list the last version took: usually the next one's too, found with no name made to look it up. */
let lastNames: readonly string[] = [];

/** Whether `files` are named `names`, in that order. */
function namedAs(names: readonly string[], files: readonly FoundFile[]): boolean {
	if (names.length !== files.length) {
		return false;
	}

	for (let index = 0; index < files.length; index++) {
		if (files[index]!.name !== names[index]) {
			return false;
		}
	}

	return true;
}

/**
 * A file as the scan finds it, before its version keeps it: its name in the version directory, its
 * path, its identity (Node's stats will do: no identity is made of them for a version kept as
 * numbers), and where it is read when that is not under the root at its path.
 */
export type FoundFile = {readonly name: string; readonly path: string; readonly role: Role; readonly identity: FileIdentity; readonly elsewhere: string | undefined};

/**
 * The version the scan found at `path` (named `name`, in `product`) with `files`: kept as names and
 * numbers when every file is read under `root` where its path says, as they are.
 */
export function scannedVersion(product: ProductRef, name: string, path: string, root: string, files: readonly FoundFile[]): ScannedVersion {
	if (files.some(file => file.elsewhere !== undefined)) {
		return {product, name, path, files: files.map(file => imageFile(root, child(path, file.name), file.role, identityOf(file.identity), file.elsewhere))};
	}

	if (!namedAs(lastNames, files)) {
		const names = files.map(file => file.name);
		const key = names.join('/');
		lastNames = sharedNames.get(key) ?? names;
		sharedNames.set(key, lastNames);
	}

	const numbers = new Array<number>(files.length * identityNumbers);
	for (let index = 0; index < files.length; index++) {
		putIdentity(numbers, index * identityNumbers, files[index]!.identity);
	}

	return new ListedVersion(product, name, path, root, lastNames, numbers);
}

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
