/** Map with at most `limit` calls in flight, results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
	const results: R[] = Array.from({length: items.length});
	let next = 0;
	const run = async () => {
		while (next < items.length) {
			const index = next++;
			results[index] = await fn(items[index]!);
		}
	};

	await Promise.all(Array.from({length: Math.min(limit, items.length)}, run));
	return results;
}
