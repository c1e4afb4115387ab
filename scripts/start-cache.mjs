// V8's code cache for the start (see scripts/launcher.mjs), made by the build in a process of its own
// that runs the program once: made once the start has run, the cache holds the functions it
// compiled on their first call as well as its top level. The run is the no-change `simplestreams -N`
// of a copy of examples/webroot that another process has just published: the flags' parser, the
// scan, the receipt's key, the replay and the plain report of a run stopped by its receipt, the
// row of the bench that is mostly these (bench/RESULTS.md). A run that publishes compiles the rest
// on their first call, as every run did before. The cache is made from the start.js of the same
// build, which it must match: V8 checks the text's length, not its bytes. The file ends with the
// CRC-32 of the cache, which the launcher checks before giving V8 the cache (it says why). It is
// then checked the way every start takes it, through the launcher in a fresh process: this one has
// run the program, with its flags.
import {spawnSync} from 'node:child_process';
import {cpSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import v8 from 'node:v8';
import {crc32} from 'node:zlib';

const cli = new URL('../dist/cli.js', import.meta.url);
const cache = fileURLToPath(new URL('../dist/bundle/start.cache', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'simplestreams-start-cache-'));
const root = join(scratch, 'webroot');
cpSync(fileURLToPath(new URL('../examples/webroot/images', import.meta.url)), join(root, 'images'), {recursive: true});
const noChange = ['-N', root, '--cache', join(scratch, 'digests.json')];
const published = spawnSync(process.execPath, [fileURLToPath(cli), ...noChange], {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'});
if (published.status !== 0) {
	rmSync(scratch, {recursive: true, force: true});
	throw new Error(`publishing ${root} ended with ${published.status ?? published.signal}:\n${published.stderr}`);
}

// V8 takes a cache only under the flags it was made with, and every -N sets some for its heap
// (commands/heap.ts): they size the heap, not the code, and this run leaves them as a plain start
// has them (a fresh process takes the cache: checked below).
v8.setFlagsFromString = () => {};
process.argv.splice(2, Infinity, ...noChange);
const {startScript} = await import(cli);
process.once('exit', code => {
	rmSync(scratch, {recursive: true, force: true});
	if (code !== 0) {
		return;
	}

	const data = startScript.createCachedData();
	const checksum = Buffer.alloc(4);
	checksum.writeUInt32LE(crc32(data));
	writeFileSync(cache, Buffer.concat([data, checksum]));
	const acceptance = 'const {startScript} = await import(process.argv[1]); process.exitCode = startScript.cachedDataRejected === false ? 0 : 1;';
	if (spawnSync(process.execPath, ['--input-type=module', '-e', acceptance, cli.href, '--version'], {stdio: ['ignore', 'ignore', 'inherit']}).status !== 0) {
		process.stderr.write(`the launcher does not give V8 ${cache} or V8 rejects it, in a fresh process\n`);
		process.exitCode = 1;
	}
});
