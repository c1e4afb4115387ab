// A tree scanned once and then again only where it changed: the tree and the events one scan of it
// now would give, without walking the rest again. The watcher rescans what its directory watches
// say moved; an import, which holds the root's lock from the scan its plan is made from, rescans
// only the product it placed a version in.
import type {Tree} from '../domain/tree.js';
import type {Emit, PipelineEvent} from './events.js';
import {foundEvent, scan, scannedTotals} from './scan.js';
import {compareText} from '../util/compare.js';

/** An event a scan told, a version found kept as its path only: the tree holds the rest, and one per version adds up. */
type Told = Exclude<PipelineEvent, {type: 'found'}> | {found: string};

/** A scan, and what it told, in order (to be told again when the run that needs it reports). */
export type ToldScan = {tree: Tree; told: Told[]};

export async function scanTold(root: string): Promise<ToldScan> {
	const told: Told[] = [];
	const tree = await scan(root, event => {
		told.push(event.type === 'found' ? {found: event.path} : event);
	});
	return {tree, told};
}

/** The events `told` stands for, the versions found made again from `tree`, as the scan made them. */
function* retold(told: readonly Told[], tree: Tree): Generator<PipelineEvent> {
	const versions = new Map(tree.products.flatMap(product => product.versions.map(version => [version.path, version])));
	for (const event of told) {
		if (!('found' in event)) {
			yield event;
			continue;
		}

		yield foundEvent(versions.get(event.found)!);
	}
}

/** Whether `path` is one of `directories` or under one. */
export function under(path: string, directories: ReadonlySet<string>): boolean {
	for (let slash = path.length; slash !== -1; slash = path.lastIndexOf('/', slash - 1)) {
		if (directories.has(path.slice(0, slash))) {
			return true;
		}
	}

	return false;
}

/** `previous` with the products under `moved` replaced by those `rescanned` found there. */
export function merged(previous: Tree, moved: ReadonlySet<string>, rescanned: Tree): Tree {
	const products = [...previous.products.filter(p => !under(p.ref.path, moved)), ...rescanned.products];
	products.sort((a, b) => compareText(a.ref.id, b.ref.id));
	// A path set aside at or below a product that moved was looked at again; one above the products was not.
	const setAside = [...previous.setAside.filter(path => !moved.has(path.split('/').slice(0, 5).join('/'))), ...rescanned.setAside];
	return {root: rescanned.root, products, setAside};
}

/** Whether `path` is `directory`, under it, or on the way down to it (what a scan of `directory` alone says again). */
const concerns = (path: string, directory: string) => path === directory || path.startsWith(`${directory}/`) || directory.startsWith(`${path}/`);

/** Whether the walk (directories in name order, each before what is under it) comes to `path` after all of `directory`. */
function walkedAfter(path: string, directory: string): boolean {
	const [a, b] = [path.split('/'), directory.split('/')];
	const at = a.findIndex((segment, index) => segment !== b[index]);
	return at !== -1 && at < b.length && a[at]! > b[at]!;
}

/**
 * `scanned` with the directory `moved` (a product, or one above products) scanned again; `emit`
 * is told what one scan of the tree now would tell, in its order: what `scanned` said on the way to
 * `moved` and under it replaced by what the rescan says there (beside it nothing changed), and the
 * tree's totals now.
 */
export async function rescan(scanned: ToldScan, moved: string, emit: Emit): Promise<Tree> {
	const fresh: PipelineEvent[] = [];
	const only = new Set([moved]);
	const tree = merged(scanned.tree, only, await scan(scanned.tree.root, event => {
		if ('path' in event && concerns(event.path, moved)) {
			fresh.push(event);
		}
	}, only));
	let told = false;
	const tell = () => {
		told = true;
		for (const event of fresh) {
			emit(event);
		}
	};

	for (const event of retold(scanned.told, scanned.tree)) {
		const path = 'path' in event ? event.path : undefined;
		if (!told && path !== undefined && (concerns(path, moved) || walkedAfter(path, moved))) {
			tell();
		}

		if (event.type !== 'scanned' && (path === undefined || !concerns(path, moved))) {
			emit(event);
		}
	}

	if (!told) {
		tell();
	}

	emit(scannedTotals(tree.products));
	return tree;
}
