// One publisher per bucket prefix: PREFIX/.simplestreams.lock, created only if absent (a conditional
// PUT, If-None-Match: *), so of two publishers exactly one gets it. A stale lock (the local lock's
// rule, lockStaleness) is taken over by an overwrite conditional on its ETag, so of two newcomers
// only one takes it.
import {hostname} from 'node:os';
import {UsageError} from '../util/errors.js';
import {LockHeld, lockName, lockStaleness, type Holder} from '../util/lock.js';
import {ownStart, running} from '../util/owner.js';
import type {Bucket} from './bucket.js';
import type {PublishEmit} from './events.js';
import {locationText} from './location.js';

export type BucketLock = {release(): Promise<void>};

const parse = (text: string): Holder | undefined => {
	try {
		const holder = JSON.parse(text) as Partial<Holder>;
		return Number.isSafeInteger(holder.pid) && typeof holder.host === 'string' ? holder as Holder : undefined;
	} catch {
		return undefined;
	}
};

export async function lockBucket(bucket: Bucket, command: string, emit: PublishEmit): Promise<BucketLock> {
	const host = hostname();
	const started = ownStart();
	const text = `${JSON.stringify({pid: process.pid, host, since: new Date().toISOString(), command, ...(started === undefined ? {} : {started})} satisfies Holder)}\n`;
	const held: BucketLock = {
		async release() {
			// Only this run's lock: the store does not honour conditions on DELETE.
			if ((await bucket.read(lockName))?.text === text) {
				await bucket.delete(lockName);
			}
		},
	};
	for (let attempt = 0; attempt < 5; attempt++) {
		if (await bucket.putConditional(lockName, text)) {
			return held;
		}

		const existing = await bucket.read(lockName);
		if (!existing) {
			continue; // Released meanwhile.
		}

		const holder = parse(existing.text);
		const stale = lockStaleness(holder, existing.ageMs, host, holder?.host === host ? running(holder.pid) : undefined);
		if (!stale) {
			if (holder) {
				throw new LockHeld(locationText(bucket.location), locationText(bucket.location, lockName), holder);
			}

			// Being written right now, or left unwritten: past a grace time it is stale.
			await new Promise(resolve => setTimeout(resolve, 1000));
			continue;
		}

		if (await bucket.putConditional(lockName, text, existing.etag)) {
			emit({type: 'lock-taken-over', key: locationText(bucket.location, lockName), reason: stale});
			return held;
		}
	}

	throw new UsageError(`cannot take the lock ${locationText(bucket.location, lockName)}; delete it if no simplestreams publishes to ${locationText(bucket.location)}`);
}
