// `simplestreams -i SRC [-N] [rootdir]`: file a freshly built image into the tree. With a terminal
// the wizard settles the fields; without one (or with --yes) metadata.yaml and the flags must.
// Without -N only the plan is printed; with -N the files go in place and the streams are
// regenerated. Exit 0 done, 1 bad input, 2 a field or flag missing or invalid, 130 cancelled.
import {rm} from 'node:fs/promises';
import type {Requirements} from '../domain/requirements.js';
import {ImportError} from '../import/errors.js';
import type {ImportPlan} from '../import/plan.js';
import {flagsFor, parseRequirement} from '../import/propose.js';
import {importImage, planImport, type HeldRoot, type Imported, type PlanImportResult} from '../index.js';
import {startImportReporter} from '../report/start.js';
import {keyboard} from '../report/terminal.js';
import {UsageError} from '../util/errors.js';
import {heldByWatcher} from '../util/lock.js';
import {rootOperand, runOptions, type Command} from './command.js';
import {CommandLineError, type Flags} from './flags.js';
import {showingProgress} from './progress.js';
import {Stop} from './stop.js';

const say = (text: string) => process.stderr.write(`simplestreams: ${text}\n`);

function requirementsOf(texts: readonly string[]): Requirements {
	const requirements: Requirements = {};
	for (const text of texts) {
		const parsed = parseRequirement(text);
		if ('problem' in parsed) {
			throw new CommandLineError(parsed.problem);
		}

		requirements[parsed.key] = parsed.value;
	}

	return requirements;
}

/** Move or copy the files in, then regenerate the streams as -N does, on the import's run. */
async function place(plan: ImportPlan, held: HeldRoot, flags: Flags): Promise<number> {
	const options = runOptions(flags);
	const reporter = await startImportReporter(plan, {plain: flags.plain});
	// Whatever stops it, everything goes back where it was (execute.ts).
	const stop = new Stop(() => undefined);
	const unlisten = stop.listen();
	let imported: Imported;
	try {
		imported = await importImage({...options, plan, held, signal: stop.signal}, reporter.emit);
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
		return await showingProgress({plain: flags.plain, write: true, jobs: options.jobs}, async (progress, signal) => {
			await imported.publish(progress.emit, signal);
			await progress.finish('done');
			return 0;
		});
	} catch (error) {
		// A watcher on the root publishes what lands in it: that is what it is for.
		if (heldByWatcher(error)) {
			say(`${plan.destination} is imported; the watcher on ${plan.root} (pid ${error.holder.pid}) publishes it once it has settled`);
			return 0;
		}

		if (error instanceof UsageError) {
			say(`${plan.destination} is imported, but the streams were not regenerated: ${error.message}`);
			return 1;
		}

		throw error;
	} finally {
		await imported.close();
	}
}

export const importCommand: Command = {
	name: '-i',
	flags: ['import', 'write', 'jobs', 'cache', 'plain', 'deltas', 'deltaRatio', 'vmDeltas', 'os', 'release', 'arch', 'variant', 'version', 'alias', 'requirement', 'yes', 'copy', 'force', 'help'],
	help: '',
	async run({flags, operands}) {
		const root = rootOperand(operands);
		const requirements = requirementsOf(flags.requirement ?? []);
		const {os, release, arch, variant, version} = flags;
		const fields = {os, release, arch, variant, version};
		const aliases = flags.alias ?? [];
		runOptions(flags); // Its flags are refused before anything is looked at, not after the wizard.
		// The wizard needs keys (useInput takes raw mode on stdin).
		const wizard = Boolean(keyboard()) && !flags.yes;
		let settled: PlanImportResult | undefined;
		try {
			settled = await planImport({
				source: flags.import!, root, fields, requirements, aliases, copy: Boolean(flags.copy), force: Boolean(flags.force), write: Boolean(flags.write),
				...(wizard ? {choose: async context => (await import('../import/wizard/run.js')).runWizard({
					context: {found: context.found, products: context.products, force: Boolean(flags.force)},
					given: context.given,
					root: context.root,
					write: Boolean(flags.write),
					prepare: context.prepare,
				})} : {}),
			}, event => {
				if (event.type === 'warning') {
					say(`${event.path}: ${event.message}`);
				}
			});
			switch (settled.outcome) {
				case 'cancelled': {
					say('cancelled: nothing was changed');
					return 130;
				}

				case 'missing': {
					const why = flags.yes ? 'with --yes nothing is asked' : 'there is no terminal to ask';
					say(`${settled.fields.join(', ')} cannot be told from ${settled.from} and ${why}: pass ${flagsFor(settled.fields)}`);
					return 2;
				}

				case 'refused': {
					for (const problem of settled.problems) {
						say(problem);
					}

					return settled.why === 'fields' ? 2 : 1;
				}

				default:
			}

			const {plan, held} = settled;
			if (!held) {
				const {commandLine, describePlan} = await import('../import/plan.js');
				process.stdout.write(`${describePlan(plan).join('\n')}\ndry run: nothing was changed. To import:\n  ${commandLine(plan, {copy: Boolean(flags.copy), force: Boolean(flags.force)})}\n`);
				return 0;
			}

			return await place(plan, held, flags);
		} catch (error) {
			if (error instanceof ImportError) {
				say(error.message);
				return 1;
			}

			throw error;
		} finally {
			if (settled?.outcome === 'planned') {
				// What was split or written for the import: moved into place by now, or not wanted.
				if (settled.plan.found.scratch) {
					await rm(settled.plan.found.scratch, {recursive: true, force: true});
				}

				// Released by the import when it ran; not when something failed before it could.
				await settled.held?.lock?.release();
			}
		}
	},
};
