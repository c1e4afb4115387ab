// Stage 5: publish the streams. images.json goes first, then index.json, each replaced atomically;
// a file whose bytes would not change is left alone (same bytes, same mtime).
import {mkdir, readFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {writeAtomic} from '../util/atomic-write.js';
import type {Emit} from './events.js';

export type StreamFile = {path: string; text: string};

async function same(path: string, text: string): Promise<boolean> {
	try {
		return (await readFile(path, 'utf8')) === text;
	} catch {
		return false;
	}
}

export async function writeStreams(root: string, files: readonly StreamFile[], emit: Emit): Promise<void> {
	for (const file of files) {
		const absolute = join(root, file.path);
		if (await same(absolute, file.text)) {
			emit({type: 'written', path: file.path, changed: false});
			continue;
		}

		await mkdir(dirname(absolute), {recursive: true});
		await writeAtomic(absolute, file.text);
		emit({type: 'written', path: file.path, changed: true});
	}
}
