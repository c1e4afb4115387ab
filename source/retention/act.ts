// Deleting what the plan says is due, in a directory web root. Only with the root's lock held; only
// under images/; only files that are still the ones that retired; anything else in a version
// directory is left, named, with the directory. A file that cannot be deleted is said and kept in
// the record, and the rest is deleted.
import {lstat, readdir, realpath, rmdir, unlink} from 'node:fs/promises';
import {dirname, join, sep} from 'node:path';
import {warning} from '../domain/reasons.js';
import {errorCode} from '../util/errors.js';
import type {Retired, RetiredFile} from './record.js';
import type {RetentionEmit} from './events.js';

/** Whether `path` (relative, from the record) names something strictly inside ROOT/images/. */
async function insideImages(root: string, path: string): Promise<boolean> {
	if (!path.startsWith('images/') || path.split('/').some(part => part === '..' || part === '.' || part === '')) {
		return false;
	}

	try {
		// The directory holding it, links resolved: a link in the way must not lead out of images/.
		const images = await realpath(join(root, 'images'));
		const parent = await realpath(dirname(join(root, path)));
		return parent === images || parent.startsWith(images + sep);
	} catch {
		return false;
	}
}

/** Delete one recorded file; what is still to delete is returned (a failure), else undefined. */
async function deleteFile(root: string, file: RetiredFile, emit: RetentionEmit): Promise<{kept?: RetiredFile; deleted: boolean}> {
	if (!(await insideImages(root, file.path))) {
		emit({type: 'warning', path: file.path, ...warning('retired-outside-images')});
		return {deleted: false};
	}

	const absolute = join(root, file.path);
	try {
		const now = await lstat(absolute, {bigint: true});
		if (now.ino.toString() !== file.ino || Number(now.size) !== file.size || now.mtimeNs.toString() !== file.mtimeNs) {
			emit({type: 'warning', path: file.path, ...warning('retired-changed')});
			return {deleted: false};
		}

		await unlink(absolute);
		return {deleted: true};
	} catch (error) {
		const code = errorCode(error);
		if (code === 'ENOENT') {
			return {deleted: false};
		}

		emit({type: 'warning', path: file.path, ...warning('undeletable', code)});
		return {kept: file, deleted: false};
	}
}

/**
 * Delete an entry's files, then its directory if nothing else is left in it. Returns the entry with
 * the files that could not be deleted, or undefined when it is done with.
 */
export async function deleteRetired(root: string, entry: Retired, emit: RetentionEmit): Promise<Retired | undefined> {
	const kept: RetiredFile[] = [];
	let freed = 0;
	let deleted = 0;
	for (const file of entry.files) {
		const result = await deleteFile(root, file, emit);
		if (result.deleted) {
			freed += file.size;
			deleted++;
		}

		if (result.kept) {
			kept.push(result.kept);
		}
	}

	if (entry.kind === 'version' && await insideImages(root, entry.path)) {
		const directory = join(root, entry.path);
		const left = await readdir(directory).catch(() => undefined);
		if (left && left.length > 0) {
			const others = left.filter(name => !kept.some(file => file.path === `${entry.path}/${name}`));
			if (others.length > 0) {
				emit({type: 'warning', path: entry.path, ...warning('not-published-kept', others.join(', '))});
			}
		} else if (left) {
			await rmdir(directory).catch((error: unknown) => {
				emit({type: 'warning', path: entry.path, ...warning('directory-kept', errorCode(error))});
			});
		}
	}

	emit({type: 'deleted', path: entry.path, files: deleted, bytes: freed});
	return kept.length > 0 ? {...entry, files: kept} : undefined;
}
