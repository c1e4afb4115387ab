// End to end in a real terminal: `simplestreams -i SRC -N ROOT` runs in tmux, the test types into
// the wizard like an operator (editing, a rejected value, Esc back, the secure boot question, a
// requirement, an alias), then checks the tree, the streams, and that the real lxc and incus
// clients list the image, resolve the new alias and export files that hash to the fingerprint.
import {mkdir, readFile} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {fingerprintOfExport, remote, sha256Files, type ClientKind} from './helpers/clients.js';
import {importSource, listTree, scratch} from './helpers/import.js';
import {requireTool} from './helpers/images.js';
import {serve} from './helpers/server.js';
import {terminal} from './helpers/terminal.js';

const product = 'images/acme/3.0/amd64/default';
const version = '20240601_12:00';

test('an image imported by typing into the wizard is listed and exported by lxc and incus', async t => {
	await requireTool('tmux');
	const dir = await scratch(t);
	const src = await importSource(path.join(dir, 'src'), {qcow2: 'disk.qcow2'});
	const root = path.join(dir, 'root');
	await mkdir(root);
	// The shell around the program records its exit code: a pane left to show "Pane is dead" is not
	// always marked so, as the tmux server now and then leaves the exited program unreaped.
	const term = terminal(t, dir, ['-i', src, '-N', root, '--cache', path.join(dir, 'cache.json')], '', {width: 160, height: 60});
	const until = async (check: (text: string) => boolean, what: string) => term.until(what, check, 120_000);
	const shows = async (text: string) => until(s => s.includes(text), JSON.stringify(text));
	const keys = async (...names: string[]) => term.keys(...names);
	const text = async (literal: string) => term.keys('-l', literal);

	await shows('› os       acme');
	await keys('Enter');
	await shows('› release  3.0');
	await text('/x');
	await shows('✖ release "3.0/x" has characters');
	await keys('BSpace', 'BSpace');
	await until(s => !s.includes('✖') && s.includes('› release  3.0\n'), 'the release fixed');
	await keys('Enter');
	await shows('› arch     amd64');
	await keys('Enter');
	await shows('› variant  default');
	await keys('Enter');
	await shows('› version  20240601_00:00');
	await keys('Escape');
	await shows('› variant  default');
	await keys('Enter');
	await shows('› version');
	await keys('C-u');
	await text(version);
	await shows(`› version  ${version}`);
	await keys('Enter');
	await shows('Must secure boot be off');
	await keys('y');
	await shows('Requirements for the product');
	await text('nesting=true');
	await keys('Enter');
	await shows('adding:  secureboot=false, nesting=true');
	await keys('Enter');
	await shows('Extra aliases');
	await text('acme/lts');
	await keys('Enter');
	await shows('adding:  acme/lts');
	await keys('Enter');
	const plan = await shows('Enter: import');
	t.true(plan.includes(`create ${product}/${version}/  in ${root}`), plan);
	t.regex(plan, /root\.squashfs .* move, from rootfs\.squashfs, built for x86_64/);
	t.regex(plan, /aliases: acme\/3\.0\/default, acme\/3\.0, acme\/lts \(new, in \.aliases\)/);
	const meta = path.join(src, 'lxd.tar.xz');
	const fingerprints = {container: await sha256Files([meta, path.join(src, 'rootfs.squashfs')]), vm: await sha256Files([meta, path.join(src, 'disk.qcow2')])};
	await keys('Enter');
	const code = await term.exitCode(120_000);
	const status = term.capture();
	t.regex(status, new RegExp(`imported ${product}/${version}`));
	t.is(code, 0, status);

	t.deepEqual(await listTree(src), []);
	t.deepEqual(await listTree(path.join(root, product)), ['.aliases', '.lxd_requirements', version, `${version}/disk.qcow2`, `${version}/lxd.tar.xz`, `${version}/root.squashfs`]);
	t.deepEqual(JSON.parse(await readFile(path.join(root, product, '.lxd_requirements'), 'utf8')), {secureboot: 'false', nesting: 'true'});
	const products = JSON.parse(await readFile(path.join(root, 'streams/v1/images.json'), 'utf8')) as {products: Record<string, {aliases: string; versions: Record<string, unknown>}>};
	t.is(products.products['acme:3.0:amd64:default']?.aliases, 'acme/3.0/default,acme/3.0,acme/lts');
	t.deepEqual(Object.keys(products.products['acme:3.0:amd64:default']!.versions), [version]);

	const server = await serve(root);
	t.teardown(async () => server.stop());
	for (const kind of ['lxc', 'incus'] as ClientKind[]) {
		const client = await remote(kind, server.url, server.caFile);
		t.teardown(async () => client.close());
		t.deepEqual((await client.list()).map(i => i.fingerprint).sort(), [fingerprints.container, fingerprints.vm].sort(), kind);
		t.is((await client.info('acme/lts')).fingerprint, fingerprints.container, `${kind}: the alias typed into the wizard`);
		const vm = await client.info('acme/3.0', {vm: true});
		t.is(vm.fingerprint, fingerprints.vm);
		t.is(vm.properties['requirements.secureboot'], 'false');
		t.is(vm.properties['requirements.nesting'], 'true');
		t.is(vm.properties.serial, version);
		for (const [name, fingerprint, isVm] of [['container', fingerprints.container, false], ['vm', fingerprints.vm, true]] as const) {
			const files = await client.export(fingerprint, path.join(dir, `export-${kind}-${name}`), {vm: isVm});
			t.is(await fingerprintOfExport(files), fingerprint, `${kind} ${name}`);
		}
	}
});
