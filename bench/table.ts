// The benchmark's tables, as aligned text for the terminal and as Markdown for bench/RESULTS.md.

export type Table<K extends string> = {columns: readonly K[]; headers: Record<K, string>; rows: ReadonlyArray<Record<K, string>>};

export function textTable<K extends string>({columns, headers, rows}: Table<K>): string {
	const widths = columns.map(column => Math.max(...[headers, ...rows].map(row => [...row[column]].length)));
	const line = (row: Record<K, string>) => columns.map((column, index) => row[column].padEnd(widths[index]!)).join('  ').trimEnd();
	return [line(headers), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(row => line(row))].join('\n');
}

export function markdownTable<K extends string>({columns, headers, rows}: Table<K>): string {
	const line = (row: Record<K, string>) => `| ${columns.map(column => row[column] || '—').join(' | ')} |`;
	return [line(headers), `|${columns.map(() => '---').join('|')}|`, ...rows.map(row => line(row))].join('\n');
}
