// A run of bytes of a served file this program wrote, read back from that very file: a watcher keeps
// each product's entry in images.json as where it lies in the file it published, not as a copy of its
// text (tens of MB a product on a large tree, bench/RESULTS.md). The file is held open from the
// moment it was staged, so a file put in its place by someone else never answers for it; one written
// into where it lies (its size, mtime or ctime moved) answers nothing, and the watcher makes its
// texts again (pipeline/memory.ts).
import {closeSync, fstatSync, readSync} from 'node:fs';

/** Bytes read per step: what a write, a comparison or a gzip takes in at once. */
const block = 64 * 1024;

/** What a read of a published file meets when someone else wrote to it since: not a failure of the program's own write. */
export class PublishedFileChanged extends Error {}

/** A served file as it was published, held open. */
export class PublishedFile {
	private readonly stamp: string;
	private closed = false;

	/** `fd`: the file opened for reading before it was placed at `path` (a rename moves the file, the descriptor follows it). */
	constructor(private readonly path: string, private readonly fd: number) {
		this.stamp = this.stampNow();
	}

	/** Whether it still holds what was written: open, and not written to since. */
	get intact(): boolean {
		try {
			return !this.closed && this.stampNow() === this.stamp;
		} catch {
			return false;
		}
	}

	close(): void {
		if (!this.closed) {
			this.closed = true;
			closeSync(this.fd);
		}
	}

	/** The bytes from `offset` on, `length` of them, a step at a time into one Buffer (the one yielded, valid until the next step). */
	* read(offset: number, length: number): Generator<Buffer> {
		const buffer = Buffer.allocUnsafe(Math.min(block, length));
		for (let done = 0; done < length;) {
			this.check();
			const read = readSync(this.fd, buffer, 0, Math.min(buffer.length, length - done), offset + done);
			if (read === 0) {
				throw new Error(`${this.path} ended before the bytes it was written with`);
			}

			done += read;
			yield buffer.subarray(0, read);
		}
	}

	private check(): void {
		if (!this.intact) {
			throw new PublishedFileChanged(`${this.path} was written to by someone else since it was published`);
		}
	}

	private stampNow(): string {
		const stats = fstatSync(this.fd, {bigint: true});
		return `${stats.size} ${stats.mtimeNs} ${stats.ctimeNs}`;
	}
}

/** `length` bytes of a published file from `offset` on. */
export class PublishedBytes {
	constructor(readonly file: PublishedFile, readonly offset: number, readonly length: number) {}

	chunks(): Generator<Buffer> {
		return this.file.read(this.offset, this.length);
	}

	/** The bytes as text, whole: for the rare reader of a product's versions. */
	text(): string {
		const whole = Buffer.allocUnsafe(this.length);
		let at = 0;
		for (const chunk of this.chunks()) {
			at += chunk.copy(whole, at);
		}

		return whole.toString('utf8');
	}
}
