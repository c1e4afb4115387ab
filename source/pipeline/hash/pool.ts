import {createRequire} from 'node:module';
import type {Piscina} from 'piscina';
import type {DigestRequest, DigestResponse} from './protocol.js';

// piscina is loaded when the first pool is made, not when this module is: importing it takes time
// every start would pay, and a run with nothing to hash (a no-change re-run) never needs it. (Not named `require`:
// each module of the bundle, scripts/bundle.mjs, declares one of its own.)
const load = createRequire(import.meta.url);

/** The piscina pool of hash workers; one per run, or one for the life of a watcher. */
export class HashPool {
	private piscina?: Piscina<DigestRequest, DigestResponse>;
	private destroyed = false;

	constructor(readonly jobs: number) {}

	async digest(request: DigestRequest, signal?: AbortSignal): Promise<DigestResponse> {
		return this.workers().run(request, signal ? {signal} : {});
	}

	/** Whether the threads have been started (a watcher's stay for its life). */
	get started(): boolean {
		return this.piscina !== undefined;
	}

	/** Start the threads now rather than with the first task that needs them (see warmFor in hash.ts). */
	warm(): void {
		this.workers();
	}

	async destroy(): Promise<void> {
		this.destroyed = true;
		await this.piscina?.destroy();
	}

	/**
	 * The threads start with the first task that needs them: small files are hashed on the calling
	 * thread (see hash.ts), so a run that has only those never starts any.
	 */
	private workers(): Piscina<DigestRequest, DigestResponse> {
		if (this.destroyed) {
			throw new Error('the hash pool has been destroyed');
		}

		if (!this.piscina) {
			const {Piscina} = load('piscina') as typeof import('piscina');
			this.piscina = new Piscina({
				filename: new URL('worker.js', import.meta.url).href,
				minThreads: this.jobs,
				maxThreads: this.jobs,
				idleTimeout: 60_000,
			});
		}

		return this.piscina;
	}
}
