// DURATION on the command line (--keep's companions --older-than and --grace): `90s`, `30m`, `6h`,
// `2d`, or a plain number of seconds.
import {UsageError} from '../util/errors.js';

const unitMs = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000} as const;

/** Milliseconds; a UsageError naming the flag for anything else. */
export function parseDuration(flag: string, text: string): number {
	const match = /^(\d+(?:\.\d+)?)([smhd])?$/.exec(text.trim());
	if (!match) {
		throw new UsageError(`${flag} must be a duration such as 90s, 30m, 6h, 2d or a number of seconds, got ${JSON.stringify(text)}`);
	}

	return Number(match[1]) * unitMs[(match[2] ?? 's') as keyof typeof unitMs];
}
