// Serves a web root over HTTPS (TLS 1.3) with real nginx and a throwaway CA. The nginx server block
// is the first ```nginx block of readme.md, so the README's documented config is what the tests run.
import {existsSync} from 'node:fs';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {execa, type ResultPromise} from 'execa';
import {requireTool, tempDir} from './images.js';

export type Ca = {caFile: string; certFile: string; keyFile: string};

/** A CA plus a leaf for 127.0.0.1/localhost signed by it, with the extensions Go's verifier wants. */
export async function makeCa(dir: string): Promise<Ca> {
	await requireTool('openssl');
	await mkdir(dir, {recursive: true});
	const f = (name: string) => path.join(dir, name);
	const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
	await execa('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '7', '-subj', '/CN=simplestreams test CA',
		'-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
	await execa('openssl', ['req', '-new', ...ec, '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', '/CN=localhost']);
	await writeFile(f('leaf.ext'), [
		'subjectAltName=IP:127.0.0.1,DNS:localhost',
		'basicConstraints=critical,CA:FALSE',
		'keyUsage=critical,digitalSignature,keyEncipherment',
		'extendedKeyUsage=serverAuth',
		'',
	].join('\n'));
	await execa('openssl', ['x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-set_serial', `0x${Date.now().toString(16)}`,
		'-days', '7', '-extfile', f('leaf.ext'), '-out', f('leaf.crt')]);
	return {caFile: f('ca.crt'), certFile: f('leaf.crt'), keyFile: f('leaf.key')};
}

/** The README's self-signed set-up: one certificate for 127.0.0.1/localhost, no CA; it is its own `caFile`, the one a client pins. */
export async function selfSigned(dir: string): Promise<Ca> {
	await requireTool('openssl');
	const cert = path.join(dir, 'server.crt');
	const key = path.join(dir, 'server.key');
	await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
		'-days', '7', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
	return {caFile: cert, certFile: cert, keyFile: key};
}

/** readme.md of the repo: walk up from this file (works from dist/test/helpers and test/helpers). */
export function findReadme(): string {
	let dir = path.dirname(fileURLToPath(import.meta.url));
	for (;;) {
		const candidate = path.join(dir, 'readme.md');
		if (existsSync(candidate) && existsSync(path.join(dir, 'package.json'))) {
			return candidate;
		}

		const up = path.dirname(dir);
		if (up === dir) {
			throw new Error('readme.md not found above ' + fileURLToPath(import.meta.url));
		}

		dir = up;
	}
}

/** The body of the first fenced block whose info string is exactly `nginx`. */
export async function readmeNginxSnippet(readme = findReadme()): Promise<string> {
	const text = await readFile(readme, 'utf8');
	const m = /^```nginx[ \t]*\r?\n([\s\S]*?)^```[ \t]*$/m.exec(text);
	if (!m) {
		throw new Error(`${readme} has no \`\`\`nginx code block`);
	}

	for (const p of ['__ROOT__', '__CERT__', '__KEY__', '__PORT__']) {
		if (!m[1]!.includes(p)) {
			throw new Error(`the \`\`\`nginx block of ${readme} lacks the placeholder ${p}`);
		}
	}

	return m[1]!;
}

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const {port} = s.address() as net.AddressInfo;
			s.close(() => resolve(port));
		});
	});
}

/** One HTTPS request through the CA; any HTTP status means nginx is up and TLS 1.3 verifies. */
async function probe(port: number, ca: string): Promise<void> {
	return new Promise((resolve, reject) => {
		const req = https.get({host: '127.0.0.1', port, path: '/', ca, minVersion: 'TLSv1.3', timeout: 2000}, res => {
			res.resume();
			resolve();
		});
		req.on('timeout', () => req.destroy(new Error('probe timeout')));
		req.on('error', reject);
	});
}

export type Server = {
	/** https://127.0.0.1:PORT (no trailing slash). */
	url: string;
	port: number;
	caFile: string;
	/** nginx's access log, handy to assert which paths clients fetched. */
	accessLog: string;
	stop(): Promise<void>;
};

export type ServeOptions = {
	/** Reuse a CA (otherwise a new one is made in the server's temp dir). */
	ca?: Ca;
	/** Use another readme (tests of the README itself). */
	readme?: string;
	/** nginx's limit_rate for every response (`1m`: a MiB a second), for downloads a test interrupts. */
	rate?: string;
};

/**
 * Runs nginx in the foreground (daemon off, master_process off: a single process, so it reads the
 * root-only 0700 temp dirs without `user root;` and dies with its parent's kill) on a free port.
 * `__PORT__` becomes `127.0.0.1:PORT` so a test server never listens beyond loopback.
 */
export async function serve(webroot: string, opts: ServeOptions = {}): Promise<Server> {
	await requireTool('nginx');
	const snippet = await readmeNginxSnippet(opts.readme);
	const tmp = await tempDir('ss-nginx');
	const ca = opts.ca ?? await makeCa(path.join(tmp.path, 'ca'));
	const t = (name: string) => path.join(tmp.path, name);
	const root = path.resolve(webroot);

	let lastError = '';
	for (let attempt = 0; attempt < 5; attempt++) {
		const port = await freePort();
		const server = snippet
			.replaceAll('__ROOT__', root)
			.replaceAll('__CERT__', ca.certFile)
			.replaceAll('__KEY__', ca.keyFile)
			.replaceAll('__PORT__', `127.0.0.1:${port}`);
		const conf = [
			'daemon off;',
			'master_process off;',
			'worker_processes 1;',
			`pid ${t('nginx.pid')};`,
			`error_log ${t('error.log')} info;`,
			'events { worker_connections 256; }',
			'http {',
			'  types { application/json json; application/octet-stream xz squashfs qcow2 img vcdiff; text/plain txt; }',
			'  default_type application/octet-stream;',
			`  access_log ${t('access.log')};`,
			...(opts.rate ? [`  limit_rate ${opts.rate};`] : []),
			...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(k => `  ${k}_temp_path ${t(`tmp-${k}`)};`),
			server,
			'}',
			'',
		].join('\n');
		await writeFile(t('nginx.conf'), conf);

		// -e: startup errors go to our log, not to the compiled-in default path.
		const proc: ResultPromise = execa('nginx', ['-p', tmp.path, '-e', t('error.log'), '-c', t('nginx.conf')], {reject: false, all: true});
		let exited = false;
		void proc.then(() => {
			exited = true;
		});
		const caPem = await readFile(ca.caFile, 'utf8');
		const deadline = Date.now() + 60_000;
		let probeError = '';
		while (!exited && Date.now() < deadline) {
			try {
				await probe(port, caPem);
				const stop = async () => {
					if (!exited) {
						proc.kill('SIGTERM');
						const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
						await proc;
						clearTimeout(timer);
					}

					await tmp.cleanup();
				};

				return {url: `https://127.0.0.1:${port}`, port, caFile: ca.caFile, accessLog: t('access.log'), stop};
			} catch (error) {
				probeError = String(error); // e.g. a TLS failure when the block lacks TLS 1.3 or the cert
				await new Promise(r => setTimeout(r, 50));
			}
		}

		if (!exited) {
			proc.kill('SIGKILL');
		}

		const result = await proc;
		const log = await readFile(t('error.log'), 'utf8').catch(() => '');
		lastError = `nginx (exit ${String(result.exitCode)}) did not serve on port ${port} (last probe: ${probeError}):\n${String(result.all ?? '')}\n${log}`;
		if (!/Address already in use/.test(lastError)) {
			break; // Only a lost port race is worth retrying.
		}
	}

	await tmp.cleanup();
	throw new Error(lastError);
}
