// The architecture table the clients apply to a product's `arch` (shared/osarch in LXD and Incus).
// Only names both clients accept are publishable: a name one of them lacks silently hides the whole
// product from that client.
import {clientLabel, type Client} from '../streams/ftypes.js';

const canonical: Record<string, readonly string[]> = {
	i686: ['i386', 'i586', '386', 'x86', 'generic_32'],
	x86_64: ['amd64', 'generic_64'],
	armv6l: ['armel', 'arm'],
	armv7l: ['armhf', 'armhfp', 'armv7a_hardfp', 'armv7', 'armv7a_vfpv3_hardfp'],
	armv8l: [],
	aarch64: ['arm64', 'arm64_generic'],
	ppc: ['powerpc'],
	ppc64: ['powerpc64'],
	ppc64le: ['ppc64el'],
	s390x: [],
	mips: ['mipsel', 'mipsle'],
	mips64: ['mips64el', 'mips64le'],
	riscv32: [],
	riscv64: [],
	loongarch64: ['loong64'],
};

/** Names only one client knows: accepting them would publish to one client and hide from the other. */
const oneClientOnly: Record<string, Client> = {
	amd64v3: 'lxd',
	x86_64_v1: 'incus',
	x86_64_v2: 'incus',
	x86_64_v3: 'incus',
	x86_64_v4: 'incus',
};

/** The Debian spelling for each canonical name, as official servers use it (so aliases read `…/amd64`). */
const debianName: Record<string, string> = {
	i686: 'i386',
	x86_64: 'amd64',
	armv6l: 'armel',
	armv7l: 'armhf',
	aarch64: 'arm64',
	ppc64le: 'ppc64el',
	ppc: 'powerpc',
	ppc64: 'powerpc64',
	mips: 'mipsel',
	mips64: 'mips64el',
	loongarch64: 'loong64',
};

const byName = new Map<string, string>();
for (const [name, aliases] of Object.entries(canonical)) {
	byName.set(name, name);
	for (const alias of aliases) {
		byName.set(alias, name);
	}
}

/** The canonical architecture for a name either client accepts, or undefined. Case-sensitive, as the clients are. */
export function canonicalArchitecture(name: string): string | undefined {
	return byName.get(name);
}

/** Why `name` cannot be published as a product's arch, or undefined when it can. */
export function architectureProblem(name: string): string | undefined {
	if (byName.has(name)) {
		return undefined;
	}

	const only = Object.hasOwn(oneClientOnly, name) ? oneClientOnly[name] : undefined;
	if (only) {
		return `architecture "${name}" is known to ${clientLabel[only]} only; the other client would hide the product`;
	}

	const lower = name.toLowerCase();
	const hint = byName.has(lower) ? ` (architecture names are case-sensitive: use "${lower}")` : '';
	return `unknown architecture "${name}"${hint}`;
}

/** The simplestreams (Debian) spelling of any accepted name: x86_64 → amd64, aarch64 → arm64. */
export function streamArchitecture(name: string): string | undefined {
	const canonicalName = byName.get(name);
	return canonicalName === undefined ? undefined : (Object.hasOwn(debianName, canonicalName) ? debianName[canonicalName]! : canonicalName);
}

/**
 * The canonical architecture one client makes of a product's `arch`, or undefined when it hides the
 * product: LXD adds amd64v3 and reads only the first word, Incus adds x86_64_v1..v4.
 */
export function clientArchitecture(name: string, client: Client): string | undefined {
	const word = client === 'lxd' ? name.split(/\s/)[0]! : name;
	const only = Object.hasOwn(oneClientOnly, word) ? oneClientOnly[word] : undefined;
	return byName.get(word) ?? (only === client ? 'x86_64' : undefined);
}
