/** The two files a client reads, relative to the web root: images.json is written first. */
export const productsPath = 'streams/v1/images.json';
export const indexPath = 'streams/v1/index.json';
export const streamFiles = [productsPath, indexPath] as const;
