// Node's own start on this machine: every row pays it before the program's first line runs.
import {median, seconds, timed} from './measure.js';

async function startFigure(argv: readonly string[], repeat: number, settle: () => Promise<void>): Promise<string> {
	const runs = [];
	for (let run = 0; run < repeat; run++) {
		await settle();
		runs.push(await timed(argv, {rss: true}));
	}

	const cpu = runs.map(run => run.cpuMilliseconds).filter(value => value !== undefined);
	return `${seconds(median(runs.map(run => run.milliseconds)))}${cpu.length > 0 ? ` (CPU ${seconds(median(cpu))})` : ''}`;
}

/**
 * `node -e 0`, and again without NODE_EXTRA_CA_CERTS when the environment sets it: Node reads that
 * file whole at every start, so a machine that sets it adds its parse to every row.
 */
export async function nodeStartNote(repeat: number, settle: () => Promise<void>): Promise<string> {
	const bare = await startFigure([process.execPath, '-e', '0'], repeat, settle);
	const extra = process.env['NODE_EXTRA_CA_CERTS'];
	if (!extra) {
		return `Node's own start, which every row pays (node -e 0): ${bare}`;
	}

	const without = await startFigure(['env', '-u', 'NODE_EXTRA_CA_CERTS', process.execPath, '-e', '0'], repeat, settle);
	return `Node's own start, which every row pays (node -e 0): ${bare} with NODE_EXTRA_CA_CERTS=${extra} as this machine sets it, ${without} without it`;
}
