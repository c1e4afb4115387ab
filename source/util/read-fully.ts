import type {FileHandle} from 'node:fs/promises';

/** Read exactly `length` bytes at `position` unless the file ends first; returns how many were read. */
export async function readFully(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<number> {
	let done = 0;
	while (done < length) {
		const {bytesRead} = await handle.read(buffer, done, length - done, position + done);
		if (bytesRead === 0) {
			break;
		}

		done += bytesRead;
	}

	return done;
}
