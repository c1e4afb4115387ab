// What each file in a version directory is, by name, and which content its role demands.

/** A rootfs ftype the clients pair with a metadata tarball. */
export type RootFtype = 'squashfs' | 'root.tar.xz' | 'disk-kvm.img';

/** A metadata ftype: LXD reads only lxd.tar.xz items, Incus only incus.tar.xz items. */
export type MetaFtype = 'lxd.tar.xz' | 'incus.tar.xz';

export type Role = {kind: 'meta'; ftype: MetaFtype} | {kind: 'root'; ftype: RootFtype};

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
];

const roleByName = new Map(fileRoles.map(f => [f.name, f.role]));

/** The role a file name gives (asked for every name in every version directory). */
export function roleOf(fileName: string): Role | undefined {
	return roleByName.get(fileName);
}

/** The item key official servers use for each ftype. */
export const itemKey: Record<MetaFtype | RootFtype, string> = {
	'lxd.tar.xz': 'lxd.tar.xz',
	'incus.tar.xz': 'incus.tar.xz',
	squashfs: 'root.squashfs',
	'root.tar.xz': 'root.tar.xz',
	'disk-kvm.img': 'disk.qcow2',
};

/** The meta item field that carries the fingerprint of (meta, rootfs of this ftype). */
export const combinedFields: Record<RootFtype, ReadonlyArray<`combined_${string}`>> = {
	squashfs: ['combined_squashfs_sha256'],
	// `combined_sha256` is the legacy name older clients read for the root.tar.xz pairing.
	'root.tar.xz': ['combined_rootxz_sha256', 'combined_sha256'],
	'disk-kvm.img': ['combined_disk-kvm-img_sha256'],
};

const tarballs: readonly Content[] = ['xz', 'gzip', 'bzip2', 'zstd', 'tar'];

/** Whether a file whose bytes say `content` can serve `role`: clients detect compression from bytes, not names. */
export function contentFits(role: Role, content: Content): boolean {
	if (role.kind === 'meta' || role.ftype === 'root.tar.xz') {
		return tarballs.includes(content);
	}

	return content === (role.ftype === 'squashfs' ? 'squashfs' : 'qcow2');
}

export function describeExpected(role: Role): string {
	if (role.kind === 'meta' || role.ftype === 'root.tar.xz') {
		return 'a tarball (xz, gzip, bzip2, zstd or plain tar)';
	}

	return role.ftype === 'squashfs' ? 'a squashfs image' : 'a qcow2 disk image';
}

/** A rootfs ftype the clients patch with a delta of ftype `<root>.vcdiff`. */
export type DeltaRoot = Extract<RootFtype, 'squashfs' | 'disk-kvm.img'>;

/** Delta files sit in the new version's directory, named after their base version (lxc-ci's `delta-<base>.vcdiff`). */
export const deltaFileName = (root: DeltaRoot, base: string) => (root === 'squashfs' ? `delta-${base}.vcdiff` : `delta-${base}.qcow2.vcdiff`);

/** The item keys official servers use: `root.<base>.vcdiff` (lxc-ci), `disk.<base>.qcow2.vcdiff` (lxd-imagebuilder). */
export const deltaItemKey = (root: DeltaRoot, base: string) => (root === 'squashfs' ? `root.${base}.vcdiff` : `disk.${base}.qcow2.vcdiff`);
