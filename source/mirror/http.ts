// The upstream server over HTTP(S): every response bounded, retries with backoff, downloads that
// resume where an earlier attempt (or run) stopped, TLS through the system's roots and --ca, and
// the proxy variables (https_proxy, http_proxy, no_proxy) people set. undici is the HTTP client
// Node's own fetch runs on; its package gives what fetch hides: the proxy agent and the TLS options.
import {createHash, type Hash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {open} from 'node:fs/promises';
import {rootCertificates} from 'node:tls';
import {Agent, EnvHttpProxyAgent, request, type Dispatcher} from 'undici';
import {insideBase} from '../streams/paths.js';
import {errorCode} from '../util/errors.js';
import {FetchError, UpstreamError} from './errors.js';

export {FetchError, UpstreamError} from './errors.js';

export type UpstreamOptions = {
	/** A PEM file of CA certificates trusted besides the system's roots (--ca). */
	caFile?: string;
	/** Attempts per request before it counts as failed. */
	attempts?: number;
	/** The first wait between attempts; each later wait doubles it. */
	backoffMs?: number;
	signal?: AbortSignal;
};

const systemBundles = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt'];

/** Node's own roots, the system's bundle (SSL_CERT_FILE first, as OpenSSL and Go read it) and --ca. */
function trusted(caFile?: string): string[] {
	const pems = [...rootCertificates];
	for (const file of [process.env.SSL_CERT_FILE, ...systemBundles].filter(f => f !== undefined && f !== '')) {
		try {
			pems.push(readFileSync(file!, 'utf8'));
			break;
		} catch {}
	}

	if (caFile !== undefined) {
		try {
			pems.push(readFileSync(caFile, 'utf8'));
		} catch (error) {
			throw new UpstreamError(`--ca ${caFile} cannot be read (${errorCode(error)})`);
		}
	}

	return pems;
}

const proxied = () => ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'].some(name => (process.env[name] ?? '') !== '');

const sleep = async (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
	const timer = setTimeout(resolve, ms);
	signal?.addEventListener('abort', () => {
		clearTimeout(timer);
		reject(signal.reason as Error);
	}, {once: true});
});

class StatusError extends Error {
	constructor(readonly status: number, url: string) {
		super(`${url} answered HTTP ${status}`);
	}
}

/**
 * A failure worth another attempt: the network, or the server saying it is busy or broken. A
 * certificate that is not trusted stays untrusted.
 */
function transient(error: unknown): boolean {
	if (error instanceof StatusError) {
		return error.status === 408 || error.status === 429 || error.status >= 500;
	}

	const code = String((error as {code?: unknown}).code ?? (error as {cause?: {code?: unknown}}).cause?.code ?? '');
	return !/CERT|SIGNATURE|TLS|SSL|ERR_INVALID_URL/.test(code);
}


export type Downloaded = {size: number; sha256: string; resumedFrom: number};

export class Upstream {
	readonly base: URL;
	readonly #dispatcher: Dispatcher;
	readonly #attempts: number;
	readonly #backoffMs: number;
	readonly #signal?: AbortSignal;

	constructor(url: string, options: UpstreamOptions = {}) {
		let base: URL;
		try {
			base = new URL(url.replace(/\/+$/, ''));
		} catch {
			throw new UpstreamError(`${url} is not a URL`);
		}

		if (base.protocol !== 'https:' && base.protocol !== 'http:') {
			throw new UpstreamError(`${url}: only https:// and http:// upstreams are mirrored`);
		}

		this.base = base;
		const ca = trusted(options.caFile);
		// A direct connection takes `connect`; through a proxy, the tunnelled TLS takes `requestTls`.
		const tls = {connect: {ca}, requestTls: {ca}, proxyTls: {ca}, headersTimeout: 60_000, bodyTimeout: 120_000};
		this.#dispatcher = proxied() ? new EnvHttpProxyAgent(tls) : new Agent(tls);
		this.#attempts = options.attempts ?? 5;
		this.#backoffMs = options.backoffMs ?? 500;
		this.#signal = options.signal;
	}

	/** An upstream path (as an item's or the index's) as a URL, resolved as the clients resolve it. */
	url(path: string): string {
		const joined = new URL(this.base.href);
		joined.pathname = `${joined.pathname.replace(/\/+$/, '')}/${insideBase(path)}`;
		return joined.href;
	}

	async close(): Promise<void> {
		await this.#dispatcher.close();
	}

