/**
 * Vega-Lite spec → Vega → SVG (headless, `view.toSVG()`) → PNG (resvg, a Rust renderer whose
 * binary ships inside its npm package). Text is drawn with the DejaVu Sans files of the
 * `dejavu-fonts-ttf` package and system fonts are never consulted, so a chart renders the same
 * on a fresh machine as on a workstation full of fonts.
 *
 * vega and vega-lite are ES modules only: they are loaded on first use with a real import()
 * (see importEsm), so a workflow that never draws a chart never loads them.
 */
import * as path from 'path';

/** A Vega-Lite specification (validated by vega-lite's compiler, not by a local type). */
export type VegaLiteSpec = Record<string, unknown>;

export interface RenderedChart {
	svg: string;
	png: Buffer;
	/** Pixel size of the PNG. */
	width: number;
	height: number;
}

export interface RenderOptions {
	/** Pixels per SVG unit (2 = sharp on high-density screens). */
	scale?: number;
}

interface VegaLiteModule {
	compile(spec: VegaLiteSpec, options?: { config?: Record<string, unknown> }): { spec: Record<string, unknown> };
}
interface VegaView {
	toSVG(scale?: number): Promise<string>;
	finalize(): void;
}
interface VegaModule {
	parse(spec: Record<string, unknown>): unknown;
	View: new (runtime: unknown, options: { renderer: 'none'; logLevel?: number }) => VegaView;
}
interface ResvgModule {
	Resvg: new (svg: string, options: Record<string, unknown>) => { render(): { asPng(): Buffer; width: number; height: number } };
}

export const CHART_FONT = 'DejaVu Sans';
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf'];

/** The font files text is drawn with (from the dejavu-fonts-ttf package). */
export function chartFontFiles(): string[] {
	const dir = path.dirname(require.resolve('dejavu-fonts-ttf/package.json'));
	return FONT_FILES.map((file) => path.join(dir, 'ttf', file));
}

/** Defaults every chart shares: the bundled font everywhere, readable sizes, a white page. */
export const CHART_CONFIG: Record<string, unknown> = {
	font: CHART_FONT,
	background: '#ffffff',
	padding: 12,
	title: { fontSize: 16, fontWeight: 'bold', anchor: 'start', subtitleFontSize: 12, subtitleColor: '#555555', offset: 12 },
	axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'bold', gridColor: '#e6e6e6' },
	header: { labelFontSize: 12, labelFontWeight: 'bold', titleFontSize: 12 },
	legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom', direction: 'horizontal' },
	view: { stroke: '#cccccc' },
};

// TypeScript's CommonJS output turns import() into require(); this stays a real import().
const realImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/**
 * Loads an ES module from this CommonJS package. Under jest (whose module sandbox has no
 * import() without --experimental-vm-modules) it falls back to require(), which jest maps to the
 * packages' own UMD builds (jest.config.js).
 */
export async function importEsm<T>(specifier: string): Promise<T> {
	try {
		return (await realImport(specifier)) as T;
	} catch (error) {
		const code = (error as { code?: string }).code ?? '';
		if (!code.startsWith('ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING')) throw error;
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		return require(specifier) as T;
	}
}

let engines: Promise<{ vegaLite: VegaLiteModule; vega: VegaModule; resvg: ResvgModule }> | undefined;
function loadEngines(): NonNullable<typeof engines> {
	engines ??= (async () => ({
		vegaLite: await importEsm<VegaLiteModule>('vega-lite'),
		vega: await importEsm<VegaModule>('vega'),
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		resvg: require('@resvg/resvg-js') as ResvgModule,
	}))().catch((error: unknown) => {
		engines = undefined;
		throw new Error(`The chart renderer could not be loaded (vega, vega-lite, @resvg/resvg-js): ${(error as Error).message}`);
	});
	return engines;
}

/** Compiles a Vega-Lite spec to Vega (what the Vega view runs). */
export async function compileToVega(spec: VegaLiteSpec): Promise<Record<string, unknown>> {
	const { vegaLite } = await loadEngines();
	try {
		return vegaLite.compile(spec, { config: CHART_CONFIG }).spec;
	} catch (error) {
		throw new Error(`The Vega-Lite spec does not compile: ${(error as Error).message}`);
	}
}

/** Renders one Vega-Lite spec to SVG and PNG. */
export async function renderChart(spec: VegaLiteSpec, options: RenderOptions = {}): Promise<RenderedChart> {
	const { vega, resvg } = await loadEngines();
	const scale = options.scale ?? 2;
	const view = new vega.View(vega.parse(await compileToVega(spec)), { renderer: 'none', logLevel: 0 });
	let svg: string;
	try {
		svg = await view.toSVG();
	} finally {
		view.finalize();
	}
	const image = new resvg.Resvg(svg, {
		background: '#ffffff',
		fitTo: { mode: 'zoom', value: scale },
		font: { loadSystemFonts: false, fontFiles: chartFontFiles(), defaultFontFamily: CHART_FONT, sansSerifFamily: CHART_FONT },
	}).render();
	return { svg, png: image.asPng(), width: image.width, height: image.height };
}
