// `simplestreams -i SRC [-N] [rootdir]`: file a freshly built image into the tree. With a terminal
// the wizard settles the fields; without one (or with --yes) metadata.yaml and the flags must.
// Without -N only the plan is printed; with -N the files go in place and the streams are
// regenerated. Exit 0 done, 1 bad input, 2 a field or flag missing or invalid, 130 cancelled.
import {realpath, rm, stat} from 'node:fs/promises';
import {defaultCachePath} from '../cache/digest-cache.js';
import type {Requirements} from '../domain/requirements.js';
import {settleMetadata} from '../import/bare.js';
import {scanProducts} from '../import/destination.js';
import {ImportError} from '../import/errors.js';
import {executeImport} from '../import/execute.js';
import {findImage, type Found} from '../import/find.js';
import {ImportJournal} from '../import/journal.js';
import {commandLine, describePlan, type ImportPlan} from '../import/plan.js';
import {fieldNames, fieldProblem, flagsFor, missingFields, parseRequirement, propose, type Fields} from '../import/propose.js';
import {preparePlan, type PrepareOptions} from '../import/prepare.js';
import type {DeltaOptions} from '../pipeline/delta-options.js';
import {printable} from '../report/printable.js';
import {startImportReporter} from '../report/start.js';
import {keyboard} from '../report/terminal.js';
import {UsageError} from '../util/errors.js';
import {acquireLock, LockHeld, watchCommand} from '../util/lock.js';
import {runGenerate} from './generate.js';
import {Stop} from './stop.js';

export type ImportFlags = {
	source: string;
	root: string;
	write: boolean;
	jobs: number;
	cache?: string;
	plain?: boolean;
	copy: boolean;
	force: boolean;
	yes: boolean;
	fields: Partial<Fields>;
	aliases: string[];
	requirements: string[];
	/** --deltas, for the regeneration that follows. */
	deltas?: DeltaOptions;
};

const say = (text: string) => process.stderr.write(`simplestreams: ${text}\n`);

/** Settle the choices from metadata.yaml and the flags alone; a list of problems when they do not. */
async function unattended(found: Found, flags: ImportFlags, requirements: Requirements, options: PrepareOptions): Promise<ImportPlan | {exit: number; problems: string[]}> {
	const proposed = propose(found, flags.fields);
	const missing = missingFields(proposed);
	if (missing.length > 0) {
		const why = flags.yes ? 'with --yes nothing is asked' : 'there is no terminal to ask';
		const from = found.meta.written ? `the bare image in ${printable(found.dir)}` : printable(found.meta.origin ?? found.meta.name);
		return {exit: 2, problems: [`${missing.join(', ')} cannot be told from ${from} and ${why}: pass ${flagsFor(missing)}`]};
	}

	const fields = proposed as Fields;
	const problems = fieldNames.map(name => fieldProblem(name, fields[name], found)).filter(p => p !== undefined);
	if (problems.length > 0) {
		return {exit: 2, problems};
	}

	const plan = await preparePlan(await settleMetadata(found, fields), {fields, requirements, aliases: flags.aliases}, options);
	return plan.problems.length > 0 ? {exit: 1, problems: plan.problems} : plan;
}

async function place(plan: ImportPlan, flags: ImportFlags, cachePath: string): Promise<number> {
	const reporter = await startImportReporter(plan, {plain: flags.plain});
	// Whatever stops it, everything goes back where it was (execute.ts).
	const stop = new Stop(() => undefined);
	const unlisten = stop.listen();
	try {
		await executeImport(plan, {cachePath, emit: reporter.emit, signal: stop.signal});
	} catch (error) {
		if (stop.signal.aborted) {
			await reporter.finish();
			say('cancelled: nothing was changed');
			return stop.code;
		}

		throw error;
	} finally {
		unlisten();
	}

	await reporter.finish();
	try {
		return await runGenerate({root: plan.root, write: true, jobs: flags.jobs, cache: cachePath, plain: flags.plain, deltas: flags.deltas});
	} catch (error) {
		// A watcher on the root publishes what lands in it: that is what it is for.
		if (error instanceof LockHeld && error.holder.command === watchCommand) {
			say(`${plan.destination} is imported; the watcher on ${plan.root} (pid ${error.holder.pid}) publishes it once it has settled`);
			return 0;
		}

		if (error instanceof UsageError) {
			say(`${plan.destination} is imported, but the streams were not regenerated: ${error.message}`);
			return 1;
		}

		throw error;
	}
}

/**
 * Finish or undo the imports into this root that were killed (their files may be what SRC now
 * lacks). Done under the root's lock; while another simplestreams writes the root, that one does it.
 */
async function recoverImports(root: string): Promise<void> {
	const lock = await acquireLock(root, 'simplestreams -i').catch(() => undefined);
	try {
		for (const {path, message} of lock ? await ImportJournal.recover(root) : []) {
			say(`${path}: ${message}`);
		}
	} finally {
		await lock?.release();
	}
}

export async function runImport(flags: ImportFlags): Promise<number> {
	let found: Found | undefined;
	try {
		const root = await realpath(flags.root).catch(() => {
			throw new ImportError(`root directory ${flags.root} does not exist`);
		});
		if (!(await stat(root)).isDirectory()) {
			throw new ImportError(`${root} is not a directory`);
		}

		const requirements: Requirements = {};
		for (const text of flags.requirements) {
			const parsed = parseRequirement(text);
			if ('problem' in parsed) {
				say(parsed.problem);
				return 2;
			}

			requirements[parsed.key] = parsed.value;
		}

		if (flags.write) {
			await recoverImports(root);
		}

		const image = await findImage(flags.source, {scratchIn: root});
		found = image;
		const products = await scanProducts(root);
		const options: PrepareOptions = {root, products, copy: flags.copy, force: flags.force};
		let plan: ImportPlan | undefined;
		// The wizard needs keys (useInput takes raw mode on stdin).
		if (keyboard() && !flags.yes) {
			const {runWizard} = await import('../import/wizard/run.js');
			plan = await runWizard({
				context: {found: image, products},
				given: {fields: propose(image, flags.fields), requirements, aliases: flags.aliases},
				root,
				write: flags.write,
				prepare: async choices => preparePlan(await settleMetadata(image, choices.fields), choices, options),
			});
			if (!plan) {
				say('cancelled: nothing was changed');
				return 130;
			}
		} else {
			const settled = await unattended(image, flags, requirements, options);
			if (!('files' in settled)) {
				for (const problem of settled.problems) {
					say(problem);
				}

				return settled.exit;
			}

			plan = settled;
		}

		if (!flags.write) {
			process.stdout.write(`${describePlan(plan).join('\n')}\ndry run: nothing was changed. To import:\n  ${commandLine(plan, flags)}\n`);
			return 0;
		}

		return await place(plan, flags, flags.cache ?? defaultCachePath(root));
	} catch (error) {
		if (error instanceof ImportError) {
			say(error.message);
			return 1;
		}

		throw error;
	} finally {
		// What was split or written for the import: moved into place by now, or not wanted.
		if (found?.scratch) {
			await rm(found.scratch, {recursive: true, force: true});
		}
	}
}
