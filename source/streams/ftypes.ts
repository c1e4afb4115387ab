// The ftypes of the format and what each client makes of them (format notes §7, §8, §12): which
// metadata item each client reads, where a metadata item carries the fingerprint of its pairing
// with each rootfs, the item keys official servers use, and which rootfs ftypes take deltas.

export type Client = 'lxd' | 'incus';

/** A metadata ftype: LXD reads only lxd.tar.xz items, Incus only incus.tar.xz items. */
export type MetaFtype = 'lxd.tar.xz' | 'incus.tar.xz';

/** A unified tarball: LXD reads only lxd_combined.tar.gz items, Incus only incus_combined.tar.gz items. */
export type UnifiedFtype = 'lxd_combined.tar.gz' | 'incus_combined.tar.gz';

/** A rootfs ftype this program publishes, paired with a metadata tarball. */
export type RootFtype = 'squashfs' | 'root.tar.xz' | 'disk-kvm.img';

/** A rootfs ftype the clients read: the published ones and two older VM ones. */
export type ReadRootFtype = RootFtype | 'uefi1.img' | 'disk1.img';

export type ImageType = 'container' | 'virtual-machine';

/** The two clients, each reading only its own metadata ftype and its own unified tarball. */
export const clients: ReadonlyArray<{name: Client; label: string; meta: MetaFtype; unified: UnifiedFtype}> = [
	{name: 'lxd', label: 'LXD', meta: 'lxd.tar.xz', unified: 'lxd_combined.tar.gz'},
	{name: 'incus', label: 'Incus', meta: 'incus.tar.xz', unified: 'incus_combined.tar.gz'},
];

export const allClients: readonly Client[] = clients.map(c => c.name);
const perClient = <T>(value: (client: typeof clients[number]) => T) => Object.fromEntries(clients.map(c => [c.name, value(c)])) as Record<Client, T>;
export const clientLabel = perClient(c => c.label);
export const metaFtypeOf = perClient(c => c.meta);
export const unifiedFtypeOf = perClient(c => c.unified);
export const isMetaFtype = (ftype: string): ftype is MetaFtype => clients.some(c => c.meta === ftype);
export const isUnifiedFtype = (ftype: string): ftype is UnifiedFtype => clients.some(c => c.unified === ftype);

/**
 * Rootfs ftypes a metadata item pairs with, in the clients' alias preference order (§9), the image
 * type each gives, and the metadata item fields that carry the pairing's fingerprint, in the order
 * the clients read them (`combined_sha256` is the legacy name older clients read for root.tar.xz).
 */
export const rootFtypes: Record<ReadRootFtype, {type: ImageType; fields: ReadonlyArray<`combined_${string}`>}> = {
	squashfs: {type: 'container', fields: ['combined_squashfs_sha256']},
	'root.tar.xz': {type: 'container', fields: ['combined_rootxz_sha256', 'combined_sha256']},
	'disk-kvm.img': {type: 'virtual-machine', fields: ['combined_disk-kvm-img_sha256']},
	'uefi1.img': {type: 'virtual-machine', fields: ['combined_uefi1-img_sha256']},
	'disk1.img': {type: 'virtual-machine', fields: ['combined_disk1-img_sha256']},
};

export const isRootFtype = (ftype: string): ftype is ReadRootFtype => Object.hasOwn(rootFtypes, ftype);

/** Every field of a metadata item that carries a fingerprint. */
export const fingerprintFields = Object.values(rootFtypes).flatMap(root => root.fields);

/** The ftype a unified tarball has, for the ordering of §9. */
export const unifiedRootType = 'tar.gz';

/** The item key official servers use for each ftype this program publishes. */
export const itemKey: Record<MetaFtype | RootFtype, string> = {
	'lxd.tar.xz': 'lxd.tar.xz',
	'incus.tar.xz': 'incus.tar.xz',
	squashfs: 'root.squashfs',
	'root.tar.xz': 'root.tar.xz',
	'disk-kvm.img': 'disk.qcow2',
};

/** A rootfs ftype the clients patch with a delta of ftype `<root>.vcdiff`. */
export type DeltaRoot = Extract<RootFtype, 'squashfs' | 'disk-kvm.img'>;

/** In the order their deltas are made. */
export const deltaRoots: readonly DeltaRoot[] = ['squashfs', 'disk-kvm.img'];

const deltaSuffix = '.vcdiff';

export const deltaFtype = (root: DeltaRoot) => `${root}${deltaSuffix}`;

/** The rootfs ftype a delta ftype patches (whether or not a client uses it), or undefined for an ftype that is no delta. */
export const deltaRootOf = (ftype: string): string | undefined => (ftype.endsWith(deltaSuffix) ? ftype.slice(0, -deltaSuffix.length) : undefined);

export const isDeltaRoot = (ftype: string): ftype is DeltaRoot => (deltaRoots as readonly string[]).includes(ftype);

/** The item keys official servers use: `root.<base>.vcdiff` (lxc-ci), `disk.<base>.qcow2.vcdiff` (lxd-imagebuilder). */
export const deltaItemKey = (root: DeltaRoot, base: string) => (root === 'squashfs' ? `root.${base}${deltaSuffix}` : `disk.${base}.qcow2${deltaSuffix}`);

/** The rootfs ftype whose fingerprint a client looks a delta's base image up by (Incus always reads the squashfs one: its bug, §12). */
export const deltaBaseFtype = (client: Client, root: string): string => (client === 'incus' ? 'squashfs' : root);
