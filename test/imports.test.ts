// The map of source/ in the README holds: no module imports itself back through others (type-only
// imports count: a cycle of types is a knot all the same), and the folders at the bottom of the map
// import nothing from the stages above them.
import {readdir, readFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';

const source = path.resolve('source');

/** Each module of source/ (relative, without extension) with the modules it imports, static, type-only or dynamic. */
async function importGraph(): Promise<Map<string, Set<string>>> {
	const files = (await readdir(source, {recursive: true})).filter(name => /\.tsx?$/.test(name) && !name.endsWith('.d.ts'));
	const modules = new Set(files.map(name => name.replace(/\.tsx?$/, '')));
	const graph = new Map<string, Set<string>>();
	for (const name of files) {
		const module = name.replace(/\.tsx?$/, '');
		const text = await readFile(path.join(source, name), 'utf8');
		const imported = new Set<string>();
		for (const [, specifier] of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)) {
			const target = path.join(path.dirname(module), specifier!).replace(/\.js$/, '');
			if (modules.has(target)) {
				imported.add(target);
			}
		}

		graph.set(module, imported);
	}

	return graph;
}

/** The strongly connected components of more than one module (or one importing itself): the cycles. */
function cycles(graph: Map<string, Set<string>>): string[][] {
	let counter = 0;
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const found: string[][] = [];
	const visit = (node: string) => {
		index.set(node, counter);
		low.set(node, counter++);
		stack.push(node);
		for (const next of graph.get(node) ?? []) {
			if (!index.has(next)) {
				visit(next);
				low.set(node, Math.min(low.get(node)!, low.get(next)!));
			} else if (stack.includes(next)) {
				low.set(node, Math.min(low.get(node)!, index.get(next)!));
			}
		}

		if (low.get(node) === index.get(node)) {
			const component: string[] = [];
			let member: string;
			do {
				member = stack.pop()!;
				component.push(member);
			} while (member !== node);
			if (component.length > 1 || graph.get(node)!.has(node)) {
				found.push(component.sort());
			}
		}
	};

	for (const node of graph.keys()) {
		if (!index.has(node)) {
			visit(node);
		}
	}

	return found;
}

test('the cycle finder finds a cycle of three and none in a chain', t => {
	t.deepEqual(cycles(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]])), [['a', 'b', 'c']]);
	t.deepEqual(cycles(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set()]])), []);
});

test('no module of source/ imports itself back, through any path', async t => {
	const graph = await importGraph();
	t.true(graph.size > 100, 'every module was read');
	t.deepEqual(cycles(graph), []);
});

test('the folders at the bottom of the map import nothing from the stages above them', async t => {
	const graph = await importGraph();
	const bottom = ['util', 'streams', 'domain', 'cache', 'retention'];
	const above = ['pipeline', 'verify', 'watch', 'import', 'report', 'publish', 'commands', 'index', 'cli'];
	const folder = (module: string) => module.split('/')[0]!;
	const upward = [...graph].flatMap(([module, imported]) => bottom.includes(folder(module))
		? [...imported].filter(target => above.includes(folder(target))).map(target => `${module} → ${target}`)
		: []);
	t.deepEqual(upward, []);
});

/** One folder's line of the README's map: the folders it may import, each wholly, for its types only, or one module of it. */
type Allowed = Map<string, 'all' | 'types' | {module: string}>;

/**
 * The README's map of source/: for each folder, the right-hand column (after three spaces or more,
 * on its lines or on lines of that column alone). `folder (types)` allows its types only,
 * `folder (name)` its module name only; `—` nothing; `any …` is not checked (index.ts, commands/).
 */
