// Drives the real lxc (LXD 5.0) and incus (6.0) CLIs against a simplestreams server, without a
// daemon: only remote-side commands (image list/info/alias list/export) work that way.
import {createHash} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {mkdir, readdir} from 'node:fs/promises';
import path from 'node:path';
import {execa} from 'execa';
import {requireTool, tempDir} from './images.js';
import {serve, type Server} from './server.js';

export type ClientKind = 'lxc' | 'incus';

/** One entry of `image list REMOTE: --format json` (the fields tests look at). */
export type ListedImage = {
	fingerprint: string;
	type: 'container' | 'virtual-machine';
	architecture: string;
	filename: string;
	size: number;
	public: boolean;
	created_at: string;
	expires_at: string;
	properties: Record<string, string>;
	aliases: Array<{name: string; description: string}>;
};

/** One entry of `image alias list REMOTE: --format json`. */
export type ListedAlias = {name: string; target: string; type: 'container' | 'virtual-machine'; description: string};

/** `image info` output: the raw text plus its "Key: value" lines, properties and aliases. */
export type ImageInfo = {
	text: string;
	fingerprint: string;
	fields: Record<string, string>;
	properties: Record<string, string>;
	aliases: string[];
};

export type RunResult = {stdout: string; stderr: string; exitCode: number};

export type Remote = {
	kind: ClientKind;
	/** Remote name as registered (use as `${name}:alias`). */
	name: string;
	/** The env every command runs with (LXD_CONF/INCUS_CONF, INCUS_CACHE, HOME, SSL_CERT_FILE). */
	env: Record<string, string>;
	list(): Promise<ListedImage[]>;
	aliases(): Promise<ListedAlias[]>;
	info(aliasOrFp: string, opts?: {vm?: boolean}): Promise<ImageInfo>;
	/**
	 * Downloads an image into the new or empty directory `dir` and returns [meta, rootfs] for split
	 * images or [file] for unified ones. The client names each file after the basename of its item path.
	 */
	export(aliasOrFp: string, dir: string, opts?: {vm?: boolean}): Promise<string[]>;
	/** Escape hatch: any subcommand. Throws with stderr on failure unless `reject: false`. */
	run(args: string[], opts?: {reject?: boolean}): Promise<RunResult>;
	/** Removes the client's private config/cache dir. */
	close(): Promise<void>;
};

// Proxies must not intercept loopback (Go honours both spellings).
const proxyVars = /^(https?|no|all)_proxy$/i;

/**
 * Registers `url` as a public simplestreams remote in a private config dir. The CA is trusted via
 * SSL_CERT_FILE (Go reads it instead of the system bundle), so no --accept-certificate or pinned
 * servercerts/ file is needed. INCUS_CACHE and HOME keep incus's 5-minute index cache private.
 */
export async function remote(kind: ClientKind, url: string, caFile: string, name = 'test'): Promise<Remote> {
	await requireTool(kind);
	const tmp = await tempDir(`ss-${kind}`);
	const env: Record<string, string> = {};
	for (const [k, v] of Object.entries(process.env)) {
		if (v !== undefined && !proxyVars.test(k)) {
			env[k] = v;
		}
	}

	Object.assign(env, {
		HOME: path.join(tmp.path, 'home'),
		LXD_CONF: path.join(tmp.path, 'conf'),
		INCUS_CONF: path.join(tmp.path, 'conf'),
		INCUS_CACHE: path.join(tmp.path, 'cache'),
		SSL_CERT_FILE: caFile,
		LC_ALL: 'C', // stable messages for assertions
	});
	delete env.SSL_CERT_DIR; // would add the system roots back
	for (const d of ['home', 'conf', 'cache']) {
		await mkdir(path.join(tmp.path, d), {recursive: true});
	}

	// One command at a time: incus writes its index cache in place (not by rename), so a second
	// incus started meanwhile can read half a file ("unexpected end of JSON input"), as tests that
	// share a remote and run concurrently did.
	let previous: Promise<unknown> = Promise.resolve();
	const run = async (args: string[], opts: {reject?: boolean} = {}): Promise<RunResult> => {
		const turn = previous.then(async () => execa(kind, args, {env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 60_000}));
		previous = turn.catch(() => undefined);
		const r = await turn;
		const result = {stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1};
		if (result.exitCode !== 0 && opts.reject !== false) {
			throw new Error(`${kind} ${args.join(' ')} failed (exit ${result.exitCode}${r.timedOut ? ', timed out' : ''}): ${r.stderr || r.stdout}`);
		}

		return result;
	};

	const json = async <T>(args: string[]): Promise<T> => JSON.parse((await run(args)).stdout) as T;
	const vmFlag = (o?: {vm?: boolean}) => (o?.vm ? ['--vm'] : []);

	try {
		await run(['remote', 'add', name, url, '--protocol=simplestreams', '--public']);
	} catch (error) {
		await tmp.cleanup();
		throw error;
	}

	return {
		kind,
		name,
		env,
		run,
		list: async () => json<ListedImage[]>(['image', 'list', `${name}:`, '--format', 'json']),
		aliases: async () => json<ListedAlias[]>(['image', 'alias', 'list', `${name}:`, '--format', 'json']),
		async info(aliasOrFp, opts) {
			return parseInfo((await run(['image', 'info', `${name}:${aliasOrFp}`, ...vmFlag(opts)])).stdout);
		},
		async export(aliasOrFp, dir, opts) {
			await mkdir(dir, {recursive: true});
			const before = new Set(await readdir(dir));
			await run(['image', 'export', '--quiet', `${name}:${aliasOrFp}`, dir, ...vmFlag(opts)]);
			const files = (await readdir(dir)).filter(f => !before.has(f)).map(f => path.join(dir, f));
			if (files.length !== 2) {
				return files;
			}

			// Both files carry server names: the metadata one is the tarball holding metadata.yaml.
			const isMeta = await Promise.all(files.map(async f => isMetadataTarball(f)));
			if (isMeta[0] === isMeta[1]) {
				throw new Error(`cannot tell metadata from rootfs among ${files.join(', ')}`);
			}

			return isMeta[0] ? files : [files[1]!, files[0]!];
		},
		close: async () => tmp.cleanup(),
	};
}

