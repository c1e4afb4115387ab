// Naming rules for the tree images/OS/RELEASE/ARCH/VARIANT/VERSION/: what a directory may be called
// so that both clients keep the version and every path works unescaped in LXD and Incus alike.

/** The version-name forms accepted: the date must be real, the time (when present) too. */
const versionForms: ReadonlyArray<{form: string; pattern: RegExp}> = [
	{form: 'YYYYMMDD_HH:MM', pattern: /^(\d{8})_(\d{2}):(\d{2})$/},
	{form: 'YYYYMMDD_HHMM', pattern: /^(\d{8})_(\d{2})(\d{2})$/},
	{form: 'YYYYMMDDhhmm', pattern: /^(\d{8})(\d{2})(\d{2})$/},
	{form: 'YYYYMMDD', pattern: /^(\d{8})$/},
];

const versionFormsText = versionForms.map(f => f.form).join(', ');

/** A real calendar date written YYYYMMDD. */
export function isCalendarDate(yyyymmdd: string): boolean {
	if (!/^\d{8}$/.test(yyyymmdd)) {
		return false;
	}

	const year = Number(yyyymmdd.slice(0, 4));
	const month = Number(yyyymmdd.slice(4, 6));
	const day = Number(yyyymmdd.slice(6, 8));
	return year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);
}

function daysIn(year: number, month: number): number {
	if (month === 2) {
		return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
	}

	return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Why a version directory name is not a publishable version, or undefined when it is. */
export function versionNameProblem(name: string): string | undefined {
	for (const {pattern} of versionForms) {
		const match = pattern.exec(name);
		if (!match) {
			continue;
		}

		const [, date, hours, minutes] = match;
		if (!isCalendarDate(date!)) {
			return `version "${name}" does not start with a real date YYYYMMDD`;
		}

		if (hours !== undefined && (Number(hours) > 23 || Number(minutes) > 59)) {
			return `version "${name}" has an impossible time of day`;
		}

		return undefined;
	}

	return `version "${name}" is not a version name (expected ${versionFormsText})`;
}

/** Characters that every client puts into a URL unescaped and identically (see the format notes, §1). */
const safeSegment = /^[A-Za-z0-9._:+-]+$/;

/** Why a path segment (directory or file name) cannot be published, or undefined when it can. */
export function segmentProblem(name: string): string | undefined {
	if (name === '.' || name === '..' || name.startsWith('.')) {
		return `"${name}" starts with a dot`;
	}

	if (!safeSegment.test(name)) {
		return `"${name}" has characters LXD and Incus escape differently (allowed: A-Z a-z 0-9 . _ : + -)`;
	}

	return undefined;
}

/**
 * Why an os, release, arch or variant directory name cannot be used: on top of segmentProblem, no
 * `:`, which joins them into the product id (`a:b/c` and `a/b:c` would be one product).
 */
export function productSegmentProblem(name: string): string | undefined {
	return segmentProblem(name) ?? (name.includes(':') ? `"${name}" has a ":", which separates the parts of a product id` : undefined);
}

/** The moment a valid version name stands for, in ms since the epoch (UTC). */
export function versionTime(name: string): number {
	const digits = name.replaceAll(/\D/g, '');
	const [year, month, day, hours = '0', minutes = '0'] = [digits.slice(0, 4), digits.slice(4, 6), digits.slice(6, 8), digits.slice(8, 10) || undefined, digits.slice(10, 12) || undefined];
	return Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hours), Number(minutes));
}

const isDigit = (code: number) => code >= 48 && code <= 57;

/** Digits in the same places and the same characters elsewhere (compared without a copy of either). */
function sameLayout(a: string, b: string): boolean {
	if (a.length !== b.length) {
		return false;
	}

	for (let i = 0; i < a.length; i++) {
		const x = a.charCodeAt(i);
		const y = b.charCodeAt(i);
		if (x !== y && !(isDigit(x) && isDigit(y))) {
			return false;
		}
	}

	return true;
}

/**
 * Clients take the newest version by plain string order. When that order is not the time order
 * (mixed forms such as 20240101_12:00 and 20240101_1300), an older build owns the aliases.
 */
export function versionOrderProblem(names: readonly string[]): string | undefined {
	// Names of one layout (digits in the same places) sort as their dates do: the usual case, and
	// a tenth of the scan of a large tree when every name's time was worked out.
	const first = names[0] ?? '';
	if (names.every(name => sameLayout(name, first))) {
		return undefined;
	}

	const byString = [...names].sort();
	const times = byString.map(name => versionTime(name)); // Once per name: a product can have thousands.
	for (let i = 1; i < byString.length; i++) {
		const [older, newer] = [byString[i - 1]!, byString[i]!];
		if (times[i - 1]! > times[i]!) {
			return `versions ${older} and ${newer} sort against their dates, so clients take the wrong one as newest: use one version form per product`;
		}
	}

	return undefined;
}