async function readmeMap(): Promise<Map<string, Allowed>> {
	const readme = await readFile(path.resolve('readme.md'), 'utf8');
	const block = /The map of `source\/`[\s\S]*?```\n([\s\S]*?)```/.exec(readme)![1]!;
	const columns = new Map<string, string>();
	let folder: string | undefined;
	for (const line of block.split('\n')) {
		const start = /^(\w[\w.]*)\/?\s/.exec(line);
		folder = start ? start[1]! : folder;
		// Past the folder's name (the first 11 columns): a line of the right-hand column alone, or a description and it.
		const rest = line.slice(11);
		const column = /^\s{30,}(\S.*)$/.exec(rest)?.[1] ?? / {3,}(\S(?:(?! {3}).)*)$/.exec(rest)?.[1];
		if (folder && column) {
			columns.set(folder, `${columns.get(folder) ?? ''} ${column}`);
		}
	}

	const map = new Map<string, Allowed>();
	for (const [name, column] of columns) {
		if (/\bany\b/.test(column)) {
			continue;
		}

		const allowed: Allowed = new Map();
		for (const item of column.split(/,(?![^(]*\))/).map(text => text.trim()).filter(text => text && text !== '—')) {
			const [, target, qualifier] = /^([\w.]+)\s*(?:\(([^)]*)\))?$/.exec(item) ?? [];
			if (!target) {
				throw new Error(`the README's map: cannot read "${item}" for ${name}`);
			}

			allowed.set(target, qualifier === undefined ? 'all' : /\btypes\b/.test(qualifier) ? 'types' : {module: qualifier});
		}

		map.set(name, allowed);
	}

	return map;
}

/** Each import of a module of source/ from another folder: whether it brings types only. */
async function folderArrows(): Promise<Array<{from: string; to: string; typesOnly: boolean}>> {
	const files = (await readdir(source, {recursive: true})).filter(name => /\.tsx?$/.test(name) && !name.endsWith('.d.ts'));
	const arrows: Array<{from: string; to: string; typesOnly: boolean}> = [];
	for (const name of files) {
		const text = await readFile(path.join(source, name), 'utf8');
		const statements = [
			...[...text.matchAll(/^(?:import|export)(\s+type\b)?([^;'"]*?)\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm)].map(([, type, names, specifier]) => ({
				specifier: specifier!,
				// `import type {…}`, or every name in the braces marked `type`.
				typesOnly: Boolean(type) || /^\s*\{(?:\s*type\s+[\w$]+(?:\s+as\s+[\w$]+)?\s*,?)+\s*\}\s*$/.test(names!),
			})),
			...[...text.matchAll(/\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map(([, specifier]) => ({specifier: specifier!, typesOnly: false})),
		];
		for (const {specifier, typesOnly} of statements) {
			const to = path.join(path.dirname(name), specifier).replace(/\.js$/, '');
			if (to.split('/')[0] !== name.split('/')[0]) {
				arrows.push({from: name.replace(/\.tsx?$/, ''), to, typesOnly});
			}
		}
	}

	return arrows;
}

test('every arrow between the folders is one the README\'s map names, types only where it says so', async t => {
	const map = await readmeMap();
	t.true(map.size >= 12, 'the map was read');
	t.deepEqual([...map.get('report')!.keys()].filter(folder => ['pipeline', 'import', 'watch'].includes(folder)).sort(), ['import', 'pipeline', 'watch']);
	const wrong = (await folderArrows()).flatMap(({from, to, typesOnly}) => {
		const allowed = map.get(from.split('/')[0]!);
		if (!allowed) {
			return []; // index.ts, commands/ and cli.tsx: any of the above.
		}

		const rule = allowed.get(to.split('/')[0]!);
		const ok = rule === 'all' || (rule === 'types' && typesOnly) || (typeof rule === 'object' && to.split('/').slice(1).join('/') === rule.module);
		return ok ? [] : [`${from} → ${to}${typesOnly ? ' (types)' : ''}`];
	});
	t.deepEqual(wrong, []);
});

test('the map orders the folders: none may import, through the others, a folder that may import it', async t => {
	const map = await readmeMap();
	const graph = new Map([...map].map(([folder, allowed]) => [folder, new Set([...allowed.keys()].filter(target => map.has(target)))]));
	t.deepEqual(cycles(graph), []);
	t.deepEqual(cycles(new Map([...graph, ['streams', new Set(['domain'])]])), [['domain', 'streams']], 'a pair of folders that import each other is found');
});
