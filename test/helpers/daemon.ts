// A real Incus or LXD daemon of the suite's own: started by hand (no systemd here) on a private
// state directory (INCUS_DIR, LXD_DIR) with its own storage pool, bridge and project, trusting the
// CA the test servers use. Everything it makes lives in that directory except its processes, its
// containers and its bridge, which stop() removes. A run killed before stop() leaves the directory
// behind with the pid of its test process: the next start() finds it and cleans it up the same way.
// Both daemons take the same commands through their own client (incus, lxc); what differs between
// them is a DaemonKind.
import {spawn} from 'node:child_process';
import {openSync, closeSync} from 'node:fs';
import {chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {ExecutionContext} from 'ava';
import {execa} from 'execa';
import {requireTool} from './images.js';
import {makeCa, type Ca} from './server.js';

export type DaemonKind = {
	/** The client that talks to the daemon through its socket (`incus`, `lxc`). */
	client: string;
	/** The daemon's binary, and the group it lets use its socket. */
	binary: string;
	group: string;
	/** The environment variables naming the state directory (where the socket and the cache are) and the client's configuration. */
	dirVariable: string;
	confVariable: string;
	/** Waits until the daemon answers on its socket. */
	waitready: string[];
	/** The start of the name of its state directory under the temporary directory. */
	prefix: string;
};

export const incus: DaemonKind = {
	client: 'incus',
	binary: '/usr/libexec/incus/incusd',
	group: 'incus-admin',
	dirVariable: 'INCUS_DIR',
	confVariable: 'INCUS_CONF',
	waitready: ['incus', 'admin', 'waitready', '--timeout=60'],
	prefix: 'ss-incusd-',
};

/** Debian 12's LXD 5.0.2 (the `lxd` package; its client is lxd-client's `lxc`). */
export const lxd: DaemonKind = {
	client: 'lxc',
	binary: '/usr/bin/lxd',
	group: 'lxd',
	dirVariable: 'LXD_DIR',
	confVariable: 'LXD_CONF',
	waitready: ['lxd', 'waitready', '--timeout=60'],
	prefix: 'ss-lxd-',
};

export const project = 'simplestreams';

export type Daemon = {
	kind: DaemonKind;
	/** INCUS_DIR or LXD_DIR: the daemon's state, cache and logs. */
	dir: string;
	/** The CA the daemon trusts (SSL_CERT_FILE): serve trees with `serve(root, {ca: daemon.ca})`. */
	ca: Ca;
	/** The environment its client runs with (INCUS_DIR or LXD_DIR, INCUS_CONF or LXD_CONF, the project). */
	env: Record<string, string>;
	/** `incus ARGS` or `lxc ARGS` against this daemon, in its project; throws with the output when it fails. */
	client(args: string[], options?: {reject?: boolean; timeout?: number}): Promise<{stdout: string; stderr: string; exitCode: number}>;
	/** Registers a simplestreams remote; `pin` is a certificate to pin for it (servercerts/NAME.crt). */
	addRemote(name: string, url: string, pin?: string): Promise<void>;
	/** Drops the daemon's cached copies of every remote's index.json/images.json (kept up to an hour). */
	forgetIndexes(): Promise<void>;
	stop(): Promise<void>;
};

const alive = (pid: number) => {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
};

const cmdline = async (pid: number | string) => (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');

const readNumber = async (file: string) => Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);

/** Every process whose command line names `dir` (dnsmasq, container monitors, the daemon). */
async function processesOf(dir: string): Promise<number[]> {
	const pids: number[] = [];
	for (const entry of await readdir('/proc')) {
		if (/^\d+$/.test(entry) && Number(entry) !== process.pid && (await cmdline(entry)).includes(`${dir}/`)) {
			pids.push(Number(entry));
		}
	}

	return pids;
}

async function waitFor(condition: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
	const deadline = Date.now() + ms;
	while (Date.now() < deadline) {
		if (await condition()) {
			return true;
		}

		await new Promise(resolve => {
			setTimeout(resolve, 100);
		});
	}

	return condition();
}

const caPath = (dir: string) => path.join(dir, 'ca', 'ca.crt');

/** The daemon and its client both trust the daemon's CA, and nothing else. */
function clientEnv(kind: DaemonKind, dir: string): Record<string, string> {
	const env: Record<string, string> = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (value !== undefined && !/^(https?|no|all)_proxy$/i.test(key)) {
			env[key] = value;
		}
	}

	delete env.SSL_CERT_DIR; // would add the system roots back
	// npm puts node_modules/.bin first, where ava's dependency @vercel/nft installs an `nft` that
	// the daemon would run instead of nftables' to learn its version (and panic on the answer).
	env.PATH = (env.PATH ?? '').split(':').filter(dir => !dir.includes('node_modules')).join(':');
	return {...env, [kind.dirVariable]: dir, [kind.confVariable]: path.join(dir, 'client'), HOME: path.join(dir, 'client'), SSL_CERT_FILE: caPath(dir), LC_ALL: 'C'};
}

