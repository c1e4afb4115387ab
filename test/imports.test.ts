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
