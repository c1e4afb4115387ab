// The mirror behind a proxy, as sites that cannot reach upstream directly run it: https_proxy sends
// every request through a real HTTP proxy (tinyproxy, CONNECT tunnels), and no_proxy exempts a host.
// The proxy's own log says which requests it carried.
import {spawn} from 'node:child_process';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import {tempDir} from './helpers/fixtures.js';
import {requireTool} from './helpers/images.js';
import {freePort, serve} from './helpers/server.js';
import {fingerprintsOf, productsOf, publishedUpstream, simplestreams} from './helpers/upstream.js';
import {until} from './helpers/watch.js';

test('https_proxy carries every request to upstream through the proxy; no_proxy goes around it', async t => {
	await requireTool('tinyproxy');
	const dir = await tempDir(t, 'ss-mirror-proxy');
	const upstreamRoot = path.join(dir, 'upstream');
	await publishedUpstream(upstreamRoot, [{release: 'one', version: '20240101_0000', kind: 'squashfs'}]);
	const upstream = await serve(upstreamRoot);
	t.teardown(async () => upstream.stop());

	const port = await freePort();
	const log = path.join(dir, 'proxy.log');
	const config = path.join(dir, 'tinyproxy.conf');
	await writeFile(config, `Port ${port}\nListen 127.0.0.1\nTimeout 60\nLogFile "${log}"\nLogLevel Connect\nMaxClients 20\nAllow 127.0.0.1\n`);
	const proxy = spawn('tinyproxy', ['-d', '-c', config], {stdio: 'ignore'});
	t.teardown(() => {
		proxy.kill();
	});
	const accepts = async () => new Promise<boolean>(resolve => {
		const socket = net.connect(port, '127.0.0.1', () => {
			socket.end();
			resolve(true);
		}).on('error', () => {
			resolve(false);
		});
	});
	await until('the proxy listening', accepts);
	const upstreamHost = new URL(upstream.url).host;
	const tunnels = async () => (await readFile(log, 'utf8')).split('\n').filter(line => line.includes(`CONNECT ${upstreamHost}`)).length;

	const mirrored = path.join(dir, 'mirror');
	await mkdir(mirrored);
	const via = await simplestreams(['mirror', '-N', '--ca', upstream.caFile, upstream.url, mirrored], {https_proxy: `http://127.0.0.1:${port}`});
	t.is(via.exitCode, 0, via.stderr);
	t.deepEqual(fingerprintsOf(await productsOf(mirrored)), fingerprintsOf(await productsOf(upstreamRoot)));
	const carried = await tunnels();
	t.true(carried > 0, 'the proxy carried the requests to upstream');

	const around = path.join(dir, 'around');
	await mkdir(around);
	const direct = await simplestreams(['mirror', '-N', '--ca', upstream.caFile, upstream.url, around], {https_proxy: `http://127.0.0.1:${port}`, no_proxy: '127.0.0.1'});
	t.is(direct.exitCode, 0, direct.stderr);
	t.deepEqual(fingerprintsOf(await productsOf(around)), fingerprintsOf(await productsOf(upstreamRoot)));
	t.is(await tunnels(), carried, 'no_proxy: not one request more through the proxy');
});
