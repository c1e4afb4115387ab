// The README's self-signed set-up: no CA, the server's own certificate pinned in the client's
// servercerts/ directory. Checked with both real clients, trusting no system roots at all.
import {mkdir, copyFile, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {execa} from 'execa';
import {fingerprintOfExport, remote, type ClientKind} from './helpers/clients.js';
import {imageVersion, tempDir} from './helpers/images.js';
import {selfSigned, serve} from './helpers/server.js';

for (const kind of ['lxc', 'incus'] as ClientKind[]) {
	test(`${kind} uses a self-signed server once its certificate is pinned`, async t => {
		const tmp = await tempDir('ss-selfsigned');
		t.teardown(async () => tmp.cleanup());
		const webroot = path.join(tmp.path, 'webroot');
		await imageVersion(webroot, {os: 'acme', release: '1.0', arch: 'amd64', variant: 'default', version: '20240101_0000', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
		const run = await execa('node', [path.resolve('dist/cli.js'), '-N', webroot, '--cache', path.join(tmp.path, 'cache.json')], {reject: false});
		t.is(run.exitCode, 0, run.stderr);

		const ca = await selfSigned(tmp.path);
		const server = await serve(webroot, {ca});
		t.teardown(async () => server.stop());

		// An empty bundle: nothing but the pinned certificate can make the connection trusted.
		const noRoots = path.join(tmp.path, 'no-roots.pem');
		await writeFile(noRoots, '');
		const client = await remote(kind, server.url, noRoots, 'mine');
		t.teardown(async () => client.close());
		const refused = await client.run(['image', 'list', 'mine:', '--format', 'json'], {reject: false});
		t.not(refused.exitCode, 0, 'without the pin the certificate is not trusted');
		t.regex(refused.stderr, /certificate signed by unknown authority|failed to verify certificate/);

		const servercerts = path.join(kind === 'lxc' ? client.env.LXD_CONF! : client.env.INCUS_CONF!, 'servercerts');
		await mkdir(servercerts, {recursive: true});
		await copyFile(ca.certFile, path.join(servercerts, 'mine.crt'));
		const [image] = await client.list();
		t.truthy(image);
		const files = await client.export('acme/1.0', path.join(tmp.path, 'export'));
		t.is(await fingerprintOfExport(files), image!.fingerprint);
	});
}