/** True when `file` is a (possibly compressed) tar with metadata.yaml at its top. */
async function isMetadataTarball(file: string): Promise<boolean> {
	const r = await execa('tar', ['-tf', file], {reject: false}); // GNU tar detects xz/gz/bz2/zstd itself
	return r.exitCode === 0 && r.stdout.split('\n').some(l => l === 'metadata.yaml' || l === './metadata.yaml');
}

/** Parses `image info` text (same layout for lxc 5.0 and incus 6.0). */
export function parseInfo(text: string): ImageInfo {
	const fields: Record<string, string> = {};
	const properties: Record<string, string> = {};
	const aliases: string[] = [];
	let section = '';
	for (const line of text.split('\n')) {
		const top = /^(\S[^:]*):\s*(.*)$/.exec(line);
		if (top) {
			section = top[1]!;
			fields[section] = top[2]!;
			continue;
		}

		const alias = /^\s+- (.*)$/.exec(line);
		const prop = /^\s+([^:]+):\s?(.*)$/.exec(line);
		if (section === 'Aliases' && alias) {
			aliases.push(alias[1]!);
		} else if (section === 'Properties' && prop) {
			properties[prop[1]!] = prop[2]!;
		} else if (prop) {
			fields[`${section}.${prop[1]!}`] = prop[2]!; // e.g. "Timestamps.Created"
		}
	}

	return {text, fingerprint: fields.Fingerprint ?? '', fields, properties, aliases};
}

/** Hex SHA-256 of one or more files, concatenated in order. */
export async function sha256Files(files: string[]): Promise<string> {
	const hash = createHash('sha256');
	for (const file of files) {
		for await (const chunk of createReadStream(file, {highWaterMark: 4 << 20})) {
			hash.update(chunk as Buffer);
		}
	}

	return hash.digest('hex');
}

export async function sha256File(file: string): Promise<string> {
	return sha256Files([file]);
}

/** The fingerprint clients compute: sha256(meta ‖ rootfs) for [meta, rootfs], sha256(file) for [unified]. */
export async function fingerprintOfExport(files: string[]): Promise<string> {
	if (files.length < 1 || files.length > 2) {
		throw new Error(`an export has 1 or 2 files, got ${files.length}`);
	}

	return sha256Files(files);
}

/** A web root served over HTTPS (helpers/server.ts) with a remote of each kind on it. */
export type Served = {server: Server; remotes: Map<ClientKind, Remote>; close(): Promise<void>};

export async function serveToClients(webroot: string, kinds: readonly ClientKind[]): Promise<Served> {
	const server = await serve(webroot);
	const remotes = new Map<ClientKind, Remote>();
	for (const kind of kinds) {
		remotes.set(kind, await remote(kind, server.url, server.caFile));
	}

	return {
		server,
		remotes,
		async close() {
			await Promise.all([...remotes.values()].map(async r => r.close()));
			await server.stop();
		},
	};
}
