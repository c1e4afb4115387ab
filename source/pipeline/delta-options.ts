/** --deltas, --vm-deltas and --delta-ratio: kept apart from delta.ts, which the command line need not load. */
export type DeltaOptions = {
	/** Also disk-kvm.img deltas (LXD only: Incus patches them against the wrong base, see the README). */
	vm: boolean;
	/** A delta larger than this fraction of the full file is not worth publishing. */
	ratio: number;
};

export const defaultDeltaRatio = 0.8;