/** Runs the daemon on `dir` in its own session; its pid is kept in dir/daemon.pid. */
async function launchDaemon(kind: DaemonKind, dir: string): Promise<number> {
	const log = openSync(path.join(dir, 'daemon.out'), 'a');
	const child = spawn(kind.binary, ['--group', kind.group, `--logfile=${path.join(dir, 'daemon.log')}`], {
		detached: true,
		stdio: ['ignore', log, log],
		env: clientEnv(kind, dir),
	});
	closeSync(log);
	child.unref();
	await writeFile(path.join(dir, 'daemon.pid'), String(child.pid));
	const [command, ...args] = kind.waitready;
	const ready = await execa(command!, args, {env: clientEnv(kind, dir), extendEnv: false, reject: false});
	if (ready.exitCode !== 0) {
		const out = await readFile(path.join(dir, 'daemon.out'), 'utf8').catch(() => '');
		throw new Error(`${kind.binary} on ${dir} did not get ready: ${ready.stderr}\n${out}`);
	}

	return child.pid!;
}

/**
 * Removes what a daemon on `dir` made: its containers (through the daemon, started again if it
 * died), then the daemon itself by its pid, every process still naming the directory, its bridge,
 * the mounts under the directory, and the directory.
 */
async function teardown(kind: DaemonKind, dir: string): Promise<void> {
	const env = clientEnv(kind, dir);
	let pid = await readNumber(path.join(dir, 'daemon.pid'));
	const ours = async () => Number.isInteger(pid) && alive(pid) && (await cmdline(pid)).includes(`--logfile=${dir}/`);
	if (!(await ours()) && await readdir(path.join(dir, 'containers')).then(names => names.length > 0, () => false)) {
		// Containers outlive a killed daemon: only a daemon knows how to stop them properly.
		pid = await launchDaemon(kind, dir).catch(() => Number.NaN);
	}

	if (await ours()) {
		const listed = await execa(kind.client, ['list', '--all-projects', '--format', 'csv', '--columns', 'n,e'], {env, extendEnv: false, reject: false});
		for (const [name, owner] of listed.stdout.split('\n').filter(Boolean).map(line => line.split(','))) {
			await execa(kind.client, ['delete', '--force', '--project', owner!, name!], {env, extendEnv: false, reject: false});
		}

		// The daemon stops the bridge's dnsmasq itself (and reaps it) once nothing uses the bridge.
		const bridge = await readFile(path.join(dir, 'bridge'), 'utf8').catch(() => '');
		await execa(kind.client, ['profile', 'device', 'remove', 'default', 'eth0', '--project', project], {env, extendEnv: false, reject: false});
		await execa(kind.client, ['network', 'delete', bridge], {env, extendEnv: false, reject: false});
		process.kill(pid, 'SIGTERM');
		if (!(await waitFor(async () => !(await ours()), 30_000))) {
			process.kill(pid, 'SIGKILL');
		}
	}

	for (const other of await processesOf(dir)) {
		process.kill(other, 'SIGKILL');
	}

	const bridge = await readFile(path.join(dir, 'bridge'), 'utf8').catch(() => '');
	if (bridge) {
		await execa('ip', ['link', 'delete', bridge], {reject: false});
	}

	const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map(line => line.split(' ')[4] ?? '').filter(point => point.startsWith(`${dir}/`));
	for (const point of mounts.sort().reverse()) {
		await execa('umount', ['-l', point], {reject: false});
	}

	await rm(dir, {recursive: true, force: true});
}

/** Cleans up after runs that died without stopping their daemon (their test process is gone). */
async function reapAbandoned(kind: DaemonKind): Promise<void> {
	for (const name of (await readdir(tmpdir())).filter(n => n.startsWith(kind.prefix))) {
		const dir = path.join(tmpdir(), name);
		const owner = await readNumber(path.join(dir, 'owner.pid'));
		if (Number.isInteger(owner) && alive(owner) && (await cmdline(owner)).includes('node')) {
			continue;
		}

		await teardown(kind, dir);
	}
}