	/** Runs `attempt` until it succeeds, fails for good, or the attempts are used up (waiting longer each time). */
	async #retrying<T>(what: string, attempt: (n: number) => Promise<T>): Promise<T> {
		for (let n = 1; ; n++) {
			try {
				return await attempt(n);
			} catch (error) {
				if (this.#signal?.aborted || error instanceof FetchError || !transient(error) || n >= this.#attempts) {
					throw error instanceof FetchError || error instanceof StatusError ? error : new FetchError(`${what}: ${(error as Error).message}`);
				}

				await sleep(this.#backoffMs * (2 ** (n - 1)), this.#signal);
			}
		}
	}

	async #get(url: string, headers: Record<string, string> = {}): Promise<Dispatcher.ResponseData> {
		const response = await request(url, {dispatcher: this.#dispatcher, headers: {'user-agent': 'simplestreams-mirror', ...headers}, maxRedirections: 5, signal: this.#signal});
		if (response.statusCode !== 200 && response.statusCode !== 206) {
			response.body.resume();
			throw new StatusError(response.statusCode, url);
		}

		return response;
	}

	/** A streams file's text, refused above `limit` bytes (announced or received). */
	async text(path: string, limit: number): Promise<string> {
		const url = this.url(path);
		try {
			return await this.#retrying(url, async () => {
				const response = await this.#get(url);
				const announced = Number(response.headers['content-length'] ?? Number.NaN);
				if (announced > limit) {
					response.body.destroy();
					throw new FetchError(`${url} is larger than ${limit} bytes (${announced})`);
				}

				const chunks: Buffer[] = [];
				let length = 0;
				for await (const chunk of response.body) {
					length += (chunk as Buffer).length;
					if (length > limit) {
						response.body.destroy();
						throw new FetchError(`${url} is larger than ${limit} bytes`);
					}

					chunks.push(chunk as Buffer);
				}

				return Buffer.concat(chunks).toString('utf8');
			});
		} catch (error) {
			throw new UpstreamError((error as Error).message);
		}
	}

	/**
	 * Fetches `path` into `partial`, exactly `size` bytes: what `partial` already holds (from an
	 * attempt or a run that stopped) is kept and only the rest is asked for (HTTP Range). A body
	 * longer than `size` is refused. Returns the sha256 of the whole file.
	 */
	async download(path: string, partial: string, size: number, onBytes: (bytes: number) => void = () => {}): Promise<Downloaded> {
		const url = this.url(path);
		let resumedFrom: number | undefined;
		return this.#retrying(url, async () => {
			const handle = await open(partial, 'a+');
			try {
				let hash = createHash('sha256');
				let have = await hashExisting(handle, hash, size);
				resumedFrom ??= have;
				if (have < size) {
					const response = await this.#get(url, have > 0 ? {range: `bytes=${have}-`} : {});
					if (have > 0 && response.statusCode !== 206) {
						// The server sends the whole file instead of the rest: start over.
						await handle.truncate(0);
						hash = createHash('sha256');
						have = 0;
						resumedFrom = 0;
					}

					for await (const chunk of response.body) {
						const bytes = chunk as Buffer;
						if (have + bytes.length > size) {
							response.body.destroy();
							throw new FetchError(`${url} is longer than the ${size} bytes its item says`);
						}

						await handle.write(bytes, 0, bytes.length, null);
						hash.update(bytes);
						have += bytes.length;
						onBytes(bytes.length);
					}
				}

				if (have !== size) {
					throw new Error(`the connection ended after ${have} of ${size} bytes`);
				}

				return {size, sha256: hash.digest('hex'), resumedFrom};
			} finally {
				await handle.close();
			}
		});
	}
}

/** Hashes what `handle` already holds; more than `size` bytes is an earlier file of another size: dropped. */
async function hashExisting(handle: Awaited<ReturnType<typeof open>>, hash: Hash, size: number): Promise<number> {
	const {size: have} = await handle.stat();
	if (have > size) {
		await handle.truncate(0);
		return 0;
	}

	const buffer = Buffer.alloc(4 * 1024 * 1024);
	for (let at = 0; at < have;) {
		const {bytesRead} = await handle.read(buffer, 0, Math.min(buffer.length, have - at), at);
		if (bytesRead === 0) {
			break;
		}

		hash.update(buffer.subarray(0, bytesRead));
		at += bytesRead;
	}

	return have;
}
