// Why something is left out or worth a look: every skip, warning and delta left out carries one of
// these codes, with its text made here. Front ends key on the code (the live tree's short labels,
// a log shipper's filters); the text is for people and may be reworded freely.

/** The text of each code, from the details its emit site knows. */
const texts = {
	// A file, version, product or directory left out.
	'link-outside-root': (target: string) => `symbolic link to ${target}, outside the web root`,
	'broken-link': (code: string) => `broken symbolic link (${code})`,
	'unreadable-directory': (code: string) => `cannot read directory (${code})`,
	'unreadable': (code: string) => `cannot be read (${code})`,
	'unstatable': (code: string) => `cannot stat (${code})`,
	'not-a-file': () => 'not a regular file',
	'role-taken': (kept: string, ftype: string) => `${kept} already serves as ${ftype}`,
	'requirements-unusable': (why: string) => `its requirements are unusable: ${why}`,
	'uploading': () => 'upload in progress (name starts with a dot)',
	/** A name the clients would escape differently or hide: `problem` says how (domain/naming.ts). */
	'bad-name': (problem: string, level?: string) => (level ? `${level} ${problem}` : problem),
	'bad-arch': (problem: string) => `arch ${problem}`,
	/** What the file's own header says is wrong with it (domain/magic.ts, as the digest cache keeps it). */
	'damaged': (problem: string) => problem,
	'wrong-content': (content: string, expected: string) => `content is ${content === 'unknown' ? 'not recognised' : content}; expected ${expected}`,
	'hash-failed': (message: string) => message,
	'changed': () => 'changed while it was being hashed',
	'metadata-changed': () => 'its metadata changed while it was being hashed',
	'no-rootfs': () => 'metadata but no usable rootfs (root.squashfs, root.tar.xz or disk.qcow2)',
	'no-metadata': () => 'a rootfs but no usable metadata (lxd.tar.xz or incus.tar.xz)',
	'no-image-files': () => 'no usable image files',
	'duplicate-fingerprint': (client: string, fingerprint: string, owner: string) => `${client} would see fingerprint ${fingerprint.slice(0, 12)} twice: it is already published by ${owner}`,
	'no-image-published': () => 'no image of it could be published (see the files above)',
	'no-publishable-version': () => 'no publishable version',
	// Worth a look; nothing is left out for it (or only the file named).
	'requirements-broken': (problem: string) => problem,
	'requirements-misplaced': () => 'requirements apply to whole products: put this file in the variant directory or above; ignored',
	'alias-line': (problem: string) => problem,
	'aliases-unreadable': (why: string) => `${why}; no extra aliases`,
	'alias-taken': (alias: string, owner: string, arch: string) => `alias "${alias}" already belongs to ${owner} for ${arch}; left out`,
	'version-order': (problem: string) => problem,
	/** What was done about an import that was killed (import/journal.ts). */
	'import-recovered': (what: string) => what,
	/** An import whose version is in place, with something after it that failed. */
	'import-untidy': (what: string, code: string) => `imported, but ${what} (${code})`,
	'import-digests-not-cached': (code: string, next: string) => `the digests were not cached (${code}); ${next} hashes the files again`,
	/** The watcher reached the kernel's limit on inotify watches (watch/directories.ts). */
	'watch-limit': (watched: number, limit: string, rescanSeconds: number) => `the inotify watch limit is reached (fs.inotify.max_user_watches = ${limit}): `
		+ `${watched} directories are watched, the others only looked at by a full rescan every ${rescanSeconds} s; raise it `
		+ '(sysctl fs.inotify.max_user_watches=1048576, or a file in /etc/sysctl.d/) and the watcher watches them all at its next rescan',
	'images-not-directory': () => 'is not a directory',
	'images-outside-root': (target: string) => `is a symbolic link to ${target}, outside the web root`,
	'images-missing': () => 'does not exist',
	'images-unreadable': (code: string) => `cannot be read (${code})`,
	'cache-unreadable': (code: string) => `digest cache cannot be read (${code}); hashing everything`,
	'cache-ignored': (why: string) => `digest cache ignored: ${why}; hashing everything`,
	'cache-entries-dropped': (count: number) => `digest cache: ${count} malformed entries ignored; those files are hashed again`,
	'cache-not-saved': (code: string) => `digest cache not saved (${code})`,
	'page-not-ours': (why: string) => `${why}: left alone, and no page of the images is written; move it away to have one`,
	'xdelta3-missing': () => 'xdelta3 is not installed, so the streams are published without deltas; install it '
		+ '(Debian/Ubuntu: apt-get install xdelta3, Fedora: dnf install xdelta, Alpine: apk add xdelta3) and run again',
	'delta-leftover': (why: string, size: string) => `not published: ${why}; -N retires it (${size}, deleted after the grace)`,
	// Deleting a retired version's files (retention/act.ts): the file or directory named is left.
	'retired-outside-images': () => 'not deleted: outside images/',
	'retired-changed': () => 'not deleted: it changed after it was retired; left in place',
	'undeletable': (code: string) => `cannot delete (${code}); left in place, tried again at the next run`,
	'not-published-kept': (names: string) => `kept with what simplestreams did not publish from it: ${names}`,
	'directory-kept': (code: string) => `empty, but cannot be removed (${code})`,
	// Upstream's items, versions and products a mirror leaves out (mirror/plan.ts).
	'item-unusable': () => 'the item has no usable sha256, size or path',
	'item-repeated': (ftype: string) => `a second ${ftype} item in the version: only the first is mirrored`,
	'delta-not-mirrored': () => 'a delta: not mirrored (publish your own with --deltas)',
	'unified-vm': () => 'a unified virtual-machine image: LXD cannot express one, and it is not mirrored',
	'ftype-not-mirrored': (ftype: string) => `ftype "${ftype}" is not mirrored`,
	'no-metadata-item': () => 'no metadata item (lxd.tar.xz or incus.tar.xz) to pair a rootfs with',
	'no-rootfs-item': () => 'no rootfs item to pair its metadata with',
	/** An architecture a client lacks (domain/architectures.ts says which). */
	'arch-unpublishable': (problem: string) => problem,
	'product-taken': (other: string, dir: string) => `the product ${other} is mirrored into ${dir} already`,
	// A delta not published.
	'base-settling': (base: string) => `its base ${base} is still settling`,
	'delta-too-large': (percent: number, limit: number) => `not worth it: ${percent}% of the full file (the limit is ${limit}%)`,
	'delta-dry-run': () => 'would be made with -N (a dry run writes nothing)',
	'xdelta3-failed': (why: string) => `xdelta3 failed (${why})`,
	'delta-unmade': (code: string) => `cannot be made (${code})`,
	/** The delta does not give back its rootfs (delta.ts and verify say how). */
	'delta-wrong': (why: string) => why,
} satisfies Record<string, (...details: never[]) => string>;

export type ReasonCode = keyof typeof texts;

type Details<C extends ReasonCode> = Parameters<(typeof texts)[C]>;

const text = <C extends ReasonCode>(code: C, details: Details<C>) => (texts[code] as (...all: Details<C>) => string)(...details);

/** A skip's code and reason. */
export const because = <C extends ReasonCode>(code: C, ...details: Details<C>) => ({code, reason: text(code, details)});

/** A warning's code and message. */
export const warning = <C extends ReasonCode>(code: C, ...details: Details<C>) => ({code, message: text(code, details)});

export const isReasonCode = (code: unknown): code is ReasonCode => typeof code === 'string' && Object.hasOwn(texts, code);
