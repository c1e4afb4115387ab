// An import's journal: each change an import makes to the web root or to SRC is written down before
// it is made, in ROOT/.simplestreams.import-TAG.json (a dot-name: never served, never scanned). An
// import that fails puts things back from it; one that was killed is finished or put back by the
// next run that writes the root (-N, --watch, -i -N), once the import's process is gone: rolled back
// while the version was still being assembled, rolled forward once it was whole.
import {randomBytes} from 'node:crypto';
import {lstat, mkdir, realpath, rename, rm, rmdir, unlink} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {writeAtomic} from '../util/atomic-write.js';
import {ownerGone, running} from '../util/owner.js';
import {readBoundedFile} from '../util/small-file.js';
import {journalNames, journalPrefix} from './journals.js';

type State = {
	pid: number;
	/** When the import began (epoch ms): a process with its pid that started later is another one. */
	since: number;
	/** The version directory, relative to the root. */
	destination: string;
	/** Relative to the root: where the version is assembled, and where --force puts the old one aside. */
	staging: string;
	old?: string;
	/** The outermost directory the import made (relative to the root), removed again on the way back. */
	created?: string;
	/** Files moved out of SRC (absolute) into the staging directory under `name`. */
	moved: Array<{from: string; name: string}>;
	/** The product's dot-files as they were before the import wrote them (no text: there was none). */
	restore: Array<{path: string; text?: string}>;
	/** Copied files of SRC to remove once the version is in place (not --copy). */
	removeSources: string[];
	/** `whole`: every file is in, checked; from here the import is finished rather than undone. */
	phase: 'assembling' | 'whole';
};

/** The dot-files' old texts are in it, each at most a MiB. */
const maxJournalBytes = 4 * 1024 * 1024;

const exists = async (path: string) => lstat(path).then(() => true, () => false);

export class ImportJournal {
	static async begin(root: string, fields: Omit<State, 'pid' | 'since' | 'moved' | 'restore' | 'removeSources' | 'phase'>): Promise<ImportJournal> {
		const journal = new ImportJournal(root, join(root, `${journalPrefix}${process.pid}-${randomBytes(4).toString('hex')}.json`), {
			pid: process.pid, since: Date.now(), moved: [], restore: [], removeSources: [], phase: 'assembling', ...fields,
		});
		await journal.save();
		return journal;
	}

	private constructor(readonly root: string, readonly path: string, readonly state: State) {}

	/** Write down a change before it is made. */
	async note(change: (state: State) => void): Promise<void> {
		change(this.state);
		await this.save();
	}

	/**
	 * Put everything back: moved files return to SRC, the staging directory and the directories the
	 * import made go, the dot-files get their old text. Each step checks what is there, so it can
	 * follow a kill at any point. Returns what could not be put back.
	 */
	async rollBack(): Promise<string[]> {
		const {moved, restore, created} = this.state;
		const staging = join(this.root, this.state.staging);
		const stranded: string[] = [];
		for (const {from, name} of [...moved].reverse()) {
			const staged = join(staging, name);
			if (!(await exists(staged))) {
				continue; // Never moved, or already back.
			}

			if (await exists(from)) {
				stranded.push(`${from} exists again, so ${staged} stays where it is`);
				continue;
			}

			await mkdir(dirname(from), {recursive: true});
			await rename(staged, from);
		}

		if (stranded.length === 0) {
			await rm(staging, {recursive: true, force: true});
		}

		for (const {path, text} of [...restore].reverse()) {
			await (text === undefined ? rm(join(this.root, path), {force: true}) : writeAtomic(join(this.root, path), text));
		}

		// Deepest first, as long as nothing else has appeared in them.
		const variant = dirname(join(this.root, this.state.destination));
		for (let dir = variant; created && dir.length >= join(this.root, created).length; dir = dirname(dir)) {
			await rmdir(dir).catch(() => undefined);
		}

		return stranded;
	}

	/**
	 * Finish a whole version's import: it goes in place (the old one aside first with --force), the
	 * old one and the copied sources are removed. Returns false when the place was taken by another
	 * version meanwhile (the import is then rolled back instead).
	 */
	async rollForward(): Promise<boolean> {
		const staging = join(this.root, this.state.staging);
		const final = join(this.root, this.state.destination);
		const old = this.state.old === undefined ? undefined : join(this.root, this.state.old);
		if (await exists(staging)) {
			if (await exists(final)) {
				if (!old || (await exists(old))) {
					return false;
				}

				await rename(final, old);
			}

			await rename(staging, final);
		}

		if (old) {
			await rm(old, {recursive: true, force: true});
		}

		for (const source of this.state.removeSources) {
			await rm(source, {force: true});
		}

		return true;
	}

	async end(): Promise<void> {
		await unlink(this.path).catch(() => undefined);
	}

	private async save(): Promise<void> {
		await writeAtomic(this.path, JSON.stringify(this.state) + '\n', 0o600);
	}

	/**
	 * Finish or undo every import of `root` whose process is gone; says for each version what was
	 * done. The caller holds the root's lock, so no two runs recover the same one.
	 */
	static async recover(root: string): Promise<Array<{path: string; message: string}>> {
		const said: Array<{path: string; message: string}> = [];
		const rootReal = await realpath(root);
		for (const name of await journalNames(root)) {
			const path = join(root, name);
			let state: State;
			try {
				state = JSON.parse((await readBoundedFile(path, {root: rootReal, limit: maxJournalBytes})).toString('utf8')) as State;
			} catch {
				continue;
			}

			const gone = ownerGone(state.pid, state.since, running(state.pid));
			if (!gone || typeof state.destination !== 'string' || !Array.isArray(state.moved)) {
				continue;
			}

			const journal = new ImportJournal(root, path, state);
			if (state.phase === 'whole' && await journal.rollForward()) {
				said.push({path: state.destination, message: `its import was killed as it put the version in place (${gone}): finished it, the version is in place${state.old ? ' and the one it replaced removed' : ''}`});
			} else {
				const stranded = await journal.rollBack();
				const back = state.moved.length > 0 ? `; ${state.moved.map(m => m.from).join(', ')} moved back` : '';
				said.push({path: state.destination, message: `its import was killed before the version was whole (${gone}): rolled it back${back}${stranded.length > 0 ? `; but ${stranded.join('; ')}` : ''}`});
			}

			await journal.end();
		}

		return said;
	}
}
