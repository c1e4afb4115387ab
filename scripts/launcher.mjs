#!/usr/bin/env node
// simplestreams launcher: the program is dist/bundle/ (scripts/bundle.mjs), and this file is copied
// to dist/cli.js by the build.
//
// The start (cli.tsx, the commands, meow and the modules every run loads) is dist/bundle/start.js,
// a script rather than ES modules: Node 20 keeps no code cache for ES modules, and V8 compiles a
// script from the cache the build made beside it (start.cache) instead of parsing its text at every
// start. The script is a function given require(), import.meta, import() and a module: its chunks
// are imported by this module, through Node's module loader as ever, and the exports of shared.js
// (the modules the chunks loaded later share with the start) are this module's `shared`, which
// dist/bundle/shared.js exports to those chunks, so each module still exists once. The chunks see
// each export as the start's top level left it: none of those modules assigns an export again (no
// `export let`), and the build fails if esbuild would initialise one of them lazily.
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import {Script} from 'node:vm';
import {crc32} from 'node:zlib';

const start = new URL('bundle/start.js', import.meta.url);

/**
 * The build's code cache, or none: a build without one, or a package copied without it. V8 checks
 * it against its own version and flags, and a cache it rejects (another Node, a run with other V8
 * flags) is a compile of the text, as without one. V8 checks only a cache's header and length, and
 * a cache damaged past its header ends the process in V8's deserialiser (a fatal error, exit 133),
 * so the file ends with the CRC-32 of the cache before it (scripts/start-cache.mjs), and a cache
 * that does not match it is not given to V8. A checksum, not a digest: it catches damage, and
 * whoever could forge the cache could as well write start.js; zlib is loaded by every start anyway.
 */
function codeCache() {
	let file;
	try {
		file = readFileSync(new URL('bundle/start.cache', import.meta.url));
	} catch {
		return undefined;
	}

	const length = file.length - 4;
	const cache = file.subarray(0, Math.max(length, 0));
	return length > 0 && crc32(cache) === file.readUInt32LE(length) ? cache : undefined;
}

/** The compiled start; the build's scripts/start-cache.mjs makes the cache from it once it has run. */
export const startScript = new Script(readFileSync(start, 'utf8'), {
	filename: fileURLToPath(start),
	cachedData: codeCache(),
});

const started = {exports: {}};
startScript.runInThisContext()(createRequire(start), {url: start.href}, chunk => import(new URL(chunk, start)), started);
export const shared = started.exports;
