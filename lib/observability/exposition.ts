/**
 * Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text, written from metric families.
 *
 * Escaping follows the format documents: in label values a backslash, a double quote and a line
 * feed become \\, \" and \n; in HELP text a backslash and a line feed. Metric and label names are
 * fixed by the renderer; label names that come from data (alert labels) pass through labelName().
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Record<string, string>;

export interface Sample {
	labels: Labels;
	value: number;
}

export interface HistogramSample {
	labels: Labels;
	/** Upper bounds, ascending, without +Inf. */
	le: readonly number[];
	/** Cumulative counts per bound (same length as le). */
	buckets: readonly number[];
	count: number;
	sum: number;
}

export interface MetricFamily {
	/** For counters without the _total suffix (added when written). */
	name: string;
	type: MetricType;
	help: string;
	unit?: string;
	samples?: Sample[];
	histograms?: HistogramSample[];
}

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
	prometheus: 'text/plain; version=0.0.4; charset=utf-8',
	openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeLabelValue(value: string): string {
	return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function escapeHelp(text: string): string {
	return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label name from data: invalid characters become "_", a leading digit gets "_", "__" (reserved) is avoided. */
export function labelName(raw: string): string {
	let name = raw.replace(/[^a-zA-Z0-9_]/g, '_');
	if (!/^[a-zA-Z_]/.test(name)) name = `_${name}`;
	if (name.startsWith('__')) name = `x${name}`;
	return name;
}

export function formatValue(value: number): string {
	if (Number.isNaN(value)) return 'NaN';
	if (value === Infinity) return '+Inf';
	if (value === -Infinity) return '-Inf';
	return String(value);
}

function labelText(labels: Labels, extra?: [string, string]): string {
	const pairs = Object.entries(labels);
	if (extra) pairs.push(extra);
	if (pairs.length === 0) return '';
	return `{${pairs
		.map(([k, v]) => {
			if (!LABEL.test(k)) throw new Error(`invalid label name "${k}"`);
			return `${k}="${escapeLabelValue(v)}"`;
		})
		.join(',')}}`;
}

/** Writes the families in order; families without samples are still announced (HELP/TYPE). */
export function writeExposition(families: MetricFamily[], format: ExpositionFormat): string {
	const out: string[] = [];
	for (const f of families) {
		if (!NAME.test(f.name)) throw new Error(`invalid metric name "${f.name}"`);
		// OpenMetrics names a counter family without _total; the 0.0.4 format names it with the suffix.
		const familyName = f.type === 'counter' && format === 'prometheus' ? `${f.name}_total` : f.name;
		out.push(`# HELP ${familyName} ${escapeHelp(f.help)}`);
		out.push(`# TYPE ${familyName} ${f.type}`);
		if (format === 'openmetrics' && f.unit) out.push(`# UNIT ${familyName} ${f.unit}`);
		for (const s of f.samples ?? []) {
			const name = f.type === 'counter' ? `${f.name}_total` : f.name;
			out.push(`${name}${labelText(s.labels)} ${formatValue(s.value)}`);
		}
		for (const h of f.histograms ?? []) {
			h.le.forEach((bound, i) => out.push(`${f.name}_bucket${labelText(h.labels, ['le', formatValue(bound)])} ${formatValue(h.buckets[i])}`));
			out.push(`${f.name}_bucket${labelText(h.labels, ['le', '+Inf'])} ${formatValue(h.count)}`);
			out.push(`${f.name}_sum${labelText(h.labels)} ${formatValue(h.sum)}`);
			out.push(`${f.name}_count${labelText(h.labels)} ${formatValue(h.count)}`);
		}
	}
	if (format === 'openmetrics') out.push('# EOF');
	return `${out.join('\n')}\n`;
}
