// The upstream catalog, read as the clients read it (format notes §1-§3): index.json, then every
// products file its image-downloads entries name, each decoded by the format's own module
// (streams/). Anything a client would fail on fails the read: the mirror is then left as it was.
import {decode, productsTypeErrors} from '../streams/decode.js';
import {followedEntries, type Product} from '../streams/model.js';
import {indexPath, insideBase} from '../streams/paths.js';
import {maxStreamsBytes} from '../streams/read.js';
import {UpstreamError, type Upstream} from './http.js';

export type UpstreamProduct = {id: string; product: Product};

async function json(upstream: Upstream, path: string): Promise<{text: string; value: unknown}> {
	const text = await upstream.text(path, maxStreamsBytes);
	if (text.trim() === '') {
		throw new UpstreamError(`${upstream.url(path)} is empty`);
	}

	try {
		return {text, value: JSON.parse(text) as unknown};
	} catch (error) {
		throw new UpstreamError(`${upstream.url(path)} is not JSON (${(error as Error).message})`);
	}
}

/** Every product upstream publishes, in the order of its products files; a product named twice is read once. */
export async function readUpstream(upstream: Upstream): Promise<UpstreamProduct[]> {
	const index = await json(upstream, indexPath);
	const entries = followedEntries(index.value);
	if (entries.length === 0) {
		throw new UpstreamError(`${upstream.url(indexPath)} names no image-downloads products file`);
	}

	const products: UpstreamProduct[] = [];
	for (const path of new Set(entries.map(entry => insideBase(entry.path)))) {
		const file = await json(upstream, path);
		const problems = productsTypeErrors({path, ...file});
		if (problems.length > 0) {
			const [first] = problems;
			const where = [first!.product, first!.version, first!.item].filter(Boolean).join(' ');
			throw new UpstreamError(`${upstream.url(path)}: ${where ? `${where}: ` : ''}${first!.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`);
		}

		for (const [id, product] of Object.entries(decode(file.value).products)) {
			if (!products.some(p => p.id === id)) {
				products.push({id, product});
			}
		}
	}

	return products;
}
