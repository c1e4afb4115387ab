// `simplestreams verify [rootdir]`: check the published tree as a client would, trusting nothing
// cached. Progress goes to stderr (the live tree in a terminal, plain lines otherwise); the report,
// or with --json the report as JSON, to stdout: in a terminal one line per damaged file, elsewhere
// every problem in full. Exit 1 when any problem is found; stopped early (stop.ts) 130, 143 or 129.
import {availableParallelism} from 'node:os';
import {verify} from '../index.js';
import {cells, cut} from '../report/cells.js';
import {printable} from '../report/printable.js';
import {formatBytes, formatRate} from '../util/format.js';
import {brief, damagedFiles} from '../verify/damaged.js';
import type {Problem} from '../verify/schema.js';
import {rootOperand, type Command} from './command.js';
import {showingProgress} from './progress.js';

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

const describe = (p: Problem) => [p.product && `product ${p.product}`, p.version && `version ${p.version}`, p.item && `item ${p.item}`, `file ${p.file}`]
	.filter(Boolean).join(', ');

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
			if (flags.json) {
				process.stdout.write(`${JSON.stringify(report, undefined, 1)}\n`);
			} else if (process.stdout.isTTY) {
				// A terminal: one line per damaged file, cut to the width (the live tree above says what to do next).
				const width = process.stdout.columns || 80;
				const line = (text: string) => `${cells(text) > width ? `${cut(text, width - 1)}…` : text}\n`;
				for (const [label, findings] of [['✗', report.problems], ['!', report.warnings]] as const) {
					for (const {file, messages} of damagedFiles(findings, root)) {
						const count = messages.length > 1 ? ` (${messages.length} problems)` : '';
						process.stdout.write(line(printable(`${label} ${file}${count}: ${messages.map(message => brief(message)).join('; ')}`)));
					}
				}
			} else {
				for (const [label, findings] of [['problem', report.problems], ['warning', report.warnings]] as const) {
					for (const finding of findings) {
						process.stdout.write(`${label}: ${printable(describe(finding))}: ${printable(finding.message)}\n`);
					}
				}
			}

			if (!flags.json) {
				const {images} = report;
				const hashed = report.bytes > 0 ? `, hashed ${formatBytes(report.bytes)} at ${formatRate(report.bytes, report.hashMilliseconds)}` : '';
				const status = [report.ok ? 'ok' : count(report.problems.length, 'problem'), report.warnings.length > 0 ? count(report.warnings.length, 'warning') : ''].filter(Boolean).join(', ');
				process.stdout.write(`${status}: ${report.products} products, `
					+ `${report.versions} versions, ${images.lxd} images for LXD, ${images.incus} for Incus, ${report.files} files${hashed}, ${count(report.deltas, 'delta')} applied\n`);
			}

			return report.ok ? 0 : 1;
		});
	},
};
