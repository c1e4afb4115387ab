// Pure: from the settled fields to the destination, one operation per file, and what the streams
// will gain; plus the text that shows it (the dry run prints it, the wizard draws it).
import {aliasFile, defaultAliases, formatAliases} from '../domain/aliases.js';
import {fileNameOf, madeMetadataName, roleOf} from '../domain/ftypes.js';
import {rootFtypes, type RootFtype} from '../streams/ftypes.js';
import {versionOrderProblem} from '../domain/naming.js';
import {mergeRequirements, requirementFiles, type Requirements} from '../domain/requirements.js';
import {printable} from '../util/printable.js';
import {formatBytes} from '../util/format.js';
import type {Found, SourceFile, SourceRoot} from './found.js';
import {extraAliasProblem, productId, productPath, type Choices, type Fields} from './propose.js';
import type {Destination} from './destination.js';

/** rename: same filesystem; copy-remove: another filesystem (copy, verify, then remove); copy: --copy. */
export type Method = 'rename' | 'copy-remove' | 'copy';

export type FileOp = {source: SourceFile; name: string; method: Method; ftype?: RootFtype};

export type ImportPlan = {
	found: Found;
	root: string;
	choices: Choices;
	productId: string;
	/** `images/os/release/arch/variant`, relative to the root. */
	productPath: string;
	/** The version directory, relative to the root. */
	destination: string;
	files: FileOp[];
	/** The version exists and --force replaces it. */
	replace: boolean;
	newProduct: boolean;
	/** The product's versions after the import, newest first. */
	versions: string[];
	aliases: {all: string[]; added: string[]; text?: string};
	/** The requirements file of the variant, the keys it gains, and what the product ends up with. */
	requirements: {path: string; file: Requirements; added: Requirements; effective: Requirements};
	/** What stops the import (it is not executed while there is one). */
	problems: string[];
};

export type PlanOptions = {
	root: string;
	copy: boolean;
	force: boolean;
	existingVersions: readonly string[];
	/** The other products' aliases for this architecture, with the product that has each. */
	taken: ReadonlyMap<string, string>;
};

export function planImport(found: Found, choices: Choices, destination: Destination, options: PlanOptions): ImportPlan {
	const {fields} = choices;
	const product = productPath(fields);
	const rel = `${product}/${fields.version}`;
	const method = (file: SourceFile): Method => (options.copy ? 'copy' : file.dev === destination.dev ? 'rename' : 'copy-remove');
	const metaName = roleOf(found.meta.name)?.kind === 'meta' ? found.meta.name : madeMetadataName;
	const files: FileOp[] = [
		{source: found.meta, name: metaName, method: method(found.meta)},
		...found.roots.map(root => ({source: root, name: fileNameOf(root.ftype)!, method: method(root), ftype: root.ftype})),
	];
	const problems: string[] = [];
	if (destination.exists && !options.force) {
		problems.push(`${rel} already exists: choose another version, or pass --force to replace it`);
	}

	// The variant's .lxd_requirements gains the new keys. Levels above it give way to it; only the
	// variant's own .requirements, which the generator applies after it, can override it.
	const path = `${product}/${requirementFiles[0]}`;
	const held = destination.levels.find(l => l.path === path)?.requirements ?? {};
	const file = {...held, ...choices.requirements};
	// A requirement the file already holds with this value is nothing new (nor a reason to write it).
	const gained = Object.fromEntries(Object.entries(choices.requirements).filter(([key, value]) => held[key] !== value));
	const after = destination.levels.find(l => l.path === `${product}/${requirementFiles[1]}`);
	const above = destination.levels.filter(l => !l.path.startsWith(`${product}/`)).map(l => l.requirements);
	const effective = mergeRequirements([...above, file, after?.requirements ?? {}]);
	for (const [key, value] of Object.entries(choices.requirements)) {
		if (effective[key] !== value) {
			problems.push(`requirement ${key}=${value} would be overridden by ${key}=${effective[key]!} in ${after!.path}: change it there`);
		}
	}

	const existingAliases = [...defaultAliases(fields.os, fields.release, fields.variant), ...destination.extraAliases];
	// Aliases the product has already are no problem: a nightly import may pass the same ones every time.
	const added = [...new Set(choices.aliases)].filter(alias => !existingAliases.includes(alias));
	for (const [index, alias] of added.entries()) {
		const problem = extraAliasProblem(alias, [...existingAliases, ...added.slice(0, index)], options.taken);
		if (problem) {
			problems.push(problem);
		}
	}

	// Appended to the file as it is, so the operator's comments and order stay.
	const text = added.length === 0 ? undefined
		: destination.aliasesText === undefined ? formatAliases(added)
			: `${destination.aliasesText}${destination.aliasesText === '' || destination.aliasesText.endsWith('\n') ? '' : '\n'}${added.join('\n')}\n`;
	const versions = [...new Set([...options.existingVersions, fields.version])].sort().reverse();
	// Clients take the newest version by string order: a name in another form could sort wrong.
	const order = versionOrderProblem(options.existingVersions) ? undefined : versionOrderProblem(versions);
	if (order) {
		problems.push(`${order} (the product's versions are named like ${options.existingVersions[0]!})`);
	}

	return {
		found,
		root: options.root,
		choices,
		productId: productId(fields),
		productPath: product,
		destination: rel,
		files,
		replace: destination.exists && options.force,
		newProduct: options.existingVersions.length === 0,
		versions,
		aliases: {all: [...existingAliases, ...added], added, ...(text === undefined ? {} : {text})},
		requirements: {path, file, added: gained, effective},
		problems,
	};
}

