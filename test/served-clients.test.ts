// The streams as the README's nginx block serves them: the .gz beside each file goes, as is, to a
// client that accepts gzip (gzip_static), the file itself to one that does not; the real lxc (LXD
// 5.0) and incus (6.0) clients read the gzip-encoded index and products file, as nginx's access log
// shows by the bytes it sent for each request.
import {readFile, stat} from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {remote, type ClientKind} from './helpers/clients.js';
import {copyExample} from './helpers/fixtures.js';
import {tempDir, type TempDir} from './helpers/images.js';
import {serve, type Server} from './helpers/server.js';

const cli = path.resolve('dist/cli.js');
const kinds: ClientKind[] = ['lxc', 'incus'];

let tmp: TempDir;
let webroot: string;
let server: Server | undefined;

test.before(async () => {
	tmp = await tempDir('ss-served');
	webroot = path.join(tmp.path, 'webroot');
	await copyExample(webroot);
	await execa('node', [cli, '-N', webroot, '--cache', path.join(tmp.path, 'cache.json')], {env: {CI: 'true'}});
	server = await serve(webroot);
});

test.after.always(async () => {
	await server?.stop();
	await tmp?.cleanup();
});

async function get(p: string, headers: Record<string, string>): Promise<{status: number; headers: Record<string, unknown>; body: Buffer}> {
	const ca = await readFile(server!.caFile);
	return new Promise((resolve, reject) => {
		https.get(`${server!.url}${p}`, {ca, headers}, response => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => resolve({status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks)}));
		}).on('error', reject);
	});
}

/** nginx's access log lines (combined format) for GETs of `p`: the bytes sent and the user agent. */
async function fetches(p: string): Promise<Array<{bytes: number; agent: string}>> {
	const log = await readFile(server!.accessLog, 'utf8').catch(() => '');
	return [...log.matchAll(/"GET (\S+) HTTP\/[\d.]+" (\d+) (\d+) "[^"]*" "([^"]*)"/g)]
		.filter(match => match[1] === p && match[2] === '200')
		.map(match => ({bytes: Number(match[3]), agent: match[4]!}));
}

for (const file of ['/streams/v1/index.json', '/streams/v1/images.json']) {
	test(`nginx (README block) sends ${file}.gz to a client that accepts gzip, ${file} to one that does not`, async t => {
		const plain = await readFile(path.join(webroot, file));
		const packed = await readFile(path.join(webroot, `${file}.gz`));
		t.true(packed.length < plain.length);
		const gzipped = await get(file, {'accept-encoding': 'gzip'});
		t.is(gzipped.status, 200);
		t.is(gzipped.headers['content-encoding'], 'gzip');
		t.regex(String(gzipped.headers['content-type']), /^application\/json/);
		t.is(gzipped.headers['cache-control'], 'no-cache');
		t.is(gzipped.headers.vary, 'Accept-Encoding', 'a cache between keeps both');
		t.true(gzipped.body.equals(packed), 'the .gz as is');
		const identity = await get(file, {'accept-encoding': 'identity'});
		t.is(identity.headers['content-encoding'], undefined);
		t.true(identity.body.equals(plain));
	});
}

test('nginx (README block) sends the page at / as HTML, its .gz to a client that accepts gzip', async t => {
	const gzipped = await get('/', {'accept-encoding': 'gzip'});
	t.is(gzipped.status, 200);
	t.is(gzipped.headers['content-type'], 'text/html; charset=utf-8');
	t.is(gzipped.headers['content-encoding'], 'gzip');
	t.true(gzipped.body.equals(await readFile(path.join(webroot, 'index.html.gz'))));
	const identity = await get('/', {});
	t.is(identity.headers['content-encoding'], undefined);
	t.true(identity.body.equals(await readFile(path.join(webroot, 'index.html'))));
});

for (const kind of kinds) {
	test.serial(`${kind} asks for gzip and reads the gzip-encoded index and products file`, async t => {
		const client = await remote(kind, server!.url, server!.caFile);
		t.teardown(async () => client.close());
		const agent = kind === 'lxc' ? /^LXD / : /^Incus /;
		const listed = await client.list();
		t.is(listed.length, 6, 'the example tree: 4 containers and 2 VMs');
		for (const file of ['/streams/v1/index.json', '/streams/v1/images.json']) {
			const size = (await stat(path.join(webroot, `${file}.gz`))).size;
			// The log is written once the response is sent: it may trail the client's exit a little.
			let seen: Array<{bytes: number; agent: string}> = [];
			for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise(resolve => setTimeout(resolve, 100))) {
				seen = (await fetches(file)).filter(fetch => agent.test(fetch.agent));
				if (seen.length > 0) {
					break;
				}
			}

			t.true(seen.length > 0, `${kind} fetched ${file}`);
			t.deepEqual(seen.map(fetch => fetch.bytes), seen.map(() => size), `${kind}: nginx sent ${file}.gz (${size} bytes) each time`);
		}
	});
}
