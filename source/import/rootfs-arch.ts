// Which architecture a container rootfs is built for, where that is cheap to tell: the ELF header
// (e_machine) of the first executable found in bin/, sbin/, usr/bin/ or usr/sbin/. A squashfs is
// listed and read with unsquashfs (its directory table and a few small reads); a rootfs tarball is
// read until such a file, for at most 64 MiB of entries. A qcow2 disk is not looked into: that
// would mean a partition table, then whatever filesystem is inside.
import {execa} from 'execa';
import {entryHead, entryName, tarEntries, type TarContent} from './tarball.js';

/** What a rootfs showed: the binary looked at and the canonical architectures it can run as. */
export type RootArch = {binary: string; arches: string[]};

const elfHeader = 20;
const binaries = /^(usr\/)?s?bin\/[^/]+$/;
const tarBudget = 64 * 1024 * 1024;
const squashfsTries = 16;

/** The canonical architectures an ELF header's e_machine means (32-bit ARM cannot tell v6, v7 and v8 apart). */
export function elfArchitectures(head: Uint8Array): string[] | undefined {
	const bytes = Buffer.from(head);
	if (bytes.length < elfHeader || bytes.readUInt32BE(0) !== 0x7F_45_4C_46) {
		return undefined;
	}

	const wide = bytes[4] === 2;
	const little = bytes[5] === 1;
	switch (little ? bytes.readUInt16LE(18) : bytes.readUInt16BE(18)) {
		case 3: return ['i686'];
		case 8: return [wide ? 'mips64' : 'mips'];
		case 20: return ['ppc'];
		case 21: return [little ? 'ppc64le' : 'ppc64'];
		case 22: return wide ? ['s390x'] : undefined;
		case 40: return ['armv6l', 'armv7l', 'armv8l'];
		case 62: return ['x86_64'];
		case 183: return ['aarch64'];
		case 243: return [wide ? 'riscv64' : 'riscv32'];
		case 258: return ['loongarch64'];
		default: return undefined;
	}
}

/** The first bytes a command writes, then the command is stopped. */
async function commandHead(command: string, args: string[], length: number): Promise<Buffer> {
	const child = execa(command, args, {buffer: false, stderr: 'ignore', reject: false});
	const chunks: Buffer[] = [];
	let read = 0;
	for await (const chunk of child.stdout) {
		chunks.push(chunk as Buffer);
		read += (chunk as Buffer).length;
		if (read >= length) {
			break;
		}
	}

	child.kill();
	await child;
	return Buffer.concat(chunks).subarray(0, length);
}

async function squashfsArch(file: string): Promise<RootArch | undefined> {
	const listing = await execa('unsquashfs', ['-lls', '-d', '', file, 'bin', 'sbin', 'usr/bin', 'usr/sbin'], {reject: false, stderr: 'ignore'});
	if (listing.failed) {
		return undefined;
	}

	// `-rwxr-xr-x root/root 151344 2024-01-01 00:00 /usr/bin/ls`: regular files only.
	const paths = listing.stdout.split('\n')
		.map(line => /^-\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\/?(.+)$/.exec(line)?.[1])
		.filter((path): path is string => path !== undefined && binaries.test(path));
	for (const binary of paths.slice(0, squashfsTries)) {
		const arches = elfArchitectures(await commandHead('unsquashfs', ['-cat', file, binary], elfHeader));
		if (arches) {
			return {binary, arches};
		}
	}

	return undefined;
}

async function tarballArch(file: string, content: TarContent): Promise<RootArch | undefined> {
	for await (const entry of tarEntries(file, content, tarBudget)) {
		const binary = entryName(entry);
		if (entry.header.type === 'file' && binaries.test(binary)) {
			const arches = elfArchitectures(await entryHead(entry, elfHeader));
			if (arches) {
				return {binary, arches};
			}
		}
	}

	return undefined;
}

/** What the rootfs's binaries say, or undefined when that cannot be told cheaply (never an error). */
export async function rootfsArchitecture(file: string, content: 'squashfs' | TarContent): Promise<RootArch | undefined> {
	try {
		return content === 'squashfs' ? await squashfsArch(file) : await tarballArch(file, content);
	} catch {
		return undefined;
	}
}
