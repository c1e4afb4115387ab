import test from 'ava';
import {architectureProblem, canonicalArchitecture, streamArchitecture} from '../source/domain/architectures.js';

// The format notes, §10: names both LXD and Incus accept.
const table: Record<string, string[]> = {
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

test('every canonical name and alias maps to its canonical name and is publishable', t => {
	for (const [canonical, aliases] of Object.entries(table)) {
		for (const name of [canonical, ...aliases]) {
			t.is(canonicalArchitecture(name), canonical, name);
			t.is(architectureProblem(name), undefined, name);
		}
	}
});

test('streamArchitecture gives a publishable name of the same architecture', t => {
	for (const [canonical, aliases] of Object.entries(table)) {
		for (const name of [canonical, ...aliases]) {
			const stream = streamArchitecture(name);
			t.not(stream, undefined, name);
			t.is(canonicalArchitecture(stream!), canonical, name);
		}
	}
});

test('streamArchitecture uses the Debian spelling official servers use', t => {
	const expected: Record<string, string> = {
		x86_64: 'amd64', amd64: 'amd64', generic_64: 'amd64', aarch64: 'arm64', i686: 'i386', x86: 'i386',
		armv7l: 'armhf', armv7: 'armhf', armv6l: 'armel', ppc64le: 'ppc64el', s390x: 's390x', riscv64: 'riscv64', loongarch64: 'loong64',
	};
	for (const [name, stream] of Object.entries(expected)) {
		t.is(streamArchitecture(name), stream, name);
	}
});

test('names only one client knows are refused with a message naming that client', t => {
	t.regex(architectureProblem('amd64v3') ?? '', /known to LXD only/);
	for (const name of ['x86_64_v1', 'x86_64_v2', 'x86_64_v3', 'x86_64_v4']) {
		t.regex(architectureProblem(name) ?? '', /known to Incus only/, name);
		t.is(canonicalArchitecture(name), undefined, name);
		t.is(streamArchitecture(name), undefined, name);
	}

	t.is(canonicalArchitecture('amd64v3'), undefined);
});

test('unknown names are refused without a hint', t => {
	for (const name of ['x64', 'armv8', 'arm64v8', 'amd64 amd64', 'x86_64 x86_64', '', 'sparc64', 'i786']) {
		const problem = architectureProblem(name) ?? '';
		t.regex(problem, /^unknown architecture/, JSON.stringify(name));
		t.false(problem.includes('case-sensitive'), name);
		t.is(canonicalArchitecture(name), undefined, name);
	}
});

test('wrong-case names are refused with a hint at the right spelling', t => {
	t.regex(architectureProblem('AMD64') ?? '', /unknown architecture "AMD64".*case-sensitive: use "amd64"/);
	t.regex(architectureProblem('X86_64') ?? '', /use "x86_64"/);
	t.regex(architectureProblem('Arm64') ?? '', /use "arm64"/);
	t.is(canonicalArchitecture('AMD64'), undefined);
	t.is(streamArchitecture('AMD64'), undefined);
});

test('names of Object.prototype members are plain unknown architectures', t => {
	// A directory called `constructor` or `toString` must not be taken for a one-client-only name.
	for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
		t.regex(architectureProblem(name) ?? '', /^unknown architecture/, name);
		t.is(canonicalArchitecture(name), undefined, name);
		t.is(streamArchitecture(name), undefined, name);
	}
});
