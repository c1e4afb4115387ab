// Retention in a bucket (pure): the bucket's own record of what retired there, and the plan of a
// send. An object joins it only when the operator retired it here (it is a file of an entry of the
// root's retirement record, or of what a dry run would retire) and simplestreams uploaded it (its
// sha256 is in its metadata); anything else the streams do not name is left. Its grace starts when
// the bucket's streams stop naming it (a client may hold the bucket's index from just before), and
// is never shorter than the root's: the sooner of the two never deletes what a cached index names.
export const bucketRecordFormat = 'simplestreams-bucket-retired:1';

/** An object as it was when it retired: deleted later only if it is still this one. */
export type RetiredObject = {path: string; size: number; sha256: string};

export type BucketRetired = {
	/** The retired version's (or stray file's) path, relative to the prefix, as in the root's record. */
	path: string;
	why: string;
	/** When the bucket's streams stopped naming it. */
	retiredAt: string;
	deleteAfter: string;
	objects: RetiredObject[];
};

export type BucketRecord = {format: typeof bucketRecordFormat; retired: BucketRetired[]};

export const emptyBucketRecord = (): BucketRecord => ({format: bucketRecordFormat, retired: []});

/**
 * A retirement the root knows of: an entry of its record (`files` exact), or one a dry run would
 * make (`files` undefined: the objects under `path`).
 */
export type KnownRetirement = {path: string; why: string; retiredAt: string; deleteAfter: string; files?: ReadonlyArray<{path: string; size: number}>};

export type BucketPlan = {
	/** Joined the record now. */
	retire: BucketRetired[];
	/** Named by the streams again: out of the record, kept. */
	restored: RetiredObject[];
	/** Past their grace: deleted once the streams are up. */
	due: BucketRetired[];
	/** Waiting for their grace (those retired now included). */
	later: BucketRetired[];
	/** Objects the streams do not name that nobody retired here: left in place. */
	left: Array<{path: string; size: number}>;
	/** Whether the record changes before anything is deleted (retired, restored, grown). */
	changed: boolean;
};

const isString = (value: unknown): value is string => typeof value === 'string';

export function validBucketRecord(data: unknown): data is BucketRecord {
	const record = data as BucketRecord;
	return typeof record === 'object' && record !== null && record.format === bucketRecordFormat && Array.isArray(record.retired)
		&& record.retired.every(entry => typeof entry === 'object' && entry !== null && isString(entry.path) && isString(entry.why) && isString(entry.retiredAt)
			&& !Number.isNaN(Date.parse(entry.deleteAfter)) && Array.isArray(entry.objects)
			&& entry.objects.every(object => typeof object === 'object' && object !== null && isString(object.path) && object.path.startsWith('images/') && Number.isSafeInteger(object.size) && isString(object.sha256)));
}

/** Whether the object at `path` is one of the files `known` retired. */
export function retiredBy(known: KnownRetirement, path: string, size: number): boolean {
	return known.files ? known.files.some(file => file.path === path && file.size === size) : path === known.path || path.startsWith(`${known.path}/`);
}

/**
 * `unreferenced`: the objects under images/ the new streams do not name, with their size;
 * `uploaded`: the sha256 simplestreams recorded in those that have one; `named`: what the streams name.
 */
export function planBucketRetention(input: {
	record: BucketRecord;
	known: readonly KnownRetirement[];
	unreferenced: ReadonlyMap<string, number>;
	uploaded: ReadonlyMap<string, string>;
	named: ReadonlySet<string>;
	now: number;
}): BucketPlan {
	const {record, known, unreferenced, uploaded, named, now} = input;
	const restored: RetiredObject[] = [];
	const entries = new Map<string, BucketRetired>();
	for (const entry of record.retired) {
		const kept = entry.objects.filter(object => !named.has(object.path));
		restored.push(...entry.objects.filter(object => named.has(object.path)));
		if (kept.length > 0) {
			entries.set(entry.path, {...entry, objects: kept});
		}
	}

	const recorded = new Set([...entries.values()].flatMap(entry => entry.objects.map(object => object.path)));
	const retire = new Map<string, BucketRetired>();
	const left: Array<{path: string; size: number}> = [];
	for (const [path, size] of unreferenced) {
		if (recorded.has(path)) {
			continue;
		}

		const by = known.find(entry => retiredBy(entry, path, size));
		const sha256 = uploaded.get(path);
		if (!by || sha256 === undefined) {
			left.push({path, size});
			continue;
		}

		const object = {path, size, sha256};
		const existing = entries.get(by.path);
		if (existing) {
			entries.set(by.path, {...existing, objects: [...existing.objects, object]});
			continue;
		}

		const graceMs = Math.max(0, Date.parse(by.deleteAfter) - Date.parse(by.retiredAt));
		const deleteAfter = new Date(Math.max(Date.parse(by.deleteAfter), now + graceMs)).toISOString();
		const entry = retire.get(by.path) ?? {path: by.path, why: by.why, retiredAt: new Date(now).toISOString(), deleteAfter, objects: []};
		entry.objects.push(object);
		retire.set(by.path, entry);
	}

	const all = [...entries.values(), ...retire.values()];
	const due = (entry: BucketRetired) => Date.parse(entry.deleteAfter) <= now;
	return {
		retire: [...retire.values()],
		restored,
		due: all.filter(due),
		later: all.filter(entry => !due(entry)),
		left,
		changed: retire.size > 0 || record.retired.some(entry => entries.get(entry.path)?.objects.length !== entry.objects.length),
	};
}
