// The change line every run ends with, as the watcher logs it at each regeneration: how many
// versions (`product version`) come and go, the first few named.
import {printable} from '../util/printable.js';

const some = (label: string, versions: readonly string[]) => (versions.length === 0 ? []
	: [`${label}${versions.length} (${versions.slice(0, 3).map(v => printable(v)).join(', ')}${versions.length > 3 ? ', …' : ''})`]);

/** `+1 (debian:bookworm:amd64:default 20250301_00:00), -1 (…)`, or `no version changes`. */
export const changeLine = (added: readonly string[], removed: readonly string[]) =>
	[...some('+', added), ...some('-', removed)].join(', ') || 'no version changes';
