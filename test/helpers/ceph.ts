// A real S3 object store for the tests: a one-node Ceph cluster (a monitor, one OSD on memstore) with
// the RADOS Gateway serving HTTP and HTTPS (TLS 1.3 through the test CA) on loopback, in a data
// directory of its own. Every daemon is stopped by its PID; a run killed before it could stop them
// leaves its directory behind, and the next start stops what that run left and removes it.
import {randomUUID} from 'node:crypto';
import {spawn} from 'node:child_process';
import {mkdir, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import https from 'node:https';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {S3Client, CreateBucketCommand, PutBucketPolicyCommand} from '@aws-sdk/client-s3';
import test from 'ava';
import {execa} from 'execa';
import {running} from '../../source/util/owner.js';
import {requireTool, tempDir, type TempDir} from './images.js';
import {findReadme, freePort, makeCa, type Ca} from './server.js';

// The SDK warns that its later releases will need Node 22; the pinned one runs on 20.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const prefix = 'ss-ceph';
const daemons = ['radosgw', 'osd', 'mon'] as const; // Stopped in this order: the gateway needs the rest.

export type ObjectStore = {
	/** https://127.0.0.1:PORT, the gateway's TLS endpoint. */
	url: string;
	/** http://127.0.0.1:PORT, the same gateway without TLS. */
	httpUrl: string;
	caFile: string;
	accessKey: string;
	secretKey: string;
	/** What an S3 tool reads: endpoint, region, credentials, and the test CA for Node. */
	env: Record<string, string>;
	/** An admin client (path-style, over HTTP). */
	client: S3Client;
	/** A new bucket that anyone may read and list, as an image server's bucket is. */
	bucket(name: string): Promise<void>;
	/** The gateway's log: one line per request (`"PUT /bucket/key HTTP/1.1" 200`). */
	log: string;
	version: string;
	stop(): Promise<void>;
};

const alive = (pid: number) => running(pid) !== undefined;

/** Whether `pid` is still a daemon of the cluster in `dir` (and not a process that reused its number). */
const daemonOf = (pid: number, dir: string) => running(pid)?.command.includes(dir) ?? false;

async function stopDaemons(dir: string): Promise<void> {
	for (const name of daemons) {
		const pid = Number(await readFile(path.join(dir, `${name}.pid`), 'utf8').catch(() => ''));
		if (!pid || !daemonOf(pid, dir)) {
			continue;
		}

		process.kill(pid, 'SIGTERM');
		const deadline = Date.now() + 10_000;
		while (daemonOf(pid, dir) && Date.now() < deadline) {
			await new Promise(resolve => setTimeout(resolve, 50));
		}

		if (daemonOf(pid, dir)) {
			process.kill(pid, 'SIGKILL');
		}
	}
}

/** Clusters left by test runs that were killed: their daemons stopped, their directories removed. */
async function cleanLeftovers(): Promise<void> {
	for (const entry of await readdir(tmpdir())) {
		if (!entry.startsWith(`${prefix}-`)) {
			continue;
		}

		const dir = path.join(tmpdir(), entry);
		const owner = Number(await readFile(path.join(dir, 'owner.pid'), 'utf8').catch(() => ''));
		// A directory without its owner yet may be another run's, starting this very moment.
		const young = !owner && Date.now() - (await stat(dir).then(stats => stats.mtimeMs, () => 0)) < 60_000;
		if ((owner && alive(owner)) || young) {
			continue;
		}

		await stopDaemons(dir);
		await rm(dir, {recursive: true, force: true});
	}
}

async function probe(url: string, ca: string): Promise<void> {
	return new Promise((resolve, reject) => {
		const request = https.get(url, {ca, minVersion: 'TLSv1.3', timeout: 2000}, response => {
			response.resume();
			resolve();
		});
		request.on('timeout', () => request.destroy(new Error('timeout')));
		request.on('error', reject);
	});
}

function config(dir: string, ports: {mon: number; http: number; https: number}, ca: Ca, fsid: string): string {
	return `[global]
fsid = ${fsid}
mon_host = v2:127.0.0.1:${ports.mon}
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_msgr2 = true
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc secure
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
run_dir = ${dir}/run
log_file = ${dir}/log/$name.log
admin_socket = ${dir}/run/$name.asok
keyring = ${dir}/keyring
[mon]
mon_data = ${dir}/mon
[osd]
osd_data = ${dir}/osd
osd_objectstore = memstore
memstore_device_bytes = 4294967296
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:${ports.http} ssl_endpoint=127.0.0.1:${ports.https} ssl_certificate=${ca.certFile} ssl_private_key=${ca.keyFile}
rgw_data = ${dir}/rgw
debug_rgw = 1
`;
}

/** The bucket policy of readme.md (its ```json block for the bucket `images`): what operators apply is what the tests run. */
async function readmePolicy(): Promise<string> {
	const text = await readFile(findReadme(), 'utf8');
	const block = [...text.matchAll(/^```json[ \t]*\r?\n([\s\S]*?)^```[ \t]*$/gm)].map(match => match[1]!).find(body => body.includes('s3:GetObject'));
	if (!block?.includes('arn:aws:s3:::images')) {
		throw new Error('readme.md has no ```json bucket policy for the bucket images');
	}

	return block;
}

/** `ca`: the CA whose leaf the gateway serves (a daemon's, so it trusts the bucket); otherwise a new one. */
export async function startCeph(options: {ca?: Ca} = {}): Promise<ObjectStore> {
	for (const tool of ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'monmaptool', 'ceph-authtool']) {
		await requireTool(tool);
	}

	await cleanLeftovers();
	const tmp = await tempDir(prefix);
	const dir = tmp.path;
	await writeFile(path.join(dir, 'owner.pid'), String(process.pid));
	const stop = async () => {
		await stopDaemons(dir);
		await tmp.cleanup();
	};

	try {
		return await start(dir, stop, options.ca);
	} catch (error) {
		const logs = await Promise.all(['mon.a', 'osd.0', 'client.rgw'].map(async name => `${name}: ${(await readFile(path.join(dir, 'log', `${name}.log`), 'utf8').catch(() => '')).split('\n').slice(-15).join('\n')}`));
		await stop();
		throw new Error(`Ceph did not start: ${String(error)}\n${logs.join('\n')}`);
	}
}