/** A private /24 for the bridge that no interface on the host uses yet. */
async function freeSubnet(): Promise<string> {
	const used = (await execa('ip', ['-o', '-4', 'addr'])).stdout;
	for (;;) {
		const [a, b] = [100 + Math.floor(Math.random() * 150), Math.floor(Math.random() * 256)];
		if (!used.includes(` 10.${a}.${b}.`)) {
			return `10.${a}.${b}.1/24`;
		}
	}
}

export async function startDaemon(kind = incus): Promise<Daemon> {
	for (const tool of [kind.client, kind.binary, 'ip', '/usr/sbin/dnsmasq']) {
		await requireTool(tool);
	}

	await reapAbandoned(kind);
	const dir = await mkdtemp(path.join(tmpdir(), kind.prefix));
	await chmod(dir, 0o711); // The containers' mapped root must pass through to their rootfs.
	await writeFile(path.join(dir, 'owner.pid'), String(process.pid));
	const env = clientEnv(kind, dir);
	const conf = env[kind.confVariable]!;
	await mkdir(conf, {recursive: true});
	const run = async (args: string[], options: {reject?: boolean; timeout?: number} = {}) => {
		const result = await execa(kind.client, args, {env, extendEnv: false, reject: false, stdin: 'ignore', timeout: options.timeout ?? 120_000});
		const out = {stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1};
		if (out.exitCode !== 0 && options.reject !== false) {
			throw new Error(`${kind.client} ${args.join(' ')} failed (exit ${out.exitCode}${result.timedOut ? ', timed out' : ''}): ${out.stderr || out.stdout}`);
		}

		return out;
	};

	try {
		const ca = await makeCa(path.join(dir, 'ca'));
		await launchDaemon(kind, dir);
		// `incus admin init --minimal` (and `lxd init --minimal`) cannot find a free subnet in this sandbox: every probe connects.
		const bridge = `ssbr${path.basename(dir).slice(kind.prefix.length).toLowerCase().replaceAll(/[^a-z\d]/g, '').slice(0, 6)}`;
		await writeFile(path.join(dir, 'bridge'), bridge);
		await run(['storage', 'create', 'pool', 'dir']);
		await run(['network', 'create', bridge, `ipv4.address=${await freeSubnet()}`, 'ipv4.nat=false', 'ipv4.firewall=false', 'ipv6.address=none']);
		await run(['project', 'create', project, '-c', 'features.images=true', '-c', 'features.profiles=true']);
		await run(['project', 'switch', project]);
		await run(['profile', 'device', 'add', 'default', 'root', 'disk', 'path=/', 'pool=pool']);
		await run(['profile', 'device', 'add', 'default', 'eth0', 'nic', `network=${bridge}`, 'name=eth0']);
		return {
			kind,
			dir,
			ca,
			env,
			client: run,
			async addRemote(name, url, pin) {
				await run(['remote', 'add', name, url, '--protocol=simplestreams', '--public']);
				if (pin) {
					await mkdir(path.join(conf, 'servercerts'), {recursive: true});
					await writeFile(path.join(conf, 'servercerts', `${name}.crt`), await readFile(pin));
				}
			},
			async forgetIndexes() {
				// Both keep them under the state directory, named after the SHA-256 of the remote's URL: a file in Incus's cache, a directory in LXD's.
				const cache = path.join(dir, 'cache');
				for (const name of (await readdir(cache).catch(() => [])).filter(n => /^[\da-f]{64}$/.test(n))) {
					await rm(path.join(cache, name), {recursive: true, force: true});
				}
			},
			stop: async () => teardown(kind, dir),
		};
	} catch (error) {
		await teardown(kind, dir);
		throw error;
	}
}

let names = 0;
/** A name unique in this run (the host's cgroups are shared by every daemon on it). */
export const unique = (what: string) => `${what}-${process.pid}-${++names}`;

/** An instance launched from `image`, deleted when the test ends. */
export async function launch(t: ExecutionContext, daemon: Daemon, image: string): Promise<string> {
	const name = unique('c');
	t.teardown(async () => {
		await daemon.client(['delete', '--force', name], {reject: false});
	});
	await daemon.client(['launch', image, name]);
	return name;
}

/** What `command` prints in `instance`, trimmed. */
export const exec = async (daemon: Daemon, instance: string, ...command: string[]) => (await daemon.client(['exec', instance, '--', ...command])).stdout.trim();

/** The fingerprint of the image `instance` was made from. */
export const baseImage = async (daemon: Daemon, instance: string) =>
	(JSON.parse((await daemon.client(['query', `/1.0/instances/${instance}?project=${project}`])).stdout) as {config: Record<string, string>}).config['volatile.base_image']!;
