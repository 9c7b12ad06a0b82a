/**
 * The chart renderer end to end without a database: every chart of the digest catalogue, fed
 * rows shaped like its gold query's, compiles (vega-lite) and renders (vega → SVG → resvg PNG).
 * The PNG is decoded with pngjs (an independent decoder) and must be the SVG's size times the
 * scale, not blank (many colours, ink in the plot area) and carry text drawn with the bundled
 * font: with system fonts off, a missing font would leave the title band empty.
 * CHART_DUMP_DIR=<dir> writes the PNGs there to look at.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CHARTS, DEFAULT_WINDOW, type ChartData } from '../../lib/observability/charts/catalogue';
import { chartFontFiles, renderChart } from '../../lib/observability/charts/render';
import { markdownTable, tableFor } from '../../lib/observability/charts/tables';
import { pixelStats } from '../helpers/png';

jest.setTimeout(120_000);

const month = (i: number) => `2025-${String(i + 1).padStart(2, '0')}-01`;
const SAMPLE: Record<string, ChartData> = {
	'finance-net-profit': { net_profit: Array.from({ length: 12 }, (_, i) => ({ currency: 'EUR', month: month(i), net_profit: Math.round(Math.sin(i) * 12_000) })) },
	'finance-aging': {
		aging: ['current', '1-30', '31-60', '61-90', '90+'].flatMap((bucket, i) => [
			{ currency: 'EUR', kind: 'receivable', aging_bucket: bucket, amount_open: 20_000 / (i + 1), items: 10 - i },
			{ currency: 'EUR', kind: 'payable', aging_bucket: bucket, amount_open: 9_000 / (i + 1), items: 5 },
		]),
	},
	'devops-dora': {
		dora: ['2025-03-03', '2025-03-10', '2025-03-17'].flatMap((week, i) => [
			{ week, repository: 'acme/api', deployments: 3 + i, failed_deployments: i % 2, change_failure_rate: (i % 2) / (4 + i), median_lead_time_hours: 4.5 + i, median_time_to_restore_hours: i % 2 ? 27.17 : null },
			{ week, repository: 'acme/web', deployments: 1 + i, failed_deployments: 0, change_failure_rate: 0, median_lead_time_hours: 12 - i, median_time_to_restore_hours: null },
		]),
	},
	'devops-ci': {
		ci: [
			{ repository: 'acme/api', ci_state: 'passing', branches: 3 },
			{ repository: 'acme/api', ci_state: 'failing', branches: 1 },
			{ repository: 'acme/web', ci_state: 'passing', branches: 2 },
			{ repository: 'acme/web', ci_state: 'running', branches: 1 },
		],
	},
	'operations-connectors': {
		daily: ['odoo/odoo-finance', 'github/acme'].flatMap((connector, c) =>
			Array.from({ length: 7 }, (_, d) => ({ connector, day: `2025-03-${String(10 + d).padStart(2, '0')}`, finished: 24, succeeded: 24 - c * d, success_rate: (24 - c * d) / 24 })),
		),
		freshness: [
			{ connector: 'github/acme', hours_since_success: 5.5, last_success_at: '2025-03-16T18:00:00Z', finished_runs_7d: 168, success_rate_7d: 0.875 },
			{ connector: 'odoo/odoo-finance', hours_since_success: 0.25, last_success_at: '2025-03-16T23:45:00Z', finished_runs_7d: 168, success_rate_7d: 1 },
		],
	},
};

describe('chart rendering (vega-lite → vega → SVG → resvg PNG)', () => {
	it('uses font files shipped in an npm package', () => {
		for (const file of chartFontFiles()) expect(fs.statSync(file).size).toBeGreaterThan(100_000);
	});

	it.each(CHARTS.map((c) => [c.id, c] as const))('%s renders a readable PNG', async (id, chart) => {
		const spec = chart.spec(SAMPLE[id], DEFAULT_WINDOW)!;
		expect(spec).not.toBeNull();
		const rendered = await renderChart(spec, { scale: 2 });
		if (process.env.CHART_DUMP_DIR) fs.writeFileSync(path.join(process.env.CHART_DUMP_DIR, `${id}.png`), rendered.png);
		const svgSize = /<svg[^>]*width="([\d.]+)"[^>]*height="([\d.]+)"/.exec(rendered.svg)!;
		const stats = pixelStats(rendered.png);
		expect([stats.width, stats.height]).toEqual([Math.round(Number(svgSize[1]) * 2), Math.round(Number(svgSize[2]) * 2)]);
		expect([rendered.width, rendered.height]).toEqual([stats.width, stats.height]);
		expect(stats.width).toBeGreaterThan(600);
		expect(stats.height).toBeGreaterThan(200);
		// Anti-aliased text and coloured marks give hundreds of colours; a blank page has one.
		expect(stats.colours).toBeGreaterThan(50);
		// The title band holds the title's glyphs; the middle of the chart holds marks.
		// (title: 16 px bold below 12 px of padding, at scale 2)
		expect(stats.ink({ x0: 0, y0: 0, x1: stats.width * 0.6, y1: 80 })).toBeGreaterThan(0.02);
		expect(stats.ink({ x0: stats.width * 0.1, y0: stats.height * 0.2, x1: stats.width * 0.9, y1: stats.height * 0.8 })).toBeGreaterThan(0.02);
		// Text went through the bundled font (resvg turns text into paths only when it found one).
		expect(rendered.svg).toContain('font-family="DejaVu Sans');
	});

	it('draws nothing for a chart without data', () => {
		for (const chart of CHARTS) {
			const empty = Object.fromEntries(Object.keys(SAMPLE[chart.id]).map((k) => [k, []]));
			expect(chart.spec(empty, DEFAULT_WINDOW)).toBeNull();
		}
	});

	it('rejects a spec vega-lite cannot compile, with its message', async () => {
		await expect(renderChart({ mark: 'nonsense', data: { values: [] } })).rejects.toThrow(/The Vega-Lite spec does not compile/);
	});
});

describe('digest tables (webhook mode)', () => {
	it('builds GFM tables from the same rows', () => {
		expect(tableFor('devops-ci', SAMPLE['devops-ci'])).toBe(
			['| Repository | passing | failing | running |', '| :--- | ---: | ---: | ---: |', '| acme/api | 3 | 1 | 0 |', '| acme/web | 2 | 0 | 1 |'].join('\n'),
		);
		expect(tableFor('finance-net-profit', SAMPLE['finance-net-profit'])).toContain('| 2025-12 | -');
		expect(tableFor('operations-connectors', SAMPLE['operations-connectors'])).toContain('| github/acme | 168 | 87.5% | 5.5 h |');
	});

	it('escapes pipes and caps the rows', () => {
		const table = markdownTable(['a'], Array.from({ length: 20 }, (_, i) => [`x|${i}`]), [], 'last');
		expect(table.split('\n')).toHaveLength(2 + 12 + 1);
		expect(table).toContain('| x\\|19 |');
		expect(table).toContain('_8 earlier rows not shown_');
	});
});
