// What the process does when its own output cannot be written. The streams are the product and the
// output only reports them, so a failed write never stops a run: a reader that went away (EPIPE: the
// pipe into `head` closed; EIO: the terminal hung up, and SIGHUP's own handler stops the run then)
// chose to, and costs nothing but the output; any other error (ENOSPC: a full disk under a log file)
// lost output someone meant to keep, so it is said once on stderr, when that still takes lines, and
// the process ends with exit code 1 where it would have ended with 0.
import {writeSync} from 'node:fs';
import {errorCode, systemReason} from '../util/errors.js';

const readerGone = new Set(['EPIPE', 'EIO']);

const outputs = {stdout: process.stdout, stderr: process.stderr};

/** The outputs that lost lines for a reason other than their reader leaving. */
const lost = new Set<keyof typeof outputs>();

function failed(name: keyof typeof outputs, error: unknown): void {
	if (readerGone.has(errorCode(error)) || lost.has(name)) {
		return;
	}

	lost.add(name);
	if (!lost.has('stderr')) {
		process.stderr.write(`simplestreams: cannot write to ${name} (${systemReason(error)}): the rest of its output is lost\n`);
	}
}

/**
 * Node writes an output that is a file (`> out.json`, `2>> log`; its SyncWriteStream) with one write
 * a chunk and drops what a short write left: a disk that fills up, or a size limit reached, part way
 * through a chunk cut the output short with no error. Here the rest is written until it is all
 * written or a write fails, and that failure is the stream's error, as any other.
 */
function writeWhole(output: (typeof outputs)[keyof typeof outputs]): void {
	if (output.constructor.name !== 'SyncWriteStream') {
		return;
	}

	output._write = (chunk: Uint8Array, _encoding, callback) => {
		try {
			for (let written = 0; written < chunk.length;) {
				written += writeSync(output.fd, chunk, written);
			}
		} catch (error) {
			callback(error as Error);
			return;
		}

		callback();
	};
}

/** Keep the run going whatever its output's errors; call once, before anything is written. */
export function outliveOutputErrors(): void {
	for (const [name, output] of Object.entries(outputs) as Array<[keyof typeof outputs, NodeJS.WriteStream]>) {
		writeWhole(outputs[name]);
		output.on('error', error => {
			failed(name, error);
		});
	}

	process.on('exit', () => {
		// A write's error is an event a turn after the write: one right before process.exit() (--help)
		// is only on the stream.
		for (const [name, output] of Object.entries(outputs) as Array<[keyof typeof outputs, NodeJS.WriteStream]>) {
			if (output.errored) {
				failed(name, output.errored);
			}
		}

		if (lost.size > 0 && !process.exitCode) {
			process.exitCode = 1;
		}
	});
}
