// The part of lzma-native (no published types) that the import uses.
declare module 'lzma-native' {
	import type {Transform} from 'node:stream';

	/** A decoder for .xz and .lzma streams. */
	export function createDecompressor(): Transform;
	const lzma: {createDecompressor: typeof createDecompressor};
	export default lzma;
}