const methodText: Record<Method, string> = {
	rename: 'move',
	'copy-remove': 'move (another filesystem: copy, verify, remove the source)',
	copy: 'copy (the source stays)',
};

/** What the rootfs binaries said about the architecture (a qcow2 disk is not looked into). */
function archText({source, ftype}: FileOp): string {
	const {arch} = source as SourceRoot;
	return !ftype || rootFtypes[ftype].type === 'virtual-machine' ? '' : arch ? `, built for ${arch.arches.join(' or ')} (${printable(arch.binary)})` : ', architecture not checked';
}

const imageText = (ftype: RootFtype) => `${rootFtypes[ftype].type === 'virtual-machine' ? 'a virtual machine' : 'a container'} (${ftype})`;

/** The plan as lines of text. */
export function describePlan(plan: ImportPlan): string[] {
	const {choices: {fields}, found} = plan;
	const width = Math.max(...plan.files.map(f => f.name.length));
	const sizeWidth = Math.max(...plan.files.map(f => formatBytes(f.source.size).length));
	const requirements = Object.entries(plan.requirements.effective).map(([k, v]) => `${k}=${v}${plan.requirements.added[k] === undefined ? '' : ' (new)'}`);
	const description = found.meta.metadata.properties.description;
	const newest = plan.versions[0] === fields.version;
	return [
		`${plan.replace ? 'replace' : 'create'} ${plan.destination}/  in ${plan.root}`,
		...plan.files.map(f => `  ${f.name.padEnd(width)}  ${formatBytes(f.source.size).padStart(sizeWidth)}  ${methodText[f.method]}, ${f.source.origin ?? `from ${printable(f.source.name)}`}${archText(f)}`),
		...found.ignored.map(i => `  (left in ${printable(found.dir)}: ${printable(i.name)}, ${i.reason})`),
		'the streams gain:',
		`  product ${plan.productId}${plan.newProduct ? ' (new)' : `, now ${plan.versions.length} versions`}`,
		`  version ${fields.version}: ${plan.files.flatMap(f => (f.ftype ? [imageText(f.ftype)] : [])).join(', ')}, for LXD and Incus`,
		...(description ? [`  described in metadata.yaml as: ${printable(description)}`] : []),
		`  aliases: ${plan.aliases.all.map(a => (plan.aliases.added.includes(a) ? `${a} (new, in ${aliasFile})` : a)).join(', ')}`
			+ (newest ? '' : ` (they stay on the newer ${plan.versions[0]!})`),
		`  requirements: ${requirements.length > 0 ? requirements.join(', ') : 'none'}`,
		...plan.problems.map(p => `problem: ${p}`),
	];
}

/** A word the shell passes through unchanged, quoted only when it must be. */
const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll('\'', '\'\\\'\'')}'`);

/** The command line that imports exactly this without questions. */
export function commandLine(plan: ImportPlan, options: {copy: boolean; force: boolean}): string {
	const {fields, aliases, requirements} = plan.choices;
	const words = [
		'simplestreams', '-i', plan.found.dir, '-N',
		...(Object.entries(fields) as Array<[keyof Fields, string]>).flatMap(([name, value]) => [`--${name}`, value]),
		...aliases.flatMap(alias => ['--alias', alias]),
		...Object.entries(requirements).flatMap(([key, value]) => ['--requirement', `${key}=${value}`]),
		...(options.copy ? ['--copy'] : []),
		...(options.force ? ['--force'] : []),
		'--yes', plan.root,
	];
	return words.map(w => shellWord(w)).join(' ');
}
