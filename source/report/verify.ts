// verify's report on stdout: with --json the report as JSON; in a terminal one line per damaged file,
// cut to its width (the live tree above says what to do next); elsewhere every problem in full; then
// the summary. The findings come grouped as verify groups them, one entry per file (verify/damaged.ts).
import {formatBytes, formatRate} from '../util/format.js';
import type {DamagedFile} from '../verify/damaged.js';
import type {Problem} from '../verify/schema.js';
import type {VerifyReport} from '../verify/verify.js';
import {cells, cut} from './cells.js';
import {printable} from '../util/printable.js';

/** A message as a terminal line shows it: digests cut to the 12 characters the clients show. */
export const brief = (message: string) => message.replaceAll(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, '$1…');

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

const describe = (p: Problem) => [p.product && `product ${p.product}`, p.version && `version ${p.version}`, p.item && `item ${p.item}`, `file ${p.file}`]
	.filter(Boolean).join(', ');

export type VerifyReportOptions = {
	json: boolean;
	/** A terminal's (report/terminal.ts); undefined for a pipe or a file. */
	width?: number;
	damaged: {problems: DamagedFile[]; warnings: DamagedFile[]};
};

export function verifyReportText(report: VerifyReport, {json, width, damaged}: VerifyReportOptions): string {
	if (json) {
		return `${JSON.stringify(report, undefined, 1)}\n`;
	}

	let text = '';
	if (width === undefined) {
		for (const [label, findings] of [['problem', report.problems], ['warning', report.warnings]] as const) {
			for (const finding of findings) {
				text += `${label}: ${printable(describe(finding))}: ${printable(finding.message)}\n`;
			}
		}
	} else {
		const line = (text: string) => `${cells(text) > width ? `${cut(text, width - 1)}…` : text}\n`;
		for (const [label, files] of [['✗', damaged.problems], ['!', damaged.warnings]] as const) {
			for (const {file, messages} of files) {
				const count = messages.length > 1 ? ` (${messages.length} problems)` : '';
				text += line(printable(`${label} ${file}${count}: ${messages.map(message => brief(message)).join('; ')}`));
			}
		}
	}

	const {images} = report;
	const hashed = report.bytes > 0 ? `, hashed ${formatBytes(report.bytes)} at ${formatRate(report.bytes, report.hashMilliseconds)}` : '';
	const status = [report.ok ? 'ok' : count(report.problems.length, 'problem'), report.warnings.length > 0 ? count(report.warnings.length, 'warning') : ''].filter(Boolean).join(', ');
	return `${text}${status}: ${report.products} products, `
		+ `${report.versions} versions, ${images.lxd} images for LXD, ${images.incus} for Incus, ${report.files} files${hashed}, ${count(report.deltas, 'delta')} applied\n`;
}
