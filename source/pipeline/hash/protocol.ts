// What the main thread and a hash worker say to each other.
import type {FileIdentity} from '../../domain/file.js';
import type {ReasonCode} from '../../domain/reasons.js';

export type DigestSource = {absolute: string; identity: FileIdentity};

export type DigestRequest = {
	/** Per-task byte counters the main thread polls: progress costs no messages. */
	progress: SharedArrayBuffer;
	slot: number;
	file: DigestSource;
	/** The metadata file whose bytes come first in the combined digest. */
	prefix?: DigestSource;
	wantFile: boolean;
	wantCombined: boolean;
};

export type DigestResponse =
	| {ok: true; sha256?: string; combined?: string; milliseconds: number}
	| {ok: false; code: ReasonCode; reason: string};
