/**
 * Semantic models as agent tools: what a model means (ipai_semantic_model + the catalog) and the
 * compiler that turns a model-bound query request into one parameterised SELECT.
 *
 * The request is data, never SQL: every identifier in the compiled text comes from the model's
 * declared columns (checked against the catalog) and is quoted by quoteIdent; every value is a
 * bind parameter whose type PostgreSQL infers from the column it is compared with. A request that
 * names anything undeclared, or carries a value of the wrong shape, is refused with a reason the
 * calling model can act on.
 */
import type { ClientBase, Pool } from 'pg';
import { qualifiedName, quoteIdent } from '../lakehouse/sql';
import type { Agent } from './registry';

export type MeasureAgg = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'last';

export interface ModelMeasure {
	name: string;
	agg: MeasureAgg;
	unit?: string;
	/** The dimensions a sum of this measure must be grouped by (e.g. a currency). */
	summableBy?: string[];
}

/** typcategory of the column's type: N numeric, D date/time, S string, B boolean, anything else X. */
export type ColumnCategory = 'N' | 'D' | 'S' | 'B' | 'X';

export interface ModelColumn {
	name: string;
	type: string;
	category: ColumnCategory;
	description: string | null;
	role: 'dimension' | 'measure';
}

export interface SemanticModel {
	datasetName: string;
	schema: string;
	object: string;
	description: string | null;
	grain: string;
	measures: ModelMeasure[];
	dimensions: string[];
	/** The declared columns that exist in the catalog, in the relation's column order. */
	columns: ModelColumn[];
	/** Declared names the relation lacks (a model out of step with its view): never queryable. */
	missing: string[];
}

export class ModelRequestError extends Error {}

const AGGS: readonly MeasureAgg[] = ['sum', 'avg', 'min', 'max', 'count', 'last'];

function parseMeasures(raw: unknown): ModelMeasure[] {
	if (!Array.isArray(raw)) return [];
	return raw.flatMap((m) => {
		if (typeof m === 'string') return [{ name: m, agg: 'sum' as MeasureAgg }];
		if (!m || typeof m !== 'object' || typeof (m as { name?: unknown }).name !== 'string') return [];
		const r = m as { name: string; agg?: string; unit?: string; summable_by?: unknown };
		const agg = AGGS.includes(r.agg as MeasureAgg) ? (r.agg as MeasureAgg) : 'sum';
		const summableBy = Array.isArray(r.summable_by) ? r.summable_by.filter((d): d is string => typeof d === 'string') : undefined;
		return [{ name: r.name, agg, ...(r.unit ? { unit: r.unit } : {}), ...(summableBy?.length ? { summableBy } : {}) }];
	});
}

/** True when the agent's allowed schemas cover the relation (the whole schema or exactly it). */
export function inScope(agent: Agent, schema: string, object: string): boolean {
	return agent.allowedSchemas.some((e) => e === schema || e === `${schema}.${object}`);
}

/**
 * The active semantic models over relations (tables, views, materialized views) with their
 * declared columns as the catalog types them. Models over functions are left out: their rows
 * depend on arguments a model-bound query does not take. `named`: only the models whose dataset
 * name or tool stem (as PostgreSQL lower-cases it) is that name, so a call reads the catalog of one
 * relation, not of every model.
 */
export async function loadModels(db: Pool | ClientBase, named?: string): Promise<SemanticModel[]> {
	const { rows } = await db.query<{
		dataset_name: string; object_schema: string; object_name: string; description: string | null; grain: string;
		measures: unknown; dimensions: unknown; columns: Array<{ name: string; type: string; category: string; description: string | null }> | null;
	}>(
		`select m.dataset_name, m.object_schema, m.object_name, m.description, m.grain, m.measures, m.dimensions,
		        (select json_agg(json_build_object('name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
		                                           'category', t.typcategory, 'description', pg_catalog.col_description(c.oid, a.attnum))
		                         order by a.attnum)
		           from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid
		          where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
		   from public.ipai_semantic_model m
		   join pg_catalog.pg_namespace n on n.nspname = m.object_schema
		   join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = m.object_name and c.relkind in ('r', 'p', 'v', 'm')
		  where m.is_active
		    and ($1::text is null or m.dataset_name = $1 or btrim(regexp_replace(lower(m.dataset_name), '[^a-z0-9]+', '_', 'g'), '_') = $1)
		  order by m.dataset_name`,
		[named ?? null],
	);
	return rows.map((r) => {
		const measures = parseMeasures(r.measures);
		const dimensions = Array.isArray(r.dimensions) ? r.dimensions.filter((d): d is string => typeof d === 'string') : [];
		const measureNames = new Set(measures.map((m) => m.name));
		const declared = new Set([...dimensions, ...measureNames]);
		const catalog = r.columns ?? [];
		const columns: ModelColumn[] = catalog
			.filter((c) => declared.has(c.name))
			.map((c) => ({
				name: c.name,
				type: c.type,
				category: (['N', 'D', 'S', 'B'].includes(c.category) ? c.category : 'X') as ColumnCategory,
				description: c.description,
				role: measureNames.has(c.name) ? 'measure' : 'dimension',
			}));
		const present = new Set(columns.map((c) => c.name));
		return {
			datasetName: r.dataset_name, schema: r.object_schema, object: r.object_name, description: r.description, grain: r.grain,
			measures: measures.filter((m) => present.has(m.name)), dimensions: dimensions.filter((d) => present.has(d)),
			columns, missing: [...declared].filter((d) => !present.has(d)),
		};
	});
}

