// Throughputs for the live screens (pure; time is passed in).

/** Throughput over the last few seconds: steady enough to read, quick to follow a change. */
export class Rate {
	private readonly samples: Array<[time: number, value: number]> = [];

	constructor(private readonly window = 3000) {}

	add(time: number, value: number): void {
		const last = this.samples.at(-1);
		if (last && time - last[0] < 20) {
			last[1] = value; // Events of one progress tick: one sample.
			return;
		}

		this.samples.push([time, value]);
		// Keep one sample older than the window, so the rate always spans all of it.
		while (this.samples.length > 2 && this.samples[1]![0] < time - this.window) {
			this.samples.shift();
		}
	}

	/** Bytes per second, or undefined until there are two samples. */
	perSecond(now: number): number | undefined {
		const first = this.samples[0];
		const last = this.samples.at(-1);
		if (!first || !last || first === last) {
			return undefined;
		}

		// Up to `now`, so a stalled disk shows a falling rate rather than the last good one.
		const span = Math.max(last[0], Math.min(now, last[0] + 1000)) - first[0];
		return span > 0 ? ((last[1] - first[1]) * 1000) / span : undefined;
	}
}
