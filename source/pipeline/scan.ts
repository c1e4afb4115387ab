// Stage 1: walk images/OS/RELEASE/ARCH/VARIANT/VERSION/ and say what is there. Reads directories,
// stats and requirements files; never opens an image file.
//
// The walk is sequential and uses the synchronous fs calls: a tree of 10,000 versions is 30,000
// readdir/stat calls, and through the promise API each one costs a thread-pool round trip several
// times the call itself (bench/RESULTS.md has the figures). The few requirements and aliases
// files are read as every bounded file is (util/small-file.ts), awaited. It yields to the event loop
// every few milliseconds, so a live display, Ctrl-C and a watcher stay responsive during a long scan.
import {lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats} from 'node:fs';
import {join} from 'node:path';
import {aliasFile, maxAliasesBytes, parseAliases} from '../domain/aliases.js';
import {architectureProblem} from '../domain/architectures.js';
import {fileRoles, roleOf, type Role} from '../domain/ftypes.js';
import {productSegmentProblem, segmentProblem, versionNameProblem, versionOrderProblem} from '../domain/naming.js';
import {maxRequirementsBytes, mergeRequirements, parseRequirements, requirementFiles, type Requirements} from '../domain/requirements.js';
import {because, warning} from '../domain/reasons.js';
import {compareText, inOrder} from '../util/compare.js';
import {errorCode} from '../util/errors.js';
import {isInside, readBoundedFile} from '../util/small-file.js';
import type {Emit, PipelineEvent, Scope} from './events.js';
import {child, fileCount, scannedVersion, under, visitFiles, type FileSeen, type FoundFile, type ProductRef, type ScannedProduct, type ScannedVersion, type Tree} from '../domain/tree.js';
import {imagesProblem} from './nothing.js';
import type {Listings} from './listings.js';

const levelNames = ['os', 'release', 'arch', 'variant', 'version'] as const;

const badName = (problem: string | undefined, level?: string) => (problem ? because('bad-name', problem, level) : undefined);
const levelScopes: Scope[] = ['tree', 'tree', 'tree', 'product', 'version'];

/** Requirements inherited from the levels above, or the file that makes them unusable. */
type Inherited = {levels: Requirements[]; broken?: string};

type Entry = {name: string; absolute: string; isDirectory: boolean};

/** Where a symbolic link leads, as stat sees it there. */
type Followed = Entry & {stats: Stats};

const preference = (name: string) => fileRoles.findIndex(f => f.name === name);

/** Which of `files` already has `role`, or -1 (a loop: findIndex would make a closure for every file of the tree). */
function twinIndex(files: readonly FoundFile[], role: Role): number {
	for (let index = 0; index < files.length; index++) {
		if (files[index]!.role.kind === role.kind && files[index]!.role.ftype === role.ftype) {
			return index;
		}
	}

	return -1;
}

const byName = (a: {name: string}, b: {name: string}) => compareText(a.name, b.name);

/**
 * `items` in order. Node lists a directory already sorted on Linux (libuv sorts by strcmp), and a
 * sort, even of three names, allocates working copies, which a tree of 10,000 versions pays for in
 * garbage collection (bench/RESULTS.md); checking the order first costs a comparison per name.
 */
function sorted<T>(items: T[], compare: (a: T, b: T) => number): T[] {
	return inOrder(items, compare) ? items : items.sort(compare);
}

/** How long the scan may hold the event loop before it lets timers and I/O run. */
const sliceMilliseconds = 8;

const sortedNames = (names: string[]) => sorted(names, compareText);

/**
 * `only`: the directories (by path: images/OS, images/OS/RELEASE, … a product) to scan with
 * everything under them, and nothing else; the watcher's rescan of what moved. Without it, the
 * whole tree. `listings`: version directories' listings to reuse while they hold, and to keep
 * (a -N run's, from and for its receipt).
 */