/** The models an agent may use: active, over a relation, inside its allowed schemas. */
export async function agentModels(db: Pool | ClientBase, agent: Agent): Promise<SemanticModel[]> {
	if (!agent.isActive || !agent.allowedOperations.includes('read')) return [];
	return (await loadModels(db)).filter((m) => inScope(agent, m.schema, m.object));
}

/** A stable tool-name stem for a model: its dataset name in snake case (finance.profit_and_loss → finance_profit_and_loss). */
export function modelToolStem(datasetName: string): string {
	return datasetName.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

// ---------------------------------------------------------------------------------------------
// The query request and its compiler

export type FilterOp = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'in' | 'not_in' | 'between' | 'contains' | 'starts_with' | 'is_null';
const FILTER_OPS: readonly FilterOp[] = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in', 'between', 'contains', 'starts_with', 'is_null'];
const COMPARISON: Partial<Record<FilterOp, string>> = { eq: '=', ne: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' };

export interface ModelQueryRequest {
	/** { column: value } (equals), { column: [values] } (in) or { column: { op: value, … } }. */
	filters?: unknown;
	/** Declared dimensions to group by: an array or a comma-separated string. */
	groupBy?: unknown;
	/** Declared measures, aggregated with their declared aggregate: an array or a comma-separated string. */
	measures?: unknown;
	/** Declared columns to return when nothing is grouped: an array or a comma-separated string (default: all). */
	columns?: unknown;
	/** "column [asc|desc], …" or [{ column, direction }]: only returned columns. */
	orderBy?: unknown;
	limit?: unknown;
}

export interface CompiledQuery {
	text: string;
	values: unknown[];
	/** The output columns in order. */
	columns: string[];
	/** What the limit asked for (the guard caps it at the agent's max_rows). */
	limit: number;
}

export const DEFAULT_MODEL_LIMIT = 100;
const MAX_LIST_VALUES = 1000;
const MAX_TEXT_VALUE = 1000;
const NAME = /^[a-z_][a-z0-9_]*$/;
const NUMERIC_TEXT = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/;

const fail = (message: string): never => {
	throw new ModelRequestError(message);
};

/** An array of names, or a comma-separated string of them; nothing else. */
function nameList(value: unknown, what: string): string[] {
	if (value === undefined || value === null || value === '') return [];
	const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value;
	if (!Array.isArray(items)) return fail(`${what} must be a list of column names (an array or "a, b")`);
	return items.map((item) => {
		if (typeof item !== 'string' || !NAME.test(item.trim())) return fail(`${what}: ${JSON.stringify(item)} is not a column name`);
		return item.trim();
	});
}

function scalar(model: SemanticModel, column: ModelColumn, op: FilterOp, value: unknown): unknown {
	const where = `filter ${column.name} ${op}`;
	if (value === null || typeof value === 'object') return fail(`${where}: the value must be a single ${kindOf(column)}, not ${value === null ? 'null (use is_null)' : JSON.stringify(value)}`);
	switch (column.category) {
		case 'N':
			if (typeof value === 'number' && Number.isFinite(value)) return value;
			if (typeof value === 'string' && NUMERIC_TEXT.test(value.trim())) return value.trim();
			return fail(`${where}: ${JSON.stringify(value)} is not a number (column ${column.name} is ${column.type})`);
		case 'D':
			if (typeof value === 'string' && DATE_TEXT.test(value.trim())) return value.trim();
			return fail(`${where}: ${JSON.stringify(value)} is not an ISO date or timestamp (column ${column.name} is ${column.type})`);
		case 'B':
			if (typeof value === 'boolean') return value;
			return fail(`${where}: ${JSON.stringify(value)} is not true or false`);
		default:
			if (typeof value === 'number' && Number.isFinite(value)) return String(value);
			if (typeof value !== 'string') return fail(`${where}: ${JSON.stringify(value)} is not text`);
			if (value.length > MAX_TEXT_VALUE) return fail(`${where}: the value is longer than ${MAX_TEXT_VALUE} characters`);
			if (value.includes('\u0000')) return fail(`${where}: the value contains a NUL character`);
			return value;
	}
	void model;
}

function kindOf(c: ModelColumn): string {
	return { N: 'number', D: 'ISO date', B: 'boolean', S: 'text', X: 'text' }[c.category];
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

/** Compiles a request on a model into one SELECT with bind parameters, or refuses it. */
export function compileModelQuery(model: SemanticModel, request: ModelQueryRequest): CompiledQuery {
	const byName = new Map(model.columns.map((c) => [c.name, c]));
	const column = (name: string, what: string): ModelColumn =>
		byName.get(name) ?? fail(`${what}: "${name}" is not a column of ${model.datasetName} (columns: ${model.columns.map((c) => c.name).join(', ')})`);
	const values: unknown[] = [];
	const param = (v: unknown) => {
		values.push(v);
		return `$${values.length}`;
	};

	// Filters
	const where: string[] = [];
	let filters = request.filters;
	if (typeof filters === 'string' && filters.trim() !== '') {
		try {
			filters = JSON.parse(filters);
		} catch {
			fail('filters must be a JSON object such as {"company_id": 1, "month": {"gte": "2026-01-01"}}');
		}
	}
	if (filters !== undefined && filters !== null && filters !== '') {
		if (typeof filters !== 'object' || Array.isArray(filters)) fail('filters must be an object: { column: value | [values] | { op: value } }');
		for (const [name, spec] of Object.entries(filters as Record<string, unknown>)) {
			const c = column(name, 'filters');
			const ident = quoteIdent(c.name);
			const conditions: Array<[FilterOp, unknown]> =
				spec !== null && typeof spec === 'object' && !Array.isArray(spec)
					? Object.entries(spec as Record<string, unknown>).map(([op, v]) => [op as FilterOp, v])
					: [[Array.isArray(spec) ? 'in' : 'eq', spec]];
			if (!conditions.length) fail(`filter ${name}: give at least one operator (${FILTER_OPS.join(', ')})`);
			for (const [op, v] of conditions) {
				if (!FILTER_OPS.includes(op)) fail(`filter ${name}: "${op}" is not an operator (use ${FILTER_OPS.join(', ')})`);
				if (COMPARISON[op]) {
					if ((op !== 'eq' && op !== 'ne') && c.category === 'B') fail(`filter ${name}: ${op} does not apply to a boolean`);
					where.push(`${ident} ${COMPARISON[op]} ${param(scalar(model, c, op, v))}`);
				} else if (op === 'in' || op === 'not_in') {
					if (!Array.isArray(v) || v.length === 0 || v.length > MAX_LIST_VALUES) fail(`filter ${name} ${op}: give a list of 1 to ${MAX_LIST_VALUES} values`);
					const list = (v as unknown[]).map((x) => scalar(model, c, op, x));
					where.push(op === 'in' ? `${ident} = any(${param(list)})` : `${ident} <> all(${param(list)})`);
				} else if (op === 'between') {
					if (!Array.isArray(v) || v.length !== 2) fail(`filter ${name} between: give [low, high]`);
					const [lo, hi] = v as unknown[];
					where.push(`${ident} between ${param(scalar(model, c, op, lo))} and ${param(scalar(model, c, op, hi))}`);
				} else if (op === 'contains' || op === 'starts_with') {
					if (c.category !== 'S' && c.category !== 'X') fail(`filter ${name} ${op}: only text columns can be searched`);
					const text = scalar(model, c, op, v) as string;
					where.push(`${ident}::text ilike ${param(op === 'contains' ? `%${escapeLike(text)}%` : `${escapeLike(text)}%`)}`);
				} else {
					if (typeof v !== 'boolean') fail(`filter ${name} is_null: give true or false`);
					where.push(`${ident} is ${v ? '' : 'not '}null`);
				}
			}
		}
	}

	// Shape: grouped (measures aggregated over the group-by dimensions) or plain rows.
	const groupBy = nameList(request.groupBy, 'group_by');
	const measureNames = nameList(request.measures, 'measures');
	const select: string[] = [];
	const output: string[] = [];
	let groupClause = '';
	if (groupBy.length || measureNames.length) {
		for (const d of new Set(groupBy)) {
			const c = column(d, 'group_by');
			if (!model.dimensions.includes(c.name)) fail(`group_by: "${d}" is a measure of ${model.datasetName}, not a dimension (dimensions: ${model.dimensions.join(', ')})`);
			select.push(quoteIdent(c.name));
			output.push(c.name);
		}
		if (!measureNames.length) fail(`measures: name at least one measure to aggregate (${model.measures.map((m) => m.name).join(', ')})`);
		for (const name of new Set(measureNames)) {
			const m = model.measures.find((x) => x.name === name) ?? fail(`measures: "${name}" is not a measure of ${model.datasetName} (measures: ${model.measures.map((x) => x.name).join(', ')})`);
			if (m.agg === 'last') fail(`measures: ${m.name} is a point-in-time value (agg last) and cannot be aggregated; query it without group_by and measures`);
			const missing = (m.summableBy ?? []).filter((d) => !groupBy.includes(d));
			if (m.agg === 'sum' && missing.length) fail(`measures: ${m.name} may only be summed grouped by ${missing.join(', ')} (add it to group_by)`);
			select.push(`${m.agg}(${quoteIdent(m.name)}) as ${quoteIdent(m.name)}`);
			output.push(m.name);
		}
		if (output.length > output.filter((v, i) => output.indexOf(v) === i).length) fail('a column is both grouped and measured');
		if (groupBy.length) groupClause = `\ngroup by ${[...new Set(groupBy)].map(quoteIdent).join(', ')}`;
	} else {
		const wanted = nameList(request.columns, 'columns');
		for (const name of wanted.length ? [...new Set(wanted)] : model.columns.map((c) => c.name)) {
			const c = column(name, 'columns');
			select.push(quoteIdent(c.name));
			output.push(c.name);
		}
	}

	// Order: only returned columns; by default the returned dimensions, so pages are stable.
	const order: string[] = [];
	let orderBy = request.orderBy;
	if (typeof orderBy === 'string') {
		orderBy = orderBy.split(',').map((s) => s.trim()).filter(Boolean).map((part) => {
			const m = /^([a-z_][a-z0-9_]*)(?:\s+(asc|desc))?$/i.exec(part) ?? fail(`order_by: "${part}" is not "column [asc|desc]"`);
			return { column: m[1], direction: (m[2] ?? 'asc').toLowerCase() };
		});
	}
	if (orderBy !== undefined && orderBy !== null) {
		if (!Array.isArray(orderBy)) fail('order_by must be "column [asc|desc], …"');
		for (const o of orderBy as unknown[]) {
			const spec = typeof o === 'string' ? { column: o, direction: 'asc' } : (o as { column?: unknown; direction?: unknown });
			if (!spec || typeof spec.column !== 'string') fail(`order_by: ${JSON.stringify(o)} is not { column, direction }`);
			if (!output.includes(spec.column as string)) fail(`order_by: "${String(spec.column)}" is not a returned column (${output.join(', ')})`);
			const dir = String(spec.direction ?? 'asc').toLowerCase();
			if (dir !== 'asc' && dir !== 'desc') fail(`order_by: direction "${dir}" is not asc or desc`);
			order.push(`${quoteIdent(spec.column as string)} ${dir}`);
		}
	}
	if (!order.length) {
		const dims = output.filter((o) => model.dimensions.includes(o));
		order.push(...(dims.length ? dims : output).map((o) => `${quoteIdent(o)} asc`));
	}

	// Limit: a whole number ≥ 1; anything above the agent's cap is cut there by the guard.
	let limit = DEFAULT_MODEL_LIMIT;
	if (request.limit !== undefined && request.limit !== null && request.limit !== '') {
		const n = typeof request.limit === 'string' && /^\d+$/.test(request.limit.trim()) ? Number(request.limit) : request.limit;
		if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) fail(`limit must be a whole number ≥ 1, not ${JSON.stringify(request.limit)}`);
		limit = Math.min(n as number, Number.MAX_SAFE_INTEGER);
	}

	const text =
		`select ${select.join(', ')}\n  from ${qualifiedName(model.schema, model.object)}` +
		(where.length ? `\n where ${where.join('\n   and ')}` : '') +
		groupClause +
		`\n order by ${order.join(', ')}`;
	return { text, values, columns: output, limit };
}

/** What describe returns: meaning, grain, columns with types and descriptions, and how to query. */
export function describeModel(model: SemanticModel, scope: { companyIds: string[] | null }): Record<string, unknown> {
	return {
		model: model.datasetName,
		relation: `${model.schema}.${model.object}`,
		description: model.description,
		grain: model.grain,
		company_scope: scope.companyIds ? `only companies ${scope.companyIds.join(', ')} (enforced by the database)` : 'all companies this agent is granted',
		dimensions: model.dimensions,
		measures: model.measures.map((m) => ({ name: m.name, aggregate: m.agg, ...(m.unit ? { unit: m.unit } : {}), ...(m.summableBy ? { summable_only_by: m.summableBy } : {}) })),
		columns: model.columns.map((c) => ({ name: c.name, type: c.type, role: c.role, ...(c.description ? { description: c.description } : {}) })),
		filter_operators: FILTER_OPS,
		...(model.missing.length ? { not_available: model.missing } : {}),
	};
}
