// How a one-shot command stops early. Ctrl-C (SIGINT, or q in the live screen) ends with exit 130,
// SIGTERM (a service manager, kill) with 143, and a hang-up of the terminal with 129: a dropped SSH
// session under an hours-long hash job. Each asks the run to stop: the workers stop, the digest
// cache keeps what finished, nothing is published. A second request quits at once.
import {setMaxListeners} from 'node:events';
import {attached} from '../report/terminal.js';

const codes = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129} as const;

/** Whether the terminal went away (see quitAfterHangUp). */
let hungUp = false;

/**
 * After a hang-up the process ends by the signal itself, once the run has let go of everything:
 * a normal exit would abort (SIGABRT), since Node 20 checks that it could restore the terminal's
 * settings, and a terminal that is gone cannot be restored (nodejs/node#51519).
 */
export function quitAfterHangUp(): void {
	if (hungUp) {
		process.removeAllListeners('SIGHUP');
		process.kill(process.pid, 'SIGHUP');
	}
}

/**
 * A one-shot command whose work is over (everything it wrote awaited, its threads ended, its lock
 * released) ends its process at once once its output is all with the system: Node's own exit
 * first tears down the heap, page by page, tens of milliseconds after the last byte for a run over
 * a large tree (bench/RESULTS.md). The plain reporter's last lines go out at the next turn of the
 * event loop (report/loggers/plain.ts); output still queued for a pipe, or a hang-up's signal on
 * its way, is left to Node's own exit, which waits for them.
 */
export async function endWhenWritten(): Promise<void> {
	await new Promise(resolve => {
		setImmediate(resolve);
	});
	if (!hungUp && process.stdout.writableLength === 0 && process.stderr.writableLength === 0) {
		process.exit();
	}
}

export class Stop {
	private readonly controller = new AbortController();
	private exitCode: number = codes.SIGINT;

	/** `onStop`: told once, at the first request (the reporter says the workers are being stopped). */
	constructor(private readonly onStop: () => void) {
		setMaxListeners(0, this.controller.signal); // Every queued digest task listens to it.
	}

	get signal(): AbortSignal {
		return this.controller.signal;
	}

	/** The exit code of a stopped run. */
	get code(): number {
		return this.exitCode;
	}

	/** Stop the run (`code`: how it will end); the second time, quit without waiting for the workers. */
	request(code: number = codes.SIGINT): void {
		if (this.signal.aborted) {
			quitAfterHangUp();
			process.exit(this.exitCode);
		}

		this.exitCode = code;
		this.controller.abort();
		this.onStop();
	}

	/**
	 * Take SIGINT, SIGTERM and, with a terminal, SIGHUP as stop requests until the returned function
	 * is called. Without a terminal there is none to lose: SIGHUP is ignored, as nohup means it to be
	 * (Node resets an inherited ignore to the default, which ends the process).
	 */
	listen(): () => void {
		const terminal = attached();
		const handlers = Object.entries(codes).map(([name, code]) => {
			const handler = () => {
				if (name === 'SIGHUP' && !terminal) {
					return;
				}

				if (name === 'SIGHUP') {
					hungUp = true; // What the reporter still says is lost (commands/output.ts).
				}

				this.request(code);
			};

			process.on(name, handler);
			return [name, handler] as const;
		});
		return () => {
			for (const [name, handler] of handlers) {
				process.off(name, handler);
			}
		};
	}
}