async function start(dir: string, stop: () => Promise<void>, given?: Ca): Promise<ObjectStore> {
	for (const sub of ['mon', 'osd', 'rgw', 'log', 'run']) {
		await mkdir(path.join(dir, sub));
	}

	const ca = given ?? await makeCa(path.join(dir, 'ca'));
	const ports = {mon: await freePort(), http: await freePort(), https: await freePort()};
	const fsid = randomUUID();
	const conf = path.join(dir, 'ceph.conf');
	await writeFile(conf, config(dir, ports, ca, fsid));
	const c = ['-c', conf];
	const daemon = async (name: typeof daemons[number], command: string, args: string[]) => {
		const child = spawn(command, [...c, ...args, '-f'], {stdio: 'ignore'});
		await writeFile(path.join(dir, `${name}.pid`), String(child.pid));
		child.unref();
	};

	await execa('ceph-authtool', ['--create-keyring', path.join(dir, 'keyring'), '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
	await execa('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${ports.mon}]`, '--fsid', fsid, path.join(dir, 'monmap')]);
	await execa('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', path.join(dir, 'monmap'), '--keyring', path.join(dir, 'keyring')]);
	await daemon('mon', 'ceph-mon', ['-i', 'a']);
	const osdUuid = randomUUID();
	const id = (await execa('ceph', [...c, '--connect-timeout', '60', 'osd', 'new', osdUuid])).stdout.trim();
	await execa('ceph-osd', [...c, '-i', id, '--mkfs', '--osd-uuid', osdUuid]);
	await daemon('osd', 'ceph-osd', ['-i', id]);
	await daemon('radosgw', 'radosgw', ['-n', 'client.rgw']);

	const url = `https://127.0.0.1:${ports.https}`;
	const caPem = await readFile(ca.caFile, 'utf8');
	const deadline = Date.now() + 90_000;
	for (;;) {
		try {
			await probe(url, caPem);
			break;
		} catch (error) {
			if (Date.now() > deadline) {
				throw new Error(`the gateway does not answer on ${url}: ${String(error)}`);
			}

			await new Promise(resolve => setTimeout(resolve, 200));
		}
	}

	const accessKey = `AK${randomUUID().replaceAll('-', '').slice(0, 18).toUpperCase()}`;
	const secretKey = randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', '');
	await execa('radosgw-admin', [...c, 'user', 'create', '--uid=tester', '--display-name=tester', `--access-key=${accessKey}`, `--secret=${secretKey}`]);
	const httpUrl = `http://127.0.0.1:${ports.http}`;
	const region = 'us-east-1';
	const client = new S3Client({endpoint: httpUrl, region, forcePathStyle: true, credentials: {accessKeyId: accessKey, secretAccessKey: secretKey}, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED'});
	const version = (await execa('ceph-mon', ['--version'])).stdout.trim();
	return {
		url,
		httpUrl,
		caFile: ca.caFile,
		accessKey,
		secretKey,
		env: {
			AWS_ENDPOINT_URL: url,
			AWS_REGION: region,
			AWS_ACCESS_KEY_ID: accessKey,
			AWS_SECRET_ACCESS_KEY: secretKey,
			NODE_EXTRA_CA_CERTS: ca.caFile,
			// Nothing from the machine's own AWS files.
			AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
			AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
		},
		client,
		async bucket(name) {
			await client.send(new CreateBucketCommand({Bucket: name}));
			await client.send(new PutBucketPolicyCommand({Bucket: name, Policy: (await readmePolicy()).replaceAll('arn:aws:s3:::images', `arn:aws:s3:::${name}`)}));
		},
		log: path.join(dir, 'log', 'client.rgw.log'),
		version,
		async stop() {
			client.destroy();
			await stop();
		},
	};
}

/** The store and a scratch directory a test file's tests share: started before the first, stopped and removed after the last. */
export function storeForFile(prefix: string): {readonly store: ObjectStore; readonly tmp: TempDir} {
	let store: ObjectStore | undefined;
	let tmp: TempDir | undefined;
	test.before(async () => {
		tmp = await tempDir(prefix);
		store = await startCeph();
	});
	test.after.always(async () => {
		await store?.stop();
		await tmp?.cleanup();
	});
	return {
		get store() {
			return store!;
		},
		get tmp() {
			return tmp!;
		},
	};
}
