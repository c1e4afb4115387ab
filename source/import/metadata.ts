// What a tarball in SRC is (metadata, unified image, rootfs or neither), read from its first
// entries only, and metadata.yaml parsed with a real YAML parser and checked as the clients would.
import {isMap, isScalar, parseDocument, type Node} from 'yaml';
import {architectureProblem} from '../domain/architectures.js';
import {entryHead, entryName, OverBudget, tarEntries, type TarContent} from './tarball.js';

export type Metadata = {
	/** As written in metadata.yaml, when it has one (already checked to be a known name). */
	architecture?: string;
	/** Unix seconds, UTC. */
	creationDate: number;
	/** The properties as written: `release: 22.10` stays "22.10". */
	properties: Record<string, string>;
};

export type TarballKind =
	/** Holds metadata.yaml: its text, or why it cannot be used. */
	| {kind: 'metadata'; yaml?: string; problem?: string}
	/** metadata.yaml and the rootfs in one file. */
	| {kind: 'unified'; entry: string}
	/** Entries relative to / (bin/, etc/, …): a container rootfs tarball. */
	| {kind: 'rootfs'}
	| {kind: 'other'; reason: string};

/** metadata.yaml is a few KiB; a large one is not what it claims to be. */
const maxYaml = 1024 * 1024;

/** metadata.yaml and templates/ unpack to a few KiB: reading stops well past that. */
const metadataBudget = 64 * 1024 * 1024;

/** What the top of a root filesystem holds (a tarball of one lists them in directory order, so any may come first). */
const rootTops = new Set(['bin', 'boot', 'dev', 'etc', 'home', 'lib', 'lib32', 'lib64', 'libx32', 'media', 'mnt', 'opt', 'proc', 'root', 'run', 'sbin', 'srv', 'sys', 'tmp', 'usr', 'var',
	'lost+found', 'snap', 'cdrom', 'selinux', 'initrd.img', 'initrd.img.old', 'vmlinuz', 'vmlinuz.old']);

/**
 * Reads entries until the kind is clear: a metadata tarball is read to its end (it is small), any
 * other stops at its first entry that is not metadata.yaml or templates/.
 */
export async function inspectTarball(file: string, content: TarContent): Promise<TarballKind> {
	let metadata: {yaml?: string; problem?: string} | undefined;
	try {
		for await (const entry of tarEntries(file, content, metadataBudget)) {
			const name = entryName(entry);
			const {type, size = 0} = entry.header;
			if (name === 'metadata.yaml') {
				metadata = type !== 'file' && type !== 'contiguous-file'
					? {problem: `metadata.yaml is ${type === 'symlink' ? 'a symbolic link' : type === 'link' ? 'a hard link' : `a ${type ?? 'special entry'}`}, not a regular file (LXD and Incus refuse it)`}
					: size > maxYaml ? {problem: `metadata.yaml is ${size} bytes, too large to be image metadata`} : {yaml: (await entryHead(entry, maxYaml)).toString('utf8')};
				continue;
			}

			if (name === '' || name === '.' || name === 'templates' || name.startsWith('templates/')) {
				continue;
			}

			if (name === 'rootfs' || name.startsWith('rootfs/') || name === 'rootfs.img') {
				return {kind: 'unified', entry: name};
			}

			if (metadata) {
				break;
			}

			return rootTops.has(name.split('/')[0]!) ? {kind: 'rootfs'} : {kind: 'other', reason: `a tarball of neither image metadata nor a root filesystem (first entry: ${name})`};
		}
	} catch (error) {
		if (error instanceof OverBudget) {
			return metadata ? {kind: 'metadata', problem: `${error.message}: too large to be image metadata (metadata.yaml and templates/)`} : {kind: 'other', reason: `${error.message} before saying what it holds`};
		}

		return {kind: 'other', reason: `not a readable tarball (${(error as Error).message})`};
	}

	return metadata ? {kind: 'metadata', ...metadata} : {kind: 'other', reason: 'a tarball without metadata.yaml'};
}

/** A scalar's text as written, so `22.10` is not read as the number 22.1. */
const scalarText = (node: unknown) => (isScalar(node) ? node.source ?? String(node.value) : undefined);

/** Parse and check metadata.yaml; throws an Error whose message starts with "metadata.yaml". */
export function parseMetadata(text: string): Metadata {
	const document = parseDocument(text);
	const [syntax] = document.errors;
	if (syntax) {
		throw new Error(`metadata.yaml is not valid YAML: ${syntax.message.split('\n')[0]!}`);
	}

	const top = document.contents;
	if (!isMap(top)) {
		throw new Error('metadata.yaml is not a YAML mapping');
	}

	// `key:` and `key: ~` say nothing, like a missing key.
	const field = (key: string) => {
		const node = top.get(key, true) as Node | undefined;
		return isScalar(node) && node.value === null ? undefined : node;
	};

	const date = field('creation_date');
	if (date === undefined) {
		throw new Error('metadata.yaml has no creation_date (unix seconds), which LXD and Incus require');
	}

	const seconds = isScalar(date) ? date.value : undefined;
	if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds <= 0) {
		throw new Error(`metadata.yaml has creation_date ${JSON.stringify(scalarText(date) ?? String(date))}; it must be a positive whole number of seconds since 1970`);
	}

	const archNode = field('architecture');
	const architecture = archNode === undefined ? undefined : scalarText(archNode);
	if (archNode !== undefined && architecture === undefined) {
		throw new Error('metadata.yaml has an architecture that is not a plain name');
	}

	const problem = architecture === undefined ? undefined : architectureProblem(architecture);
	if (problem) {
		throw new Error(`metadata.yaml: ${problem}`);
	}

	const properties: Record<string, string> = {};
	const props = field('properties');
	if (props !== undefined && !isMap(props)) {
		throw new Error('metadata.yaml has properties that are not a mapping');
	}

	for (const pair of isMap(props) ? props.items : []) {
		const key = scalarText(pair.key);
		const value = scalarText(pair.value);
		if (key === undefined || value === undefined) {
			throw new Error(`metadata.yaml has a property that is not a plain string (${String(key ?? pair.key)})`);
		}

		properties[key] = value;
	}

	return {...(architecture === undefined ? {} : {architecture}), creationDate: seconds, properties};
}
