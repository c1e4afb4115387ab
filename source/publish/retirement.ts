// Retention in the bucket, carried out (the rules: retention/bucket.ts). The bucket's record is read
// before anything is sent (one that cannot be understood stops the send, as on disk); once the new
// streams are up it is written, then what is past its grace is deleted, then it is written again
// without what went: a run killed between the two leaves everything it was deleting recorded.
import {createHash} from 'node:crypto';
import {emptyBucketRecord, planBucketRetention, retiredBy, validBucketRecord, type BucketPlan, type BucketRecord, type BucketRetired, type KnownRetirement, type RetiredObject} from '../retention/bucket.js';
import {recordName} from '../retention/record.js';
import {mapLimit} from '../util/map-limit.js';
import type {Bucket} from './bucket.js';
import {BucketError} from './client.js';
import type {PublishEmit} from './events.js';
import {locationText} from './location.js';

const headConcurrency = 8;

const bytesOf = (objects: ReadonlyArray<{size: number}>) => objects.reduce((sum, object) => sum + object.size, 0);

export async function readBucketRecord(bucket: Bucket): Promise<BucketRecord> {
	const existing = await bucket.read(recordName);
	if (!existing) {
		return emptyBucketRecord();
	}

	let data: unknown;
	try {
		data = JSON.parse(existing.text);
	} catch {}

	if (!validBucketRecord(data)) {
		throw new BucketError('InvalidRecord', `the retirement record ${locationText(bucket.location, recordName)} is not one this program wrote: nothing sent; fix it, or delete it (the objects it names are then left in place)`);
	}

	return data;
}

/** The plan of this send, told: `listed` is what the bucket holds under images/, `named` what the new streams name. */
export async function planInBucket(bucket: Bucket, input: {record: BucketRecord; known: readonly KnownRetirement[]; listed: ReadonlyMap<string, number>; named: ReadonlySet<string>}, emit: PublishEmit): Promise<BucketPlan> {
	const {record, known, listed, named} = input;
	const unreferenced = new Map([...listed].filter(([path]) => !named.has(path)));
	const recorded = new Set(record.retired.flatMap(entry => entry.objects.map(object => object.path)));
	// Only an object a retirement names is asked whether simplestreams uploaded it.
	const asked = [...unreferenced].filter(([path, size]) => !recorded.has(path) && known.some(entry => retiredBy(entry, path, size)));
	const uploaded = new Map<string, string>();
	await mapLimit(asked, headConcurrency, async ([path]) => {
		const sha256 = (await bucket.head(path))?.sha256;
		if (sha256 !== undefined) {
			uploaded.set(path, sha256);
		}
	});
	const plan = planBucketRetention({record, known, unreferenced, uploaded, named, now: Date.now()});
	const key = (path: string) => locationText(bucket.location, path);
	for (const object of plan.restored) {
		emit({type: 'bucket-restored', key: key(object.path)});
	}

	for (const entry of plan.retire) {
		emit({type: 'bucket-retired', key: key(entry.path), objects: entry.objects.length, bytes: bytesOf(entry.objects), deleteAfter: entry.deleteAfter});
	}

	for (const entry of plan.later.filter(entry => !plan.retire.includes(entry))) {
		emit({type: 'bucket-retirement-pending', key: key(entry.path), objects: entry.objects.length, bytes: bytesOf(entry.objects), deleteAfter: entry.deleteAfter});
	}

	if (plan.left.length > 0) {
		emit({type: 'unreferenced', objects: plan.left.length, bytes: bytesOf(plan.left), examples: plan.left.slice(0, 3).map(object => key(object.path))});
	}

	return plan;
}

/** Whether the object is still the one that retired (gone: nothing to do; changed: kept and said). */
async function stillRetired(bucket: Bucket, object: RetiredObject, listed: ReadonlyMap<string, number>): Promise<'gone' | 'same' | 'changed'> {
	if (!listed.has(object.path)) {
		return 'gone';
	}

	const now = await bucket.head(object.path);
	return !now ? 'gone' : now.size === object.size && now.sha256 === object.sha256 ? 'same' : 'changed';
}

const writeRecord = async (bucket: Bucket, retired: BucketRetired[]) => {
	const text = `${JSON.stringify({...emptyBucketRecord(), retired}, undefined, '\t')}\n`;
	await bucket.putStream(recordName, text, createHash('sha256').update(text).digest('hex'), 'application/json');
};

/**
 * Only with the bucket's lock held and the new streams up (`dryRun`: say what would be deleted, the
 * same objects). Returns what was deleted.
 */
export async function deleteDue(bucket: Bucket, plan: BucketPlan, listed: ReadonlyMap<string, number>, dryRun: boolean, emit: PublishEmit): Promise<{objects: number; bytes: number}> {
	if (!dryRun && plan.changed) {
		await writeRecord(bucket, [...plan.later, ...plan.due]);
	}

	const deleted: RetiredObject[] = [];
	const failed: BucketRetired[] = [];
	for (const entry of plan.due) {
		const kept: RetiredObject[] = [];
		for (const object of entry.objects) {
			const key = locationText(bucket.location, object.path);
			const state = await stillRetired(bucket, object, listed);
			if (state === 'changed') {
				emit({type: 'object-kept', key, reason: 'it changed since it retired (another size or sha256): left in place'});
				continue;
			}

			if (state === 'same') {
				try {
					if (!dryRun) {
						await bucket.delete(object.path);
					}

					deleted.push(object);
					emit({type: 'object-deleted', key, size: object.size});
				} catch (error) {
					// Said, kept in the record and tried again at the next run; the rest go.
					kept.push(object);
					emit({type: 'object-kept', key, reason: (error as Error).message});
				}
			}
		}

		if (kept.length > 0) {
			failed.push({...entry, objects: kept});
		}
	}

	if (!dryRun && plan.due.length > 0) {
		await writeRecord(bucket, [...plan.later, ...failed]);
	}

	return {objects: deleted.length, bytes: bytesOf(deleted)};
}
