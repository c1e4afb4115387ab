// The order in which the clients list the images of a stream (format notes §9, Incus's sort.go):
// aliases claimed twice go to whichever image comes first in it.
import {rootFtypes, unifiedRootType} from './ftypes.js';
import {compareText} from '../util/compare.js';

/** Rootfs ftypes in the clients' preference order, a unified tarball last. */
const preference: readonly string[] = [...Object.keys(rootFtypes), unifiedRootType];

export type Sortable = {os: string; release: string; variant: string; version: string; arch: string; rootType: string};

/** os, release, variant, newest version first, arch, then rootfs ftype by preference. */
export const clientOrder = (a: Sortable, b: Sortable) => compareText(a.os, b.os) || compareText(a.release, b.release) || compareText(a.variant, b.variant)
	|| compareText(b.version, a.version) || compareText(a.arch, b.arch) || preference.indexOf(a.rootType) - preference.indexOf(b.rootType);
