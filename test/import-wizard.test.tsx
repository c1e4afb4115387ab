// The import wizard, step by step, through ink-testing-library: what each step shows, typing with
// validation as it happens, Esc going back, Ctrl-C leaving, and the plan it hands over.
import {mkdir, writeFile} from 'node:fs/promises';
import path from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {render} from 'ink-testing-library';
import {findImage} from '../source/import/find.js';
import type {Found} from '../source/import/found.js';
import type {ImportPlan} from '../source/import/plan.js';
import type {Choices} from '../source/import/propose.js';
import {scan} from '../source/pipeline/scan.js';
import {preparePlan} from '../source/import/prepare.js';
import {Wizard} from '../source/import/wizard/Wizard.js';
import {importSource, scratch} from './helpers/import.js';
import {imageVersion} from './helpers/images.js';

const key = {enter: '\r', escape: '\u001B', backspace: '\u007F', clearLine: '\u0015', ctrlC: '\u0003'};

type App = ReturnType<typeof render>;

const sleep = async (ms: number) => new Promise(resolve => {
	setTimeout(resolve, ms);
});

/** Poll the frame until it satisfies `check` (Ink draws at a bounded rate). */
async function until(app: App, check: (frame: string) => boolean, what: string): Promise<string> {
	for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(10)) {
		const frame = app.lastFrame() ?? '';
		if (check(frame)) {
			return frame;
		}
	}

	throw new Error(`no frame with ${what}; the last one:\n${app.lastFrame() ?? ''}`);
}

const shows = async (app: App, text: string) => until(app, frame => frame.includes(text), JSON.stringify(text));
const lacks = async (app: App, text: string) => until(app, frame => !frame.includes(text), `no ${JSON.stringify(text)}`);

/** Type keys one at a time; a lone Esc needs a moment, or the next key would read as Alt+key. */
async function type(app: App, ...keys: string[]): Promise<void> {
	for (const k of keys) {
		app.stdin.write(k);
		await sleep(k === key.escape ? 50 : 5);
	}
}

type Setup = {app: App; found: Found; root: string; done: ImportPlan[]; cancelled: () => boolean};

