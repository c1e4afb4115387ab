// Stage 1: walk images/OS/RELEASE/ARCH/VARIANT/VERSION/ and say what is there. Reads directories,
// stats and requirements files; never opens an image file.
import type {Dirent, BigIntStats} from 'node:fs';
import {readdir, readFile, realpath, stat} from 'node:fs/promises';
import {join, sep} from 'node:path';
import {aliasFile, parseAliases} from '../domain/aliases.js';
import {architectureProblem} from '../domain/architectures.js';
import {roleOf} from '../domain/ftypes.js';
import {segmentProblem, versionNameProblem} from '../domain/naming.js';
import {mergeRequirements, parseRequirements, requirementFiles, type Requirements} from '../domain/requirements.js';
import type {Emit, Scope} from './events.js';
import type {FileIdentity, ImageFile, ProductRef, ScannedProduct, ScannedVersion, Tree} from './model.js';

const levelNames = ['os', 'release', 'arch', 'variant', 'version'] as const;
const levelScopes: Scope[] = ['tree', 'tree', 'tree', 'product', 'version'];

/** Requirements inherited from the levels above, or the file that makes them unusable. */
type Inherited = {levels: Requirements[]; broken?: string};

type Entry = {name: string; absolute: string; isDirectory: boolean; stats?: BigIntStats};

export function identityOf(stats: BigIntStats): FileIdentity {
	return {
		dev: stats.dev.toString(),
		ino: stats.ino.toString(),
		size: Number(stats.size),
		mtimeNs: stats.mtimeNs.toString(),
		ctimeNs: stats.ctimeNs.toString(),
	};
}

const byName = (a: {name: string}, b: {name: string}) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

const errorText = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

