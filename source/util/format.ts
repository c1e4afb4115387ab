const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB": binary units, as operators size disks. */
export function formatBytes(bytes: number): string {
	let value = bytes;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}

	// A rate of a few bytes a second is a fraction: bytes are counted whole.
	return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

export function formatRate(bytes: number, milliseconds: number): string {
	return milliseconds > 0 ? `${formatBytes((bytes * 1000) / milliseconds)}/s` : '—';
}

export function formatDuration(milliseconds: number): string {
	if (milliseconds < 1000) {
		return `${Math.round(milliseconds)} ms`;
	}

	const seconds = milliseconds / 1000;
	if (seconds < 60) {
		return `${seconds.toFixed(1)} s`;
	}

	const whole = Math.round(seconds);
	const hours = Math.floor(whole / 3600);
	const minutes = Math.floor((whole % 3600) / 60);
	const rest = String(whole % 60).padStart(2, '0');
	return hours > 0 ? `${hours}h${String(minutes).padStart(2, '0')}m` : `${minutes}m${rest}s`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local wall-clock time: HH:MM, or HH:MM:SS. */
export function clock(epoch: number, seconds = false): string {
	const date = new Date(epoch);
	return `${pad(date.getHours())}:${pad(date.getMinutes())}${seconds ? `:${pad(date.getSeconds())}` : ''}`;
}
