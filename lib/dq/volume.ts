/**
 * Volume anomalies by the robust z-score (Iglewicz and Hoaglin): z = 0.6745 · (x − median) / MAD,
 * where MAD is the median absolute deviation of the history. Unlike a mean and standard deviation,
 * one earlier outlier does not move the baseline. A history with MAD 0 (every run wrote the same
 * number of rows) makes any different count an anomaly.
 */

export interface RobustZ {
	median: number;
	mad: number;
	/** null when MAD is 0 and x differs from the median (infinitely far). */
	z: number | null;
}

export function median(values: number[]): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function robustZ(x: number, history: number[]): RobustZ {
	const m = median(history);
	const mad = median(history.map((v) => Math.abs(v - m)));
	if (mad === 0) return { median: m, mad, z: x === m ? 0 : null };
	return { median: m, mad, z: (0.6745 * (x - m)) / mad };
}

export function volumeVerdict(result: RobustZ, threshold: number): { anomalous: boolean; text: string } {
	if (result.z === null) return { anomalous: true, text: 'unbounded: every earlier run wrote the same count' };
	return { anomalous: Math.abs(result.z) > threshold, text: `${result.z.toFixed(2)}, threshold ${threshold}` };
}