/** A real image in SRC (lxd.tar.xz, a squashfs and, unless vm is false, a qcow2 disk) and a real tree. */
async function setup(t: ExecutionContext, options: {vm?: boolean; write?: boolean; prepare?: (choices: Choices) => Promise<ImportPlan>; existing?: boolean; force?: boolean} = {}): Promise<Setup> {
	const dir = await scratch(t);
	const found = await findImage(await importSource(path.join(dir, 'src'), options.vm === false ? {} : {qcow2: 'disk.qcow2'}));
	const root = path.join(dir, 'root');
	// Another product on the same architecture already has the alias acme/lts.
	await imageVersion(root, {os: 'other', release: '1', arch: 'amd64', variant: 'default', version: '20240101_0000', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
	await writeFile(path.join(root, 'images/other/1/amd64/default/.aliases'), 'acme/lts\n');
	if (options.existing) {
		// The version the metadata proposes is published already.
		await imageVersion(root, {os: 'acme', release: '3.0', arch: 'amd64', variant: 'default', version: '20240601_00:00', meta: ['incus.tar.xz'], rootfs: ['root.squashfs']});
	}

	const {products} = await scan(root, () => undefined);
	const done: ImportPlan[] = [];
	let cancelled = false;
	const app = render(
		<Wizard
			context={{found, products, force: options.force}}
			given={{fields: {os: 'acme', release: '3.0', arch: 'amd64', variant: 'default', version: '20240601_00:00'}, requirements: {}, aliases: []}}
			root={root}
			write={options.write ?? true}
			prepare={options.prepare ?? (async choices => preparePlan(found, choices, {root, products, copy: false, force: false}))}
			onDone={plan => done.push(plan)}
			onCancel={() => {
				cancelled = true;
			}}
		/>,
	);
	t.teardown(() => {
		app.unmount();
	});
	await shows(app, '› os');
	return {app, found, root, done, cancelled: () => cancelled};
}

test('the sources and every proposed field are shown; Enter accepts them one by one', async t => {
	const {app} = await setup(t);
	const frame = await shows(app, '› os       acme');
	t.regex(frame, /Import from .*\/src/);
	t.regex(frame, /metadata {2}lxd\.tar\.xz \(xz, \d+ B\)/);
	t.regex(frame, /rootfs {4}disk\.qcow2 \(qcow2, .*\)/);
	t.regex(frame, /rootfs {4}rootfs\.squashfs \(squashfs, .*\)/);
	t.regex(frame, /release +3\.0\n.*arch +amd64\n.*variant +default\n.*version +20240601_00:00/s);
	t.regex(frame, /Enter: accept · Ctrl-C: quit, changing nothing/);
	await type(app, key.enter);
	t.regex(await shows(app, '› release'), /✔ os +acme/);
	await type(app, key.enter, key.enter, key.enter);
	await shows(app, '› version');
	await type(app, key.enter);
	await shows(app, 'Must secure boot be off');
});

test('typing edits a field; the problem shows as it is typed and Enter does not pass it', async t => {
	const {app} = await setup(t);
	await type(app, '/');
	await shows(app, '✖ os "acme/" has characters LXD and Incus escape differently');
	await type(app, key.enter);
	await shows(app, '› os       acme/');
	await type(app, key.backspace);
	await lacks(app, '✖');
	await type(app, key.clearLine, '.', 'x');
	await shows(app, '✖ os ".x" starts with a dot');
	await type(app, key.clearLine, 'demo:1');
	await shows(app, '✖ os "demo:1" has a ":"');
	await type(app, key.backspace, key.backspace, key.enter);
	await shows(app, '› release');
	t.regex(app.lastFrame()!, /✔ os +demo\n/);
	await type(app, '..1', key.enter);
	t.regex(await shows(app, '✖ release "3.0..1" has ".."'), /› release +3\.0\.\.1/);
});

test('keys that arrive together (pasted, or sent by tmux) act one by one', async t => {
	const {app} = await setup(t);
	app.stdin.write('\r/x\u007F\u007F.1\r\r');
	t.regex(await shows(app, '› variant'), /✔ release +3\.0\.1\n/);
	app.stdin.write('\u0015cloud\r\u0003');
	await until(app, frame => frame === '', 'Ctrl-C in the chunk');
});

test('Esc goes back a step and keeps what was typed; on the first step it stays', async t => {
	const {app} = await setup(t);
	await type(app, key.escape);
	await sleep(50);
	t.regex(app.lastFrame()!, /› os/);
	await type(app, key.enter, '1');
	await shows(app, '› release  3.01');
	await type(app, key.escape);
	const frame = await shows(app, '› os');
	t.regex(frame, / {2}release +3\.01\n/);
	t.regex(frame, /Enter: accept · Ctrl-C/, 'no Esc on the first step');
	await type(app, key.enter);
	t.regex(await shows(app, '› release  3.01'), /Esc: back/);
});

test('arch and version are checked against the metadata and the naming rules', async t => {
	const {app} = await setup(t);
	await type(app, key.enter, key.enter);
	await shows(app, '› arch');
	await type(app, key.clearLine, 'x64');
	await shows(app, '✖ unknown architecture "x64"');
	await type(app, key.clearLine, 'AMD64');
	await shows(app, 'case-sensitive: use "amd64"');
	await type(app, key.clearLine, 'arm64');
	await shows(app, '✖ arch "arm64" is not the x86_64 that metadata.yaml says');
	await type(app, key.enter);
	await shows(app, '› arch     arm64');
	await type(app, key.clearLine, 'x86_64');
	await lacks(app, '✖');
	await type(app, key.enter, key.enter);
	await shows(app, '› version');
	await type(app, key.clearLine, '2024-06-01');
	await shows(app, '✖ version "2024-06-01" is not a version name');
	await type(app, key.clearLine, '20240631_12:00');
	await shows(app, 'does not start with a real date');
	await type(app, key.clearLine, '20240601_12:00', key.enter);
	t.regex(await shows(app, 'Must secure boot be off'), /✔ version +20240601_12:00/);
});

test('a VM is offered secureboot=false; y adds it, n or Enter does not', async t => {
	const {app} = await setup(t);
	await type(app, key.enter, key.enter, key.enter, key.enter, key.enter);
	await shows(app, 'requirement secureboot=false');
	await type(app, 'y');
	await shows(app, 'adding:  secureboot=false');
	await type(app, key.escape);
	await shows(app, 'Must secure boot be off');
	await type(app, 'n');
	await shows(app, 'Requirements for the product');
	t.notRegex(app.lastFrame()!, /adding/);
});

test('no VM, no secure boot question', async t => {
	const {app} = await setup(t, {vm: false});
	await type(app, key.enter, key.enter, key.enter, key.enter, key.enter);
	await shows(app, 'Requirements for the product (key=value)');
	t.notRegex(app.lastFrame()!, /secure boot/);
});

test('requirements: a bad line is refused with why; Backspace on an empty line takes the last back', async t => {
	const {app} = await setup(t);
	await type(app, key.enter, key.enter, key.enter, key.enter, key.enter, key.enter);
	await shows(app, 'Requirements for the product');
	await type(app, 'nesting', key.enter);
	await shows(app, '✖ requirement "nesting" has no value');
	await type(app, '=true', key.enter);
	await shows(app, 'adding:  nesting=true');
	await type(app, 'cgroup=v2', key.enter);
	await shows(app, 'adding:  nesting=true, cgroup=v2');
	await type(app, 'nesting=false', key.enter);
	await shows(app, 'adding:  cgroup=v2, nesting=false');
	await type(app, key.backspace);
	t.notRegex(await shows(app, 'adding:  cgroup=v2\n'), /nesting=false/);
	await type(app, key.enter);
	t.regex(await shows(app, 'Extra aliases'), /✔ version/);
});

test('aliases: checked against the alias rules, this product\'s aliases and the other products\'', async t => {
	const {app} = await setup(t);
	await type(app, key.enter, key.enter, key.enter, key.enter, key.enter, key.enter, key.enter);
	const frame = await shows(app, 'Extra aliases');
	t.regex(frame, /already: acme\/3\.0\/default, acme\/3\.0/);
	await type(app, 'bad alias');
	await shows(app, '✖ alias "bad alias" may only use');
	await type(app, key.clearLine, 'acme/3.0', key.enter);
	await shows(app, '✖ alias "acme/3.0" is already an alias of this product');
	await type(app, key.clearLine, 'acme/lts', key.enter);
	await shows(app, '✖ alias "acme/lts" already belongs to other:1:amd64:default for this architecture');
	await type(app, key.clearLine, 'acme/stable', key.enter);
	await shows(app, 'adding:  acme/stable');
	await type(app, 'acme/stable', key.enter);
	await shows(app, '✖ alias "acme/stable" is already an alias of this product');
});

test('the plan shows the destination, each file and what the streams gain; Enter hands it over', async t => {
	const {app, done, root} = await setup(t);
	await type(app, key.enter, key.enter, key.enter, key.enter, key.enter, 'y', key.enter);
	await type(app, 'acme/stable', key.enter, key.enter);
	const frame = await shows(app, 'Enter: import');
	t.regex(frame, new RegExp(`create images/acme/3\\.0/amd64/default/20240601_00:00/  in ${root}`));
	t.regex(frame, /lxd\.tar\.xz +\d+ B {2}move, from lxd\.tar\.xz/);
	t.regex(frame, /root\.squashfs .* move, from rootfs\.squashfs, built for x86_64 \(usr\/bin\/hello\)/);
	t.regex(frame, /product acme:3\.0:amd64:default \(new\)/);
	t.regex(frame, /aliases: acme\/3\.0\/default, acme\/3\.0, acme\/stable \(new, in \.aliases\)/);
	t.regex(frame, /requirements: secureboot=false \(new\)/);
	t.deepEqual(done, []);
	await type(app, key.enter);
	await until(app, () => done.length === 1, 'the plan handed over');
	t.deepEqual(done[0]!.choices, {fields: {os: 'acme', release: '3.0', arch: 'amd64', variant: 'default', version: '20240601_00:00'}, requirements: {secureboot: 'false'}, aliases: ['acme/stable']});
	t.is(done[0]!.destination, 'images/acme/3.0/amd64/default/20240601_00:00');
	await until(app, frame => frame === '', 'the wizard gone');
});

test('a plan with a problem cannot be confirmed; Esc goes back to change it', async t => {
	const {app, done, root} = await setup(t, {vm: false});
	await mkdir(path.join(root, 'images/acme/3.0/amd64/default/20240601_00:00'), {recursive: true});
	await type(app, key.enter, key.enter, key.enter, key.enter, key.enter, key.enter, key.enter);
	await shows(app, 'problem: images/acme/3.0/amd64/default/20240601_00:00 already exists');
	await shows(app, 'Esc: go back and change it');
	await type(app, key.enter);
	await sleep(50);
	t.deepEqual(done, []);
	await type(app, key.escape, key.escape, key.escape);
	await shows(app, '› version');
	await type(app, key.clearLine, '20240601_01:00', key.enter, key.enter, key.enter);
	await shows(app, 'Enter: import');
	await type(app, key.enter);
	await until(app, () => done.length === 1, 'the plan handed over');
	t.is(done[0]!.destination, 'images/acme/3.0/amd64/default/20240601_01:00');
});

test('an os typed with capitals becomes lowercase, as metadata.yaml\'s is taken', async t => {
	const {app} = await setup(t);
	await type(app, key.clearLine, 'Fedora');
	await shows(app, '› os       fedora');
	await type(app, key.enter);
	t.regex(await shows(app, '› release'), /✔ os +fedora/);
});

test('a version that exists is flagged as soon as it is chosen, not at the plan; without --force it must be changed', async t => {
	const {app} = await setup(t, {vm: false, existing: true});
	await type(app, key.enter, key.enter, key.enter, key.enter);
	await shows(app, '› version');
	await shows(app, '✖ images/acme/3.0/amd64/default/20240601_00:00 exists: type another version');
	await type(app, key.enter);
	await sleep(50);
	t.regex(app.lastFrame() ?? '', /› version/, 'Enter does not pass it');
	await type(app, key.clearLine, '20240601_01:00');
	await lacks(app, 'exists:');
	await type(app, key.enter);
	t.regex(await shows(app, 'Requirements for the product'), /✔ version +20240601_01:00/);
});

test('with --force an existing version is said to be replaced, and passes', async t => {
	const {app} = await setup(t, {vm: false, existing: true, force: true});
	await type(app, key.enter, key.enter, key.enter, key.enter);
	await shows(app, '! images/acme/3.0/amd64/default/20240601_00:00 exists: --force replaces it');
	await type(app, key.enter);
	t.regex(await shows(app, 'Requirements for the product'), /✔ version +20240601_00:00/);
});

test('a dry run says that nothing will change', async t => {
	const {app} = await setup(t, {write: false, vm: false});
	await type(app, key.enter, key.enter, key.enter, key.enter, key.enter, key.enter, key.enter);
	t.regex(await shows(app, 'Enter: finish (dry run: nothing is changed; add -N to import)'), /create images\/acme\/3\.0\/amd64\/default\/20240601_00:00\//);
});

test('a plan that cannot be made is shown as the error', async t => {
	const {app} = await setup(t, {vm: false, prepare: async () => Promise.reject(new Error('images/.requirements is not valid JSON'))});
	await type(app, key.enter, key.enter, key.enter, key.enter, key.enter, key.enter, key.enter);
	t.notRegex(await shows(app, '✖ images/.requirements is not valid JSON'), /Enter: import/);
});

for (const [where, keys] of [['the first field', []], ['the requirements', [key.enter, key.enter, key.enter, key.enter, key.enter, 'n']], ['the plan', [key.enter, key.enter, key.enter, key.enter, key.enter, 'n', key.enter, key.enter]]] as const) {
	test(`Ctrl-C at ${where} leaves without a plan`, async t => {
		const {app, done, cancelled} = await setup(t);
		await type(app, ...keys);
		await type(app, key.ctrlC);
		await until(app, () => cancelled(), 'the cancel');
		t.deepEqual(done, []);
		await until(app, frame => frame === '', 'the wizard gone');
	});
}
