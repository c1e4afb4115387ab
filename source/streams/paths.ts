// Where the streams live under the web root (format notes §1): the index is the one fixed path, the
// products file is wherever the index names it; this program publishes it beside the index.
import {posix} from 'node:path';

/** The web root's directory that holds nothing but streams. */
const streamsTop = 'streams';

/** The directory both streams files are in, relative to the web root. */
const streamsDirectory = `${streamsTop}/v1`;

export const productsPath = `${streamsDirectory}/images.json`;
export const indexPath = `${streamsDirectory}/index.json`;

/** The two files a client reads, in the order they are written: the products file first. */
const streamFiles = [productsPath, indexPath] as const;

/** The page people read at the web root: the images the streams offer (page/). */
export const pagePath = 'index.html';

/** In the head of every page this program writes: an index.html without it is the operator's own, left alone. */
export const pageMarker = '<meta name="generator" content="simplestreams">';

/** The gzip of a served file, beside it: what a server sends as is to a client that accepts gzip (nginx gzip_static). */
export const gzipPath = (path: string) => `${path}.gz`;

/** Every file a publish writes, in the order they are written, without their gzips. */
export const servedFiles = [...streamFiles, pagePath] as const;

/** A path the clients resolve inside BASE (a leading / and `..` are normalised away, §1.5). */
export const insideBase = (path: string) => posix.normalize(`/${path}`).slice(1);
