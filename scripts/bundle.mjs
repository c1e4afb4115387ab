// After tsc: the program as a few ES modules in dist/bundle/, the start among them as a script
// (start.js, with V8's code cache for it in start.cache), and dist/cli.js as their launcher
// (scripts/launcher.mjs).
// From separate files, Node resolves, reads and compiles each module of a run: meow and the modules
// of a no-change re-run, and Ink and React (some 200 files) at every start of a live screen.
// Bundled, they load in a fraction of that time (the README, How it works, says how much).
//
// One build with code splitting, so every module exists once (an error class thrown in one part is
// the class another part checks for). Its entries have fixed names, as code finds them by URL:
// cli.js (made the start script after) and live.js (the live screens); the wizard and the stages after the scan are chunks loaded
// when a run needs them. esbuild splits the modules cli.js loads at every start into many chunks
// (one for each set of entries that shares them) importing one another, and Node resolves each
// import statement: paths and URLs taken apart often enough that V8's optimising compiler started
// at every start, its code paged in (bench/RESULTS.md has what that cost). Those chunks are then
// bundled again into one, shared.js, and the other parts import them from there: still every
// module once, as each chunk lands whole in one file or the other. The hash worker piscina starts
// (pipeline/hash/pool.ts) is worker.cjs, built apart as one file: it shares no objects with the
// rest, and a thread that loads its modules one after another (each read through the thread pool
// the main thread's probe keeps busy) hashes its first byte later. It is CommonJS, which piscina's
// worker require()s: an ES module there is loaded through Node's ES module loader, a score of
// Node's own modules more compiled in every new thread before its first digest (bench/RESULTS.md).
// The tests import the modules tsc wrote under dist/source; the command runs the bundle, built
// from the same files.
//
// The program's files are built without comments and layout, and with the shorter forms of the same
// code (esbuild's whitespace and syntax minification): V8 holds each module's text for as long as
// the module lives, parses all of it at load, and holds it as two bytes a character when a single
// character of it, a comment's too, is outside ASCII. Names are kept, so a stack trace still names
// its functions.
//
// meow's own bundle runs normalize-package-data on the package it is given, and that normaliser's
// fixer, as it loads, requires the SPDX licence checker, whose tables are sorted with localeCompare:
// that starts ICU's collator, megabytes at every start. The fixer calls the checker only for a
// package with a license, which the name and version meow is given (commands/flags.ts) never have,
// so meow's bundle is built with the checker required at its first call instead: the same calls,
// the same results, and a meow that is no longer 14.0.0 fails the build here rather than quietly
// costing the start again. That file (its dependencies, three quarters of the start bundle) is also
// minified with its names: it is parsed at every start, and a stack trace through it names
// another project's internals anyway.
import {spawnSync} from 'node:child_process';
import {readFile, rm, writeFile} from 'node:fs/promises';
import {build, transform} from 'esbuild';

/** In meow's bundled dependencies (node_modules/meow/build/dependencies.js): what loads a module at once, and the same module loaded at its first call. */
const meowDeferred = [
	['\tvar validateLicense = requireValidateNpmPackageLicense();', '\tvar validateLicense = (...args) => requireValidateNpmPackageLicense()(...args);'],
];

/** @type {import('esbuild').Plugin} */
const deferInMeow = {
	name: 'defer-in-meow',
	setup(builder) {
		builder.onLoad({filter: /[\\/]meow[\\/]build[\\/]dependencies\.js$/}, async ({path}) => {
			let text = await readFile(path, 'utf8');
			for (const [eager, deferred] of meowDeferred) {
				// Once per copy of normalize-package-data meow bundles (its own, and read-package-up's).
				if (text.split(eager).length - 1 !== 2) {
					throw new Error(`${path}: expected "${eager.trim()}" twice; meow changed, see scripts/bundle.mjs`);
				}

				text = text.replaceAll(eager, deferred);
			}

			return {contents: (await transform(text, {minify: true, format: 'esm', loader: 'js'})).code, loader: 'js'};
		});
	},
};

/**
 * Left to Node: a native addon, the hash pool (piscina, bundled apart below), and packages loaded
 * only for imports, deltas, the watcher and publishing to a bucket, where a few milliseconds of
 * loading are nothing.
 */
const external = ['lzma-native', 'piscina', 'execa', 'yaml', 'tar-stream', '@aws-sdk/client-s3'];

/** CommonJS packages inside call require() for Node's own modules: each file of the bundle declares it. */
const requireBanner = 'import {createRequire as __createRequire} from \'node:module\'; const require = __createRequire(import.meta.url);';
const bundle = 'dist/bundle/';
const shared = 'shared.js';

