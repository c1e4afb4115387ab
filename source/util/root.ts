// The web root every command works on: checked here and nowhere else, with one message per fault.
import {stat} from 'node:fs/promises';
import {UsageError} from './errors.js';

export async function requireRoot(root: string): Promise<void> {
	const stats = await stat(root).catch(() => undefined);
	if (!stats) {
		throw new UsageError(`root directory ${root} does not exist`);
	}

	if (!stats.isDirectory()) {
		throw new UsageError(`${root} is not a directory`);
	}
}
