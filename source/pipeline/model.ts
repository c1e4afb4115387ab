// The data that flows through scan → plan → hash → catalog → write.
import type {FileIdentity} from '../domain/file.js';
import type {Role} from '../domain/ftypes.js';

export type ImageFile = {
	/** Path relative to the web root, with `/`: exactly what goes into an item's `path`. */
	path: string;
	/** Where to read it (a link inside the root already resolved). */
	absolute: string;
	role: Role;
	identity: FileIdentity;
};

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
};

/** Everything hashing found: file digests by ImageFile.path, fingerprints by pathPair(meta, root). */
export type Digests = {
	files: Map<string, string>;
	combined: Map<string, string>;
};

export const pathPair = (metaPath: string, rootPath: string) => `${metaPath}\0${rootPath}`;

/** Cache key of a combined fingerprint: it depends only on the two files' contents. */
export const contentPair = (metaSha256: string, rootSha256: string) => `${metaSha256}:${rootSha256}`;