export async function scan(root: string, emit: Emit, only?: ReadonlySet<string>, listings?: Listings): Promise<Tree> {
	emit({type: 'scan-started', root});
	// Each directory asked for and those above it: the walk goes down through them.
	const above = only && new Set([...only].flatMap(path => path.split('/').map((_, index, parts) => parts.slice(0, index + 1).join('/'))));
	const wanted = (path: string) => {
		if (!only || above!.has(path)) {
			return true;
		}

		for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
			if (only.has(path.slice(0, slash))) {
				return true;
			}
		}

		return false;
	};

	const rootReal = realpathSync.native(root);
	let sliceStarted = performance.now();
	/** Whether the slice is used up: checked inline, as an await per version costs a tick each. */
	const due = () => performance.now() - sliceStarted >= sliceMilliseconds;
	const breathe = async () => {
		await new Promise(resolve => {
			setImmediate(resolve);
		});
		sliceStarted = performance.now();
	};

	const inside = (path: string) => isInside(rootReal, path);
	const products: ScannedProduct[] = [];
	const setAside: string[] = [];

	/** Follow a symbolic link, but only when it stays inside the web root. */
	function follow(absolute: string, name: string, rel: string, scope: Scope): Followed | undefined {
		try {
			const target = realpathSync.native(absolute);
			if (!inside(target)) {
				emit({type: 'skipped', scope, path: rel, ...because('link-outside-root', target)});
				return undefined;
			}

			const stats = statSync(target);
			return {name, absolute: target, isDirectory: stats.isDirectory(), stats};
		} catch (error) {
			emit({type: 'skipped', scope, path: rel, ...because('broken-link', errorCode(error))});
			return undefined;
		}
	}

	/** Resolve a directory entry: links are followed only when they stay inside the web root. */
	function resolve(dirent: Dirent, parent: string, rel: string, scope: Scope): Entry | undefined {
		const absolute = under(parent, dirent.name);
		return dirent.isSymbolicLink() ? follow(absolute, dirent.name, rel, scope) : {name: dirent.name, absolute, isDirectory: dirent.isDirectory()};
	}

	/** A directory's listing as `read` takes it, or none when it cannot be read (said, and the directory set aside). */
	function list<T>(read: () => T, rel: string, scope: Scope): T | undefined {
		try {
			return read();
		} catch (error) {
			emit({type: 'skipped', scope, path: rel, ...because('unreadable-directory', errorCode(error))});
			setAside.push(rel);
			return undefined;
		}
	}

	async function requirementsAt(absolute: string, rel: string, names: Set<string>, inherited: Inherited): Promise<Inherited> {
		let {levels, broken} = inherited;
		for (const file of requirementFiles) {
			if (!names.has(file) || broken) {
				continue;
			}

			const path = `${rel}/${file}`;
			try {
				levels = [...levels, parseRequirements((await readBoundedFile(join(absolute, file), {root: rootReal, limit: maxRequirementsBytes})).toString('utf8'))];
			} catch (error) {
				broken = `${path} ${(error as NodeJS.ErrnoException).code ? `cannot be read (${errorCode(error)})` : (error as Error).message}`;
				emit({type: 'warning', path, ...warning('requirements-broken', broken)});
			}
		}

		return {levels, broken};
	}

	async function extraAliases(absolute: string, rel: string, dirents: Dirent[]): Promise<string[]> {
		if (!dirents.some(d => d.name === aliasFile)) {
			return [];
		}

		const path = `${rel}/${aliasFile}`;
		try {
			const {aliases, problems} = parseAliases((await readBoundedFile(join(absolute, aliasFile), {root: rootReal, limit: maxAliasesBytes})).toString('utf8'));
			for (const problem of problems) {
				emit({type: 'warning', path, ...warning('alias-line', problem)});
			}

			return aliases;
		} catch (error) {
			const why = (error as NodeJS.ErrnoException).code ? `cannot be read (${errorCode(error)})` : (error as Error).message;
			emit({type: 'warning', path, ...warning('aliases-unreadable', why)});
			return [];
		}
	}

	/** `rooted`: whether `entry` is where its path says under the root, no link on the way. */
	function version(product: ProductRef, entry: Entry, rel: string, rooted: boolean): ScannedVersion | undefined {
		// Names, not directory entries: only the files named for a role are looked at, with one
		// lstat each that also tells a link from a file.
		const names = list(() => (listings ? listings.names(entry.absolute, product.path, entry.name, sortedNames) : sortedNames(readdirSync(entry.absolute))), rel, 'version');
		if (!names) {
			return undefined;
		}

		// Where the files are read, when not under the root at their paths.
		const away = rooted ? undefined : entry.absolute;
		const files: FoundFile[] = [];
		for (const name of names) {
			// Concatenated: a found file's path goes into events, and is joined flat only where a version keeps it (scannedVersion).
			const path = `${rel}/${name}`;
			if (requirementFiles.includes(name as typeof requirementFiles[number])) {
				emit({type: 'warning', path, ...warning('requirements-misplaced')});
			}

			const role = roleOf(name);
			if (!role) {
				continue;
			}

			try {
				const absolute = under(entry.absolute, name);
				let stats = lstatSync(absolute);
				// Where it is read when that is not under the root at its path: in a version reached through
				// a link, or (below) at a followed link's target, never where the link's own path says.
				let elsewhere = away && absolute;
				if (stats.isSymbolicLink()) {
					const target = follow(absolute, name, path, 'file');
					if (!target) {
						continue;
					}

					({absolute: elsewhere, stats} = target);
				}

				if (!stats.isFile()) {
					emit({type: 'skipped', scope: 'file', path, ...because('not-a-file')});
					continue;
				}

				const file: FoundFile = {name, path, role, identity: stats, elsewhere};
				const twin = twinIndex(files, role);
				if (twin === -1) {
					files.push(file);
					continue;
				}

				// Two names for one role: the one earlier in fileRoles serves, the other is left out.
				const [kept, left] = preference(name) < preference(files[twin]!.name) ? [file, files[twin]!] : [files[twin]!, file];
				files[twin] = kept;
				emit({type: 'skipped', scope: 'file', path: left.path, ...because('role-taken', kept.path, role.ftype)});
			} catch (error) {
				emit({type: 'skipped', scope: 'file', path, ...because('unstatable', errorCode(error))});
			}
		}

		emit(foundEvent({product, name: entry.name, path: rel, files}));
		return scannedVersion(product, entry.name, rel, rootReal, files);
	}

	async function product(segments: string[], absolute: string, rel: string, dirents: Dirent[], inherited: Inherited) {
		const [os, release, arch, variant] = segments as [string, string, string, string];
		const ref: ProductRef = {id: `${os}:${release}:${arch}:${variant}`, os, release, arch, variant, path: rel};
		if (inherited.broken) {
			emit({type: 'skipped', scope: 'product', path: rel, ...because('requirements-unusable', inherited.broken)});
			setAside.push(rel);
			return;
		}

		// Whether the product directory is where its path says under the root: then so is each version
		// in it that is no link, known once a product rather than by comparing every version's two paths.
		const rooted = absolute === under(rootReal, rel);
		const versions: ScannedVersion[] = [];
		for (const dirent of dirents) {
			if (due()) {
				await breathe();
			}

			const path = child(rel, dirent.name);
			const entry = resolve(dirent, absolute, path, 'version');
			if (!entry?.isDirectory) {
				continue;
			}

			const problem = dirent.name.startsWith('.') ? because('uploading') : badName(versionNameProblem(dirent.name) ?? segmentProblem(dirent.name));
			if (problem) {
				emit({type: 'skipped', scope: 'version', path, ...problem});
				continue;
			}

			const scanned = version(ref, entry, path, rooted && !dirent.isSymbolicLink());
			if (scanned) {
				versions.push(scanned);
			}
		}

		const order = versionOrderProblem(versions.map(v => v.name));
		if (order) {
			emit({type: 'warning', path: rel, ...warning('version-order', order)});
		}

		products.push({ref, requirements: mergeRequirements(inherited.levels), aliases: await extraAliases(absolute, rel, dirents), versions});
	}

	async function walk(segments: string[], absolute: string, rel: string, inherited: Inherited): Promise<void> {
		const depth = segments.length;
		// Children at this depth are level `depth`; this directory itself is the level above.
		const scope = levelScopes[depth - 1] ?? 'tree';
		if (due()) {
			await breathe();
		}

		const dirents = list(() => sorted(readdirSync(absolute, {withFileTypes: true}), byName), rel, scope);
		if (!dirents) {
			return;
		}

		const here = await requirementsAt(absolute, rel, new Set(dirents.map(d => d.name)), inherited);
		if (depth === 4) {
			await product(segments, absolute, rel, dirents, here);
			return;
		}

		for (const dirent of dirents) {
			const path = child(rel, dirent.name);
			if (!wanted(path)) {
				continue;
			}

			const entry = resolve(dirent, absolute, path, levelScopes[depth] ?? 'tree');
			if (!entry?.isDirectory) {
				continue;
			}

			const level = levelNames[depth]!;
			const arch = level === 'arch' ? architectureProblem(dirent.name) : undefined;
			const problem = dirent.name.startsWith('.') ? because('uploading')
				: arch ? because('bad-arch', arch) : badName(productSegmentProblem(dirent.name), level);
			if (problem) {
				emit({type: 'skipped', scope: levelScopes[depth] ?? 'tree', path, ...problem});
				continue;
			}

			await walk([...segments, dirent.name], entry.absolute, path, here);
		}
	}

	// Whether images/ can be walked is nothing.ts's rule; whether an empty tree may be published, its decision.
	const problem = imagesProblem(rootReal);
	if (problem) {
		emit({type: 'warning', path: 'images', ...problem});
		return {root: rootReal, products, setAside};
	}

	const images = join(rootReal, 'images');
	await walk([], images, 'images', {levels: []});
	products.sort((a, b) => compareText(a.ref.id, b.ref.id));
	emit(scannedTotals(products));
	return {root: rootReal, products, setAside};
}

/**
 * A version directory found, with its recognised files. The scan tells it from the files as it
 * found them, before the version keeps only their names and numbers (scannedVersion).
 */
export const foundEvent = ({product, name, path, files}: Omit<ScannedVersion, 'files'> & {files: readonly FileSeen[]}): Extract<PipelineEvent, {type: 'found'}> =>
	({type: 'found', product, version: name, path, files: files.map(f => ({path: f.path, size: f.identity.size}))});

/** What a scan found, counted: the event that ends it. */
export function scannedTotals(products: readonly ScannedProduct[]): Extract<PipelineEvent, {type: 'scanned'}> {
	let versions = 0;
	let files = 0;
	let bytes = 0;
	const count = (file: FileSeen) => {
		bytes += file.identity.size;
	};

	// By index: see treeKey (receipt.ts).
	for (const product of products) {
		versions += product.versions.length;
		for (let v = 0; v < product.versions.length; v++) {
			const version = product.versions[v]!;
			files += fileCount(version);
			visitFiles(version, count);
		}
	}

	return {type: 'scanned', products: products.length, versions, files, bytes};
}
