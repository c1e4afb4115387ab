// Whose event a reporter has in hand: one sink carries the pipeline's events with a bucket publish's
// or a mirror's beside them. Each list names every type of its stage's union and no other (the
// compiler checks both ways), so a new event is routed as soon as it is typed.
import type {MirrorEvent} from '../mirror/events.js';
import type {PublishEvent} from '../publish/events.js';

const guard = <E extends {type: string}>(types: Record<E['type'], true>) => (event: {type: string}): event is E => Object.hasOwn(types, event.type);

export const isPublishEvent = guard<PublishEvent>({
	'bucket-read': true, 'upload-planned': true, 'upload-progress': true, uploaded: true, 'upload-aborted': true, 'lock-taken-over': true, 'stream-published': true,
	unreferenced: true, 'bucket-retired': true, 'bucket-retirement-pending': true, 'bucket-restored': true, 'object-deleted': true, 'object-kept': true, published: true,
});

export const isMirrorEvent = guard<MirrorEvent>({
	'upstream-read': true, 'mirror-skipped': true, fetching: true, 'download-started': true, 'download-progress': true, downloaded: true, 'download-failed': true,
	'version-placed': true, 'version-refused': true, 'pass-failed': true, 'pass-finished': true,
});
