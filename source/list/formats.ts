/** The forms of `simplestreams list`: apart from report/list.ts, which the command line need not load. */
export const listFormats = ['table', 'json', 'csv'] as const;
export type ListFormat = (typeof listFormats)[number];
