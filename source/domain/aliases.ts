// Aliases: `os/release/variant` (plus `os/release` for the default variant) for every product, and
// any extra ones listed in the product's `.aliases` file, one per line (# starts a comment).

export const aliasFile = '.aliases';

/** A few hundred lines at most in practice: anything larger is not an alias list. */
export const maxAliasesBytes = 1024 * 1024;

/** Characters clients keep intact in an alias; `,` separates aliases in the products file. */
const aliasPattern = /^[A-Za-z0-9._:+/-]+$/;

export function aliasProblem(alias: string): string | undefined {
	if (!aliasPattern.test(alias)) {
		return `alias "${alias}" may only use A-Z a-z 0-9 . _ : + - /`;
	}

	if (alias.startsWith('/') || alias.endsWith('/') || alias.includes('//')) {
		return `alias "${alias}" has an empty part between slashes`;
	}

	return undefined;
}

export function defaultAliases(os: string, release: string, variant: string): string[] {
	return variant === 'default' ? [`${os}/${release}/${variant}`, `${os}/${release}`] : [`${os}/${release}/${variant}`];
}

/** Parse an `.aliases` file: the valid aliases, and a problem per bad line. */
export function parseAliases(text: string): {aliases: string[]; problems: string[]} {
	// A set, not the list searched line by line: a file at the size limit has tens of thousands of lines.
	const aliases = new Set<string>();
	const problems: string[] = [];
	for (const [index, raw] of text.split('\n').entries()) {
		const line = raw.replace(/#.*/, '').trim();
		if (line === '') {
			continue;
		}

		const problem = aliasProblem(line);
		if (problem) {
			problems.push(`line ${index + 1}: ${problem}; ignored`);
		} else {
			aliases.add(line);
		}
	}

	return {aliases: [...aliases], problems};
}

export function formatAliases(aliases: readonly string[]): string {
	return `# Extra aliases for this product, one per line (read by simplestreams).\n${aliases.join('\n')}\n`;
}
