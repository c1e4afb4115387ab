/**
 * Text in the order of its UTF-16 code units, as `<` and a bare sort() have it: for the ASCII names
 * of a tree, the order of the clients (Go compares bytes) and of a Linux listing (strcmp).
 */
export const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