export async function scan(root: string, emit: Emit): Promise<Tree> {
	emit({type: 'scan-started', root});
	const rootReal = await realpath(root);
	const inside = (path: string) => path === rootReal || path.startsWith(rootReal + sep);
	const products: ScannedProduct[] = [];

	/** Resolve a directory entry: links are followed only when they stay inside the web root. */
	async function resolve(dirent: Dirent, parent: string, rel: string, scope: Scope): Promise<Entry | undefined> {
		const absolute = join(parent, dirent.name);
		if (!dirent.isSymbolicLink()) {
			return {name: dirent.name, absolute, isDirectory: dirent.isDirectory()};
		}

		try {
			const target = await realpath(absolute);
			if (!inside(target)) {
				emit({type: 'skipped', scope, path: rel, reason: `symbolic link to ${target}, outside the web root`});
				return undefined;
			}

			const stats = await stat(target, {bigint: true});
			return {name: dirent.name, absolute: target, isDirectory: stats.isDirectory(), stats};
		} catch (error) {
			emit({type: 'skipped', scope, path: rel, reason: `broken symbolic link (${errorText(error)})`});
			return undefined;
		}
	}

	async function list(absolute: string, rel: string, scope: Scope): Promise<Dirent[] | undefined> {
		try {
			return (await readdir(absolute, {withFileTypes: true})).sort(byName);
		} catch (error) {
			emit({type: 'skipped', scope, path: rel, reason: `cannot read directory (${errorText(error)})`});
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
				levels = [...levels, parseRequirements(await readFile(join(absolute, file), 'utf8'))];
			} catch (error) {
				broken = `${path} ${(error as NodeJS.ErrnoException).code ? `cannot be read (${errorText(error)})` : (error as Error).message}`;
				emit({type: 'warning', path, message: broken});
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
			const {aliases, problems} = parseAliases(await readFile(join(absolute, aliasFile), 'utf8'));
			for (const problem of problems) {
				emit({type: 'warning', path, message: problem});
			}

			return aliases;
		} catch (error) {
			emit({type: 'warning', path, message: `cannot be read (${errorText(error)}); no extra aliases`});
			return [];
		}
	}

	async function version(product: ProductRef, entry: Entry, rel: string): Promise<ScannedVersion | undefined> {
		const dirents = await list(entry.absolute, rel, 'version');
		if (!dirents) {
			return undefined;
		}

		const files: ImageFile[] = [];
		for (const dirent of dirents) {
			const role = roleOf(dirent.name);
			const path = `${rel}/${dirent.name}`;
			if (requirementFiles.includes(dirent.name as typeof requirementFiles[number])) {
				emit({type: 'warning', path, message: 'requirements apply to whole products: put this file in the variant directory or above; ignored'});
			}

			if (!role) {
				continue;
			}

			const resolved = await resolve(dirent, entry.absolute, path, 'file');
			if (!resolved) {
				continue;
			}

			try {
				const stats = resolved.stats ?? await stat(resolved.absolute, {bigint: true});
				if (!stats.isFile()) {
					emit({type: 'skipped', scope: 'file', path, reason: 'not a regular file'});
					continue;
				}

				const twin = files.find(f => f.role.kind === role.kind && f.role.ftype === role.ftype);
				if (twin) {
					emit({type: 'skipped', scope: 'file', path, reason: `${twin.path} already serves as ${role.ftype}`});
					continue;
				}

				files.push({path, absolute: resolved.absolute, role, identity: identityOf(stats)});
			} catch (error) {
				emit({type: 'skipped', scope: 'file', path, reason: `cannot stat (${errorText(error)})`});
			}
		}

		emit({type: 'found', product, version: entry.name, path: rel, files: files.map(f => ({path: f.path, size: f.identity.size}))});
		return {product, name: entry.name, path: rel, files};
	}

	async function product(segments: string[], absolute: string, rel: string, dirents: Dirent[], inherited: Inherited) {
		const [os, release, arch, variant] = segments as [string, string, string, string];
		const ref: ProductRef = {id: `${os}:${release}:${arch}:${variant}`, os, release, arch, variant, path: rel};
		if (inherited.broken) {
			emit({type: 'skipped', scope: 'product', path: rel, reason: `its requirements are unusable: ${inherited.broken}`});
			return;
		}

		const versions = await Promise.all(dirents.map(async dirent => {
			const path = `${rel}/${dirent.name}`;
			const entry = await resolve(dirent, absolute, path, 'version');
			if (!entry?.isDirectory) {
				return undefined;
			}

			const problem = dirent.name.startsWith('.') ? 'upload in progress (name starts with a dot)' : versionNameProblem(dirent.name) ?? segmentProblem(dirent.name);
			if (problem) {
				emit({type: 'skipped', scope: 'version', path, reason: problem});
				return undefined;
			}

			return version(ref, entry, path);
		}));

		products.push({ref, requirements: mergeRequirements(inherited.levels), aliases: await extraAliases(absolute, rel, dirents), versions: versions.filter(v => v !== undefined)});
	}

	async function walk(segments: string[], absolute: string, rel: string, inherited: Inherited): Promise<void> {
		const depth = segments.length;
		const scope = levelScopes[depth] ?? 'tree';
		const dirents = await list(absolute, rel, scope);
		if (!dirents) {
			return;
		}

		const here = await requirementsAt(absolute, rel, new Set(dirents.map(d => d.name)), inherited);
		if (depth === 4) {
			await product(segments, absolute, rel, dirents, here);
			return;
		}

		const children: Array<Promise<void>> = [];
		for (const dirent of dirents) {
			const path = `${rel}/${dirent.name}`;
			const entry = await resolve(dirent, absolute, path, levelScopes[depth + 1] ?? 'tree');
			if (!entry?.isDirectory) {
				continue;
			}

			const level = levelNames[depth]!;
			const problem = dirent.name.startsWith('.')
				? 'upload in progress (name starts with a dot)'
				: (level === 'arch' ? architectureProblem(dirent.name) : undefined) ?? segmentProblem(dirent.name);
			if (problem) {
				emit({type: 'skipped', scope: levelScopes[depth + 1] ?? 'tree', path, reason: `${level} ${problem}`});
				continue;
			}

			children.push(walk([...segments, dirent.name], entry.absolute, path, here));
		}

		await Promise.all(children);
	}

	const images = join(rootReal, 'images');
	try {
		if (!(await stat(images)).isDirectory()) {
			throw new Error('not a directory');
		}
	} catch {
		emit({type: 'warning', path: 'images', message: 'there is no images/ directory: nothing to publish'});
		return {root: rootReal, products};
	}

	await walk([], images, 'images', {levels: []});
	products.sort((a, b) => (a.ref.id < b.ref.id ? -1 : a.ref.id > b.ref.id ? 1 : 0));
	const versions = products.flatMap(p => p.versions);
	const files = versions.flatMap(v => v.files);
	emit({type: 'scanned', products: products.length, versions: versions.length, files: files.length, bytes: files.reduce((sum, f) => sum + f.identity.size, 0)});
	return {root: rootReal, products};
}
