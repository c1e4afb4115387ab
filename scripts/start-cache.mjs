// V8's code cache for the start (see scripts/launcher.mjs), made by the build in a process of its own
// that runs `simplestreams --version`: made once the start has run, the cache holds the functions it
// compiled on their first call (meow's parser, the flags) as well as its top level. It is made from
// the start.js of the same build, which it must match: V8 checks the text's length, not its bytes.
import {writeFileSync} from 'node:fs';

process.argv.splice(2, Infinity, '--version');
const {startScript} = await import('../dist/cli.js');
process.once('exit', () => {
	writeFileSync(new URL('../dist/bundle/start.cache', import.meta.url), startScript.createCachedData());
});
