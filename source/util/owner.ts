// Whether the process that made something (a lock, a temporary file, an import's journal) is gone.
// A pid alone does not say: after a crash the pid may belong to another process, so a process is
// known by its pid and its start time, both read from /proc.
import {readFileSync} from 'node:fs';

/** A running process as /proc shows it. */
export type Running = {
	/** When it started, epoch milliseconds (10 ms steps, the same value at every reading). */
	started: number;
	/** Its command line, arguments joined by spaces. */
	command: string;
};

/** The kernel's clock ticks per second for /proc times (USER_HZ, 100 on every Linux architecture). */
const ticksPerSecond = 100;

let bootMs: number | undefined;

/** The process with this pid, or undefined when there is none (or /proc cannot say). */
export function running(pid: number): Running | undefined {
	try {
		bootMs ??= Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))![1]) * 1000;
		const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
		// Field 22 is the start time; count from the end of the command name, which may hold spaces.
		const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
		const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim();
		return {started: bootMs + (ticks * 1000 / ticksPerSecond), command};
	} catch {
		return undefined;
	}
}

/** This process's own start, as `running` reads it for others. */
export const ownStart = () => running(process.pid)?.started;

/**
 * Why something made by process `pid` at `madeMs` no longer has an owner, or undefined while it
 * may: no process has that pid, or the one that has it started after the thing was made. (Pure.)
 */
export function ownerGone(pid: number, madeMs: number, now: Running | undefined): string | undefined {
	if (!now) {
		return `its owner, pid ${pid}, is gone`;
	}

	// The boot time has whole seconds: a start may read up to a second late.
	return now.started > madeMs + 2000 ? `pid ${pid} now belongs to another process` : undefined;
}
