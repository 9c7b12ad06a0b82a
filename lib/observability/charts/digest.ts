/**
 * The chart digest: the catalogue's gold queries, run read-only in one snapshot, each chart
 * rendered to PNG (bot mode) or summarised as a Markdown table (webhook mode), and the message
 * that goes with them.
 */
import type { Pool } from 'pg';
import { inTransaction } from '../../lakehouse/connection';
import { CHARTS, DEFAULT_WINDOW, DIGEST_SECTIONS, type ChartData, type ChartDefinition, type DigestSection, type DigestWindow } from './catalogue';
import { renderChart, type VegaLiteSpec } from './render';
import { tableFor } from './tables';

export interface DigestOptions {
	sections?: readonly DigestSection[];
	window?: Partial<DigestWindow>;
	/** Render PNGs (bot mode); off: data and tables only (webhook mode). */
	render?: boolean;
	scale?: number;
}

export interface DigestChart {
	id: string;
	section: DigestSection;
	title: string;
	/** The rows the chart was built from, by dataset name (what its spec embeds). */
	data: ChartData;
	/** Null when there is nothing to draw. */
	spec: VegaLiteSpec | null;
	table: string;
	png?: Buffer;
	width?: number;
	height?: number;
	filename: string;
}

export interface Digest {
	generatedAt: string;
	window: DigestWindow;
	charts: DigestChart[];
	/** Charts with no data in gold, by title (said in the message, never dropped silently). */
	empty: string[];
}

export class DigestError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'DigestError';
	}
}

const SECTION_TITLES: Record<DigestSection, string> = { finance: 'Finance', devops: 'DevOps health', operations: 'Operations' };

function checkWindow(window: DigestWindow): void {
	for (const [key, max] of [['months', 60], ['weeks', 104], ['days', 31], ['maxSeries', 40]] as const) {
		const value = window[key];
		if (!Number.isInteger(value) || value < 1 || value > max) throw new DigestError(`The digest's ${key} must be a whole number from 1 to ${max} (got ${value})`);
	}
}

/** Reads the digest's data from gold (one repeatable-read snapshot) and renders its charts. */
export async function buildDigest(pool: Pool, options: DigestOptions = {}): Promise<Digest> {
	// An option left empty in the node arrives as undefined: it must not override the default.
	const given = Object.entries(options.window ?? {}).filter(([, value]) => value !== undefined && value !== null);
	const window: DigestWindow = { ...DEFAULT_WINDOW, ...Object.fromEntries(given) };
	checkWindow(window);
	const sections = options.sections?.length ? options.sections : DIGEST_SECTIONS;
	const unknown = sections.filter((s) => !DIGEST_SECTIONS.includes(s));
	if (unknown.length) throw new DigestError(`Unknown digest section(s): ${unknown.join(', ')} (known: ${DIGEST_SECTIONS.join(', ')})`);
	const definitions = CHARTS.filter((c) => sections.includes(c.section));

	const data = await inTransaction(pool, async (client) => {
		await client.query('set transaction isolation level repeatable read, read only');
		const data = new Map<string, ChartData>();
		for (const chart of definitions) {
			const sets: ChartData = {};
			for (const query of chart.queries(window)) {
				try {
					sets[query.name] = (await client.query(query.text, query.values)).rows;
				} catch (error) {
					throw new DigestError(`The ${chart.title.toLowerCase()} chart could not read gold: ${(error as Error).message}. Check that the migrations are applied (npm run migrate) and that the IPAI Lakehouse credential may read the gold schemas.`);
				}
			}
			data.set(chart.id, sets);
		}
		return data;
	});

	const charts: DigestChart[] = [];
	const empty: string[] = [];
	for (const chart of definitions) {
		const sets = data.get(chart.id)!;
		const spec = chart.spec(sets, window);
		if (!spec) {
			empty.push(chart.title);
			continue;
		}
		const entry: DigestChart = { id: chart.id, section: chart.section, title: chart.title, data: sets, spec, table: tableFor(chart.id, sets), filename: `${chart.id}.png` };
		if (options.render !== false) Object.assign(entry, await renderOne(chart, spec, options.scale));
		charts.push(entry);
	}
	return { generatedAt: new Date().toISOString(), window, charts, empty };
}

async function renderOne(chart: ChartDefinition, spec: VegaLiteSpec, scale?: number): Promise<Pick<DigestChart, 'png' | 'width' | 'height'>> {
	try {
		const rendered = await renderChart(spec, { scale });
		return { png: rendered.png, width: rendered.width, height: rendered.height };
	} catch (error) {
		throw new DigestError(`The ${chart.title.toLowerCase()} chart could not be rendered: ${(error as Error).message}`);
	}
}

/** The message text: a headline, per section the charts' titles (bot) or their tables (webhook). */
export function digestMessage(digest: Digest, options: { title?: string; tables: boolean }): string {
	const lines = [`#### :bar_chart: ${options.title || 'IPAI lakehouse digest'}`, `_Generated ${digest.generatedAt.slice(0, 16).replace('T', ' ')} UTC from the gold layer._`];
	for (const section of DIGEST_SECTIONS) {
		const charts = digest.charts.filter((c) => c.section === section);
		if (!charts.length) continue;
		lines.push('', `##### ${SECTION_TITLES[section]}`);
		for (const chart of charts) {
			if (options.tables) lines.push(`**${chart.title}**`, chart.table, '');
			else lines.push(`- ${chart.title} (${chart.filename})`);
		}
	}
	if (digest.empty.length) lines.push('', `No data in gold yet for: ${digest.empty.join(', ')}.`);
	if (!digest.charts.length) lines.push('', 'Nothing to chart: refresh the transforms (IPAI: transforms refresh) once sources have synced.');
	return lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
}
