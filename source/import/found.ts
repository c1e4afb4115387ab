// What an import found in SRC: the metadata, the root files and what was left aside. Apart from
// find.ts, which makes it, so the modules that read it (bare.ts, propose.ts, the plan, the wizard)
// import no finder.
import type {Content} from '../domain/ftypes.js';
import type {RootFtype} from '../streams/ftypes.js';
import type {Metadata} from './metadata.js';
import type {RootArch} from './rootfs-arch.js';

export type SourceFile = {
	name: string;
	path: string;
	size: number;
	dev: number;
	content: Content;
	/** Where the file comes from when SRC does not hold it as it is (split from a unified image, written for a bare one). */
	origin?: string;
};

export type SourceRoot = SourceFile & {ftype: RootFtype; arch?: RootArch};

export type Found = {
	dir: string;
	/** `written`: a bare image's metadata tarball, written once the fields are settled (bare.ts). */
	meta: SourceFile & {metadata: Metadata; written?: boolean};
	roots: SourceRoot[];
	/** Files left where they are, and why. */
	ignored: Array<{name: string; reason: string}>;
	/** The directory of the files made for this import (split or written), removed when it is done. */
	scratch?: string;
};
