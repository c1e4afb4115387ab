// What a retired version's deletion will take, read from the directory (never written): the files the
// tool published from it (image files by their names, delta files), and the delta files of other
// versions made from it, which no client can use once it is gone.
import {lstatSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {roleOf} from '../domain/ftypes.js';
import type {ScannedProduct} from '../domain/tree.js';
import type {RetiredFile} from './record.js';

/** `delta-BASE.vcdiff` (squashfs) and `delta-BASE.qcow2.vcdiff` (VM disk), as delta.ts names them. */
export const deltaName = /^delta-(.+?)(\.qcow2)?\.vcdiff$/;

const published = (name: string) => roleOf(name) !== undefined || deltaName.test(name);

/** The file at `path` as it is now: deleted later only if it is still this one. */
export function fileAt(root: string, path: string): RetiredFile | undefined {
	try {
		const stats = lstatSync(join(root, path), {bigint: true});
		return stats.isFile() || stats.isSymbolicLink() ? {path, size: Number(stats.size), ino: stats.ino.toString(), mtimeNs: stats.mtimeNs.toString()} : undefined;
	} catch {
		return undefined;
	}
}

export function versionFiles(root: string, product: ScannedProduct, versionPath: string): RetiredFile[] {
	let names: string[];
	try {
		names = readdirSync(join(root, versionPath)).sort();
	} catch {
		names = [];
	}

	const own = names.filter(name => published(name)).map(name => fileAt(root, `${versionPath}/${name}`));
	const name = versionPath.slice(versionPath.lastIndexOf('/') + 1);
	const dependent = product.versions.filter(v => v.path !== versionPath)
		.flatMap(v => [`${v.path}/delta-${name}.vcdiff`, `${v.path}/delta-${name}.qcow2.vcdiff`].map(path => fileAt(root, path)));
	return [...own, ...dependent].filter(file => file !== undefined);
}