// piscina is a dozen CommonJS files on each side of a cold build's hash thread: the main thread
// resolves, reads and compiles them between the scan and its first digest, and the thread before
// its first (bench/RESULTS.md). Each side is bundled into one file in dist/bundle/piscina/: index.cjs,
// and worker.js beside it, where index.cjs starts it from (a directory of CommonJS, as piscina's
// worker file is one). The pool (pipeline/hash/pool.js) loads that index.cjs instead of the package.
const piscinaDirectory = `${bundle}piscina/`;
/** In the pool (dist/source/pipeline/hash/pool.js): what it names, and what the bundle has instead. */
const poolNames = [
	['load(\'piscina\')', 'load(\'./piscina/index.cjs\')'],
	['new URL(\'worker.js\', import.meta.url)', 'new URL(\'worker.cjs\', import.meta.url)'],
];

/** @type {import('esbuild').Plugin} */
const bundledPiscina = {
	name: 'bundled-piscina',
	setup(builder) {
		builder.onLoad({filter: /[\\/]pipeline[\\/]hash[\\/]pool\.js$/}, async ({path}) => {
			let text = await readFile(path, 'utf8');
			for (const [named, bundled] of poolNames) {
				if (text.split(named).length - 1 !== 1) {
					throw new Error(`${path}: expected ${named} once; the pool changed, see scripts/bundle.mjs`);
				}

				text = text.replace(named, bundled);
			}

			return {contents: text, loader: 'js'};
		});
	},
};

/** The chunks cli.js imports, directly or through one another, each after those it imports (the order Node runs them in). */
function startChunks(outputs) {
	const order = [];
	const seen = new Set();
	const visit = file => {
		if (!seen.has(file)) {
			seen.add(file);
			for (const {path} of outputs[file].imports.filter(i => i.kind === 'import-statement' && !i.external)) {
				visit(path);
			}

			order.push(file);
		}
	};

	for (const {path} of outputs[`${bundle}cli.js`].imports.filter(i => i.kind === 'import-statement' && !i.external)) {
		visit(path);
	}

	return order;
}

