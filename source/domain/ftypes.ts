// What each file in a version directory is, by name, and which content its role demands.
import type {DeltaRoot, MetaFtype, RootFtype, UnifiedFtype} from '../streams/ftypes.js';

/**
 * A unified tarball (metadata and rootfs in one, as a mirror keeps an upstream one so that its
 * fingerprint stays) is one image on its own.
 */
export type Role = {kind: 'meta'; ftype: MetaFtype} | {kind: 'root'; ftype: RootFtype} | {kind: 'unified'; ftype: UnifiedFtype};

/** Content as told by magic bytes. */
export type Content = 'xz' | 'gzip' | 'bzip2' | 'zstd' | 'tar' | 'squashfs' | 'qcow2' | 'unknown';

/** File names recognised in a version directory, in order of preference when two share a role. */
export const fileRoles: ReadonlyArray<{name: string; role: Role}> = [
	{name: 'lxd.tar.xz', role: {kind: 'meta', ftype: 'lxd.tar.xz'}},
	{name: 'incus.tar.xz', role: {kind: 'meta', ftype: 'incus.tar.xz'}},
	{name: 'root.squashfs', role: {kind: 'root', ftype: 'squashfs'}},
	{name: 'rootfs.squashfs', role: {kind: 'root', ftype: 'squashfs'}},
	{name: 'root.tar.xz', role: {kind: 'root', ftype: 'root.tar.xz'}},
	{name: 'rootfs.tar.xz', role: {kind: 'root', ftype: 'root.tar.xz'}},
	{name: 'disk.qcow2', role: {kind: 'root', ftype: 'disk-kvm.img'}},
	{name: 'disk-kvm.img', role: {kind: 'root', ftype: 'disk-kvm.img'}},
	{name: 'incus_combined.tar.gz', role: {kind: 'unified', ftype: 'incus_combined.tar.gz'}},
	{name: 'lxd_combined.tar.gz', role: {kind: 'unified', ftype: 'lxd_combined.tar.gz'}},
];

const roleByName = new Map(fileRoles.map(f => [f.name, f.role]));

/** The name a file of `ftype` is given in a version directory (by an import, a mirror): the first of its role's names; none for an ftype no file here has. */
export const fileNameOf = (ftype: string): string | undefined => fileRoles.find(f => f.role.ftype === ftype)?.name;

/** The metadata tarball an import makes, for a bare rootfs or split from a unified image: one name for all three places that make or place it. */
export const madeMetadataName = fileNameOf('incus.tar.xz')!;

/** The role a file name gives (asked for every name in every version directory). */
export function roleOf(fileName: string): Role | undefined {
	return roleByName.get(fileName);
}

const tarballs: readonly Content[] = ['xz', 'gzip', 'bzip2', 'zstd', 'tar'];

/** Whether a file whose bytes say `content` can serve `role`: clients detect compression from bytes, not names. */
export function contentFits(role: Role, content: Content): boolean {
	if (role.kind !== 'root' || role.ftype === 'root.tar.xz') {
		return tarballs.includes(content);
	}

	return content === (role.ftype === 'squashfs' ? 'squashfs' : 'qcow2');
}

export function describeExpected(role: Role): string {
	if (role.kind !== 'root' || role.ftype === 'root.tar.xz') {
		return 'a tarball (xz, gzip, bzip2, zstd or plain tar)';
	}

	return role.ftype === 'squashfs' ? 'a squashfs image' : 'a qcow2 disk image';
}

/** Delta files sit in the new version's directory, named after their base version (lxc-ci's `delta-<base>.vcdiff`). */
export const deltaFileName = (root: DeltaRoot, base: string) => (root === 'squashfs' ? `delta-${base}.vcdiff` : `delta-${base}.qcow2.vcdiff`);
