import {Piscina} from 'piscina';
import type {DigestRequest, DigestResponse} from './protocol.js';

/** The piscina pool of hash workers; one per run, or one for the life of a watcher. */
export class HashPool {
	private readonly piscina: Piscina<DigestRequest, DigestResponse>;

	constructor(readonly jobs: number) {
		this.piscina = new Piscina({
			filename: new URL('worker.js', import.meta.url).href,
			minThreads: jobs,
			maxThreads: jobs,
			idleTimeout: 60_000,
		});
	}

	async digest(request: DigestRequest, signal?: AbortSignal): Promise<DigestResponse> {
		return this.piscina.run(request, signal ? {signal} : {});
	}

	async destroy(): Promise<void> {
		await this.piscina.destroy();
	}
}
