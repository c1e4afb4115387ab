// A container image a daemon really boots, in about a second: a static busybox as /bin/busybox with
// its applet links, /sbin/init among them, and nothing else but the files a test asks for.
import {copyFile, mkdir, symlink, writeFile} from 'node:fs/promises';
import path from 'node:path';
import {execa} from 'execa';
import {requireTool, tempDir} from './images.js';

/** Lays out the root filesystem in `dir`; `files` (path → content) are added or replace defaults. */
export async function busyboxRoot(dir: string, files: Record<string, string> = {}): Promise<string> {
	await requireTool('busybox');
	const busybox = (await execa('sh', ['-c', 'command -v busybox'])).stdout.trim();
	for (const sub of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'run', 'var']) {
		await mkdir(path.join(dir, sub), {recursive: true});
	}

	await copyFile(busybox, path.join(dir, 'bin/busybox'));
	for (const applet of (await execa(busybox, ['--list-full'])).stdout.split('\n').filter(Boolean)) {
		if (applet !== 'bin/busybox') {
			await symlink('/bin/busybox', path.join(dir, applet)).catch(() => undefined);
		}
	}

	// init with nothing to respawn just stays up, which is all a container needs.
	const defaults = {'etc/inittab': '::sysinit:/bin/true\n', 'etc/hostname': 'unset\n', 'etc/hosts': '127.0.0.1 localhost\n'};
	for (const [name, content] of Object.entries({...defaults, ...files})) {
		await mkdir(path.dirname(path.join(dir, name)), {recursive: true});
		await writeFile(path.join(dir, name), content);
	}

	return dir;
}

export type RootKind = 'squashfs' | 'root.tar.xz';

/** A busybox rootfs as a squashfs or an xz tarball of entries relative to /, at `file`. */
export async function busyboxImage(file: string, kind: RootKind, files: Record<string, string> = {}): Promise<string> {
	const scratch = await tempDir('ss-busybox');
	try {
		const root = await busyboxRoot(path.join(scratch.path, 'root'), files);
		await mkdir(path.dirname(file), {recursive: true});
		if (kind === 'squashfs') {
			await execa('mksquashfs', [root, file, '-noappend', '-all-root', '-quiet', '-no-progress']);
		} else {
			await execa('sh', ['-c', 'cd "$1" && tar --numeric-owner --owner=0 --group=0 -cf - * | xz -T1 -c > "$2"', 'sh', root, file]);
		}
	} finally {
		await scratch.cleanup();
	}

	return file;
}
