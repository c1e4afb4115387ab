// How far apart the live screens' frames are. A frame is paced by the CPU time it took the main
// thread, not its wall time: on a busy machine a frame mostly waits for a core, and pacing by wall
// time froze the tree for many seconds exactly when the machine was busiest.
import {readFileSync} from 'node:fs';

/** The share of one core the screen may take. */
const drawBudget = 0.02;

/** However dear frames are, the screen moves at least this often while anything changes. */
const slowestFrameMs = 1000;

/** Milliseconds from one frame's start to the next's: its CPU cost over the budget, within [interval, slowestFrameMs]. */
export const frameGap = (cpuMs: number, interval: number) => Math.min(slowestFrameMs, Math.max(interval, cpuMs / drawBudget));

/** Linux keeps each thread's CPU time in clock ticks (USER_HZ, 100 a second on every Linux Node runs on). */
const tickMs = 10;

/**
 * CPU time of the calling thread so far, in milliseconds: Node 20 has no threadCpuUsage(), and
 * process.cpuUsage() counts the hash workers too. Undefined where /proc is not there.
 */
export function threadCpuMs(): number | undefined {
	try {
		const stat = readFileSync('/proc/thread-self/stat', 'latin1');
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		return (Number(fields[11]) + Number(fields[12])) * tickMs;
	} catch {
		return undefined;
	}
}
