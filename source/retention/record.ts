// The retirement record: which versions (and stray files) have left the streams and when their files
// are deleted. It lives in the web root, where every writer of the root sees it (-N, --watch, the
// regeneration after an import, on any account), as a dot-file that the web server refuses to serve.
// It is only written by a process holding the root's lock.
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {writeAtomic} from '../util/atomic-write.js';
import {errorCode, UsageError} from '../util/errors.js';

export const recordName = '.simplestreams-retired.json';

const format = 'simplestreams-retired:1';

/** A file as it was when it retired: it is deleted only if it is still that file. */
export type RetiredFile = {path: string; size: number; ino: string; mtimeNs: string};

export type Retired = {
	/** A version directory, or a file or directory the tool left behind (an orphan). */
	kind: 'version' | 'orphan';
	/** Relative to the web root, under images/. */
	path: string;
	/** `os:release:arch:variant`, for a version. */
	product?: string;
	why: string;
	retiredAt: string;
	/** ISO time after which its files are deleted. */
	deleteAfter: string;
	/** The files deleted then: what the tool published from it, nothing else. */
	files: RetiredFile[];
};

export type RetirementRecord = {format: typeof format; retired: Retired[]};

export const emptyRecord = (): RetirementRecord => ({format, retired: []});

const recordPath = (root: string) => join(root, recordName);

const isString = (value: unknown): value is string => typeof value === 'string';

function validFile(file: unknown): file is RetiredFile {
	const f = file as RetiredFile;
	return typeof f === 'object' && f !== null && isString(f.path) && Number.isSafeInteger(f.size) && isString(f.ino) && isString(f.mtimeNs);
}

function validEntry(entry: unknown): entry is Retired {
	const e = entry as Retired;
	return typeof e === 'object' && e !== null && (e.kind === 'version' || e.kind === 'orphan') && isString(e.path) && e.path.startsWith('images/')
		&& (e.product === undefined || isString(e.product)) && isString(e.why) && isString(e.retiredAt)
		&& !Number.isNaN(Date.parse(e.deleteAfter)) && Array.isArray(e.files) && e.files.every(validFile);
}

/**
 * The record of `root` (empty when there is none). One that cannot be read or understood stops the
 * run: publishing without it would bring retired versions back.
 */
export async function readRecord(root: string): Promise<RetirementRecord> {
	const path = recordPath(root);
	let text: string;
	try {
		text = await readFile(path, 'utf8');
	} catch (error) {
		if (errorCode(error) === 'ENOENT') {
			return emptyRecord();
		}

		throw new UsageError(`cannot read the retirement record ${path} (${errorCode(error)}); nothing published, so that no retired version comes back`);
	}

	let data: unknown;
	try {
		data = JSON.parse(text);
	} catch (error) {
		throw new UsageError(`the retirement record ${path} is not JSON (${(error as Error).message}); fix it or move it away (its versions are then published again)`);
	}

	const record = data as RetirementRecord;
	if (typeof record !== 'object' || record === null || record.format !== format || !Array.isArray(record.retired) || !record.retired.every(validEntry)) {
		throw new UsageError(`the retirement record ${path} is not one this program wrote (format ${format}); fix it or move it away (its versions are then published again)`);
	}

	return record;
}

/** Only with the root's lock held. */
export async function writeRecord(root: string, record: RetirementRecord): Promise<void> {
	await writeAtomic(recordPath(root), `${JSON.stringify(record, undefined, '\t')}\n`);
}
