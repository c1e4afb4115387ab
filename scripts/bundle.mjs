// After tsc: the live screens (Ink, React, yoga and the reporter that draws with them) as one ES
// module, dist/bundle/live.js. Loaded from some forty packages and 200 files, they cost ~0.5 s of
// CPU at every start of a live run; from one file, ~0.1 s. Nothing else is bundled.
import {build} from 'esbuild';

await build({
	entryPoints: {live: 'dist/source/report/live/reporter.js'},
	outdir: 'dist/bundle',
	bundle: true,
	format: 'esm',
	platform: 'node',
	target: 'node20',
	// React's production build: the development one checks more and keeps more per frame.
	define: {'process.env.NODE_ENV': '"production"'},
	// Ink connects to React DevTools only when DEV=true, from a package that is not installed.
	alias: {'react-devtools-core': './scripts/no-devtools.mjs'},
	// CommonJS packages inside call require() for Node's own modules.
	banner: {js: 'import {createRequire as __createRequire} from \'node:module\'; const require = __createRequire(import.meta.url);'},
	logLevel: 'warning',
});