/** Bundles the chunks of every start into shared.js, and points each other file's imports of them there. */
async function shareStartChunks(outputs) {
	const chunks = startChunks(outputs);
	const names = chunks.flatMap(file => outputs[file].exports);
	if (new Set(names).size !== names.length) {
		throw new Error(`two chunks of the start export the same name: ${names.filter((name, i) => names.indexOf(name) !== i).join(', ')}`);
	}

	const merged = new Set(chunks.map(file => file.slice(bundle.length)));
	const from = file => `'./${file.slice(bundle.length)}'`;
	await build({
		stdin: {
			contents: chunks.map(file => (outputs[file].exports.length > 0 ? `export {${outputs[file].exports.join(', ')}} from ${from(file)};` : `import ${from(file)};`)).join('\n'),
			resolveDir: bundle,
			sourcefile: 'start-chunks',
			loader: 'js',
		},
		outfile: bundle + shared,
		bundle: true,
		format: 'esm',
		platform: 'node',
		target: 'node20',
		external,
		// Only the start's chunks are bundled: what they load on demand (the stages, the live screens)
		// stays a file of its own, loaded when it was.
		plugins: [{name: 'start-chunks-only', setup(builder) {
			builder.onResolve({filter: /.*/}, ({path, kind}) => (kind === 'import-statement' && merged.has(path.replace(/^\.\//, '')) ? undefined : {path, external: true}));
			// A chunk that never calls require() loses its own: each is a CommonJS module made for it,
			// and Node's module paths worked out from its directory.
			builder.onLoad({filter: /[\\/]chunk-\w+\.js$/}, async ({path}) => {
				const text = await readFile(path, 'utf8');
				const rest = text.startsWith(requireBanner) ? text.slice(requireBanner.length) : text;
				return {contents: /\brequire\b/.test(rest) ? text : rest, loader: 'js'};
			});
		}}],
		minifyWhitespace: true,
		minifySyntax: true,
		logLevel: 'warning',
	});
	for (const file of chunks) {
		await rm(file);
	}

	for (const file of Object.keys(outputs).filter(file => file.endsWith('.js') && !chunks.includes(file))) {
		const text = await readFile(file, 'utf8');
		const pointed = text.replaceAll(/"\.\/(chunk-\w+\.js)"/g, (quoted, chunk) => (merged.has(chunk) ? `"./${shared}"` : quoted));
		const left = [...merged].find(chunk => pointed.includes(chunk));
		if (left) {
			throw new Error(`${file} still names ${left}, now in ${shared}: esbuild's output changed, see scripts/bundle.mjs`);
		}

		if (pointed !== text) {
			await writeFile(file, pointed);
		}
	}
	return names;
}

const launcher = 'dist/cli.js';
const marker = '// simplestreams launcher';

const entry = await readFile(launcher, 'utf8');
if (entry.includes(marker)) {
	throw new Error(`${launcher} is already the launcher: run tsc before this script (npm run build does both)`);
}

await rm(bundle, {recursive: true, force: true});
const {metafile} = await build({
	metafile: true,
	entryPoints: {
		cli: launcher,
		live: 'dist/source/report/live/reporter.js',
	},
	outdir: bundle,
	bundle: true,
	splitting: true,
	format: 'esm',
	platform: 'node',
	target: 'node20',
	external,
	// React's production build: the development one checks more and keeps more per frame.
	define: {'process.env.NODE_ENV': '"production"'},
	// Ink connects to React DevTools only when DEV=true, from a package that is not installed.
	alias: {'react-devtools-core': './scripts/no-devtools.mjs'},
	minifyWhitespace: true,
	minifySyntax: true,
	banner: {js: requireBanner},
	plugins: [deferInMeow, bundledPiscina],
	logLevel: 'warning',
});
const sharedNames = await shareStartChunks(metafile.outputs);

for (const side of ['index', 'worker']) {
	await build({
		entryPoints: [`node_modules/piscina/dist/${side}.js`],
		outfile: `${piscinaDirectory}${side === 'index' ? 'index.cjs' : 'worker.js'}`,
		bundle: true,
		format: 'cjs',
		platform: 'node',
		target: 'node20',
		// Optional, and required only for a pool with a nice increment, which ours has not.
		external: ['@napi-rs/nice'],
		minifyWhitespace: true,
		minifySyntax: true,
		logLevel: 'warning',
	});
}

await writeFile(`${piscinaDirectory}package.json`, '{"type": "commonjs"}\n');

await build({
	entryPoints: ['dist/source/pipeline/hash/worker.js'],
	outfile: `${bundle}worker.cjs`,
	bundle: true,
	format: 'cjs',
	platform: 'node',
	target: 'node20',
	logLevel: 'warning',
});

// The start as a script (scripts/launcher.mjs says why): cli.js and shared.js in one function, its
// imports of Node's modules made through the require() it is given, its import()s of the chunks
// through the function it is given (a script's own import() would need a vm callback that Node 20
// loses for a script compiled from a cache), import.meta the one it is given (start.js's, in the
// same directory as cli.js was), and shared.js's exports those of the module it is given, which
// the launcher exports: shared.js itself becomes those exports for the chunks, which import it.
const startEntry = `${bundle}cli.js`;
const {outputFiles: [start], metafile: startMeta} = await build({
	stdin: {contents: `export * from './${shared}';\nimport './cli.js';\n`, resolveDir: bundle, sourcefile: 'start', loader: 'js'},
	bundle: true,
	write: false,
	metafile: true,
	outfile: `${bundle}start.js`,
	format: 'cjs',
	platform: 'node',
	target: 'node20',
	define: {'import.meta': 'importMeta'},
	plugins: [{name: 'bundle-files-apart', setup(builder) {
		builder.onResolve({filter: /^\.\//}, ({path, kind}) => (kind === 'import-statement' && [`./${shared}`, './cli.js'].includes(path) ? undefined : {path, external: true}));
	}}],
	minifyWhitespace: true,
	minifySyntax: true,
	logLevel: 'warning',
});
const required = [...start.text.matchAll(/\brequire\("(\.[^"]*)"\)/g)].map(([, path]) => path);
if (required.length > 0) {
	throw new Error(`the start requires ${required.join(', ')}: only Node's modules are given to it, see scripts/launcher.mjs`);
}

if (start.text.includes('__esm(')) {
	throw new Error(`esbuild initialises a module of the start lazily: ${shared}'s exports for the chunks would be read before it, see scripts/launcher.mjs`);
}

const chunkImports = startMeta.outputs[`${bundle}start.js`].imports.filter(i => i.kind === 'dynamic-import').length;
const dynamicImports = start.text.match(/\bimport\(/g) ?? [];
if (dynamicImports.length !== chunkImports) {
	throw new Error(`the start has ${dynamicImports.length} import( for ${chunkImports} import()s of chunks: esbuild's output changed, see scripts/bundle.mjs`);
}

await writeFile(`${bundle}start.js`, `(function (require, importMeta, importChunk, module) {${start.text.replace(/^#!.*\n/, '').replaceAll(/\bimport\(/g, 'importChunk(')}})\n`);
await rm(startEntry);
await writeFile(`${bundle}${shared}`, `import {shared} from '../cli.js';\nexport const {${sharedNames.join(', ')}} = shared;\n`);
await writeFile(launcher, await readFile('scripts/launcher.mjs', 'utf8'));
// V8 takes a cache only under the flags it was made with: scripts/start-cache.mjs makes it and checks
// it without the NODE_OPTIONS of the build's shell (a build under --max-old-space-size would make one
// every plain start rejects).
const plainEnv = {...process.env};
delete plainEnv.NODE_OPTIONS;
// The run's report is on stderr: shown when the cache could not be made or is rejected.
const cacheMade = spawnSync(process.execPath, ['scripts/start-cache.mjs'], {env: plainEnv, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'});
if (cacheMade.status !== 0) {
	throw new Error(`scripts/start-cache.mjs ended with ${cacheMade.status ?? cacheMade.signal}:\n${cacheMade.stderr}`);
}
