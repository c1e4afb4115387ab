// `simplestreams verify [rootdir]`: check the published tree as a client would, trusting nothing
// cached. Progress goes to stderr (the live tree in a terminal, plain lines otherwise); the report,
// or with --json the report as JSON, to stdout: in a terminal one line per damaged file, elsewhere
// every problem in full. Exit 1 when any problem is found; stopped early (stop.ts) 130, 143 or 129.
import {availableParallelism} from 'node:os';
import {verify} from '../index.js';
import {reportWidth} from '../report/terminal.js';
import {verifyReportText} from '../report/verify.js';
import {damagedFiles} from '../verify/damaged.js';
import {rootOperand, type Command} from './command.js';
import {showingProgress} from './progress.js';

export const verifyCommand: Command = {
	name: 'verify',
	flags: ['json', 'jobs', 'plain', 'help', 'version'],
	help: `
	  verify           Check every file, fingerprint and delta as a client would; exit 1 on any problem
	      --json       The report as JSON on stdout`,
	async run({flags, operands}) {
		const root = rootOperand(operands);
		const jobs = flags.jobs ?? availableParallelism();
		return showingProgress({plain: flags.plain, write: false, verify: true, root, jobs}, async (reporter, signal) => {
			const report = await verify({root, jobs, signal}, reporter.emit);
			await reporter.finish('done');
			const damaged = {problems: damagedFiles(report.problems, root), warnings: damagedFiles(report.warnings, root)};
			process.stdout.write(verifyReportText(report, {json: Boolean(flags.json), width: reportWidth(), damaged}));
			return report.ok ? 0 : 1;
		});
	},
};
