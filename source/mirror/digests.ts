// A placed version's digests are known already: each file's sha256 was checked as it arrived, and
// each combined fingerprint computed from the files before they were placed. Told to the digest
// cache, the publish after the mirror reads none of them again, as it would a tree it hashed itself.
import {stat} from 'node:fs/promises';
import {join} from 'node:path';
import type {DigestCache} from '../cache/digest-cache.js';
import {identityOf} from '../domain/file.js';
import {inspectContent} from '../domain/magic.js';
import {contentPair} from '../domain/tree.js';
import type {MirrorVersion} from './plan.js';

/** Record the files of `version`, now at `version.dir` under `root`, and its fingerprints. */
export async function rememberDigests(cache: DigestCache, root: string, version: MirrorVersion): Promise<void> {
	const sha256 = new Map(version.files.map(file => [file.name, file.sha256]));
	for (const file of version.files) {
		const path = `${version.dir}/${file.name}`;
		// Taken after the rename (which changes a file's ctime): the entry holds while the file stays as placed.
		const stats = await stat(join(root, path));
		if (stats.isFile() && stats.size === file.size) {
			cache.record(path, identityOf(stats), {...await inspectContent(join(root, path)), sha256: file.sha256});
		}
	}

	for (const {meta, root: rootfs, fingerprint} of version.pairings) {
		cache.recordCombined(contentPair(sha256.get(meta)!, sha256.get(rootfs)!), fingerprint);
	}
}
