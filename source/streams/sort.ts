// The order in which the clients list the images of a stream (format notes §9, Incus's sort.go):
// aliases claimed twice go to whichever image comes first in it.
import {rootFtypes, unifiedRootType} from './ftypes.js';

/** Rootfs ftypes in the clients' preference order, a unified tarball last. */
const preference: readonly string[] = [...Object.keys(rootFtypes), unifiedRootType];

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export type Sortable = {os: string; release: string; variant: string; version: string; arch: string; rootType: string};

/** os, release, variant, newest version first, arch, then rootfs ftype by preference. */
export const clientOrder = (a: Sortable, b: Sortable) => compare(a.os, b.os) || compare(a.release, b.release) || compare(a.variant, b.variant)
	|| compare(b.version, a.version) || compare(a.arch, b.arch) || preference.indexOf(a.rootType) - preference.indexOf(b.rootType);
