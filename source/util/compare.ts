/**
 * Text in the order of its UTF-16 code units, as `<` and a bare sort() have it: for the ASCII names
 * of a tree, the order of the clients (Go compares bytes) and of a Linux listing (strcmp).
 */
export const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Whether `items` are already in `compare`'s order: a check costs a comparison an item, where a sort allocates working copies. */
export function inOrder<T>(items: readonly T[], compare: (a: T, b: T) => number): boolean {
	for (let index = 1; index < items.length; index++) {
		if (compare(items[index - 1]!, items[index]!) > 0) {
			return false;
		}
	}

	return true;
}
