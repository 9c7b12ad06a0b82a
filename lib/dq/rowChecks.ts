/**
 * Row-level expectations as SQL: each becomes a predicate that is TRUE for a row that violates it,
 * evaluated set-based over a relation (a load's staged page, or a whole silver/gold table), all
 * expectations of a table in one statement. NULL follows CHECK constraints and dbt: a NULL value
 * passes every kind except not_null; an `expression` fails only when it is false.
 *
 * Identifiers go through quoteIdent and values through quoteLiteral with a cast to the column's
 * own type; the one piece of free SQL, an `expression`, was validated by the database when it was
 * written (ipai_meta.dq_expectation_problem) and is re-validated here before it is used.
 */
import { quoteIdent, quoteLiteral } from '../lakehouse/sql';
import { ExpectationDefinitionError, SAMPLE_SIZE, type Expectation } from './types';

export interface RowCheckScope {
	/** The relation checked, aliased `s` (quoted name or a parenthesised query). */
	relation: string;
	/** Column name → PostgreSQL type (format_type) of the checked relation. */
	columnTypes: Record<string, string>;
	/**
	 * A load's page: the table the staged rows go into, for unique and the connector scope.
	 * Omitted when a whole table is checked.
	 */
	page?: {
		target: string;
		staging: string;
		/** Key columns of a merge (a staged row replaces the target row with its key); null: append. */
		keyColumns: string[] | null;
		connectorColumn: string;
		deletedColumn: string;
	};
	/** Columns naming a failing row in the sample (e.g. the stream's key). */
	sampleColumns: string[];
}

export interface CompiledRowChecks {
	/** Extra columns computed over the relation before the predicates (window counts for unique). */
	windows: string[];
	/** One predicate per expectation, in order: TRUE when the row violates it. */
	predicates: string[];
	/** A jsonb expression naming the row in samples. */
	sample: string;
}

function columnsOf(expectation: Expectation): string[] {
	const args = expectation.args;
	if (Array.isArray(args.columns)) return args.columns.map(String);
	if (typeof args.column === 'string') return [args.column];
	return [];
}

function typed(value: unknown, type: string): string {
	return `${quoteLiteral(String(value))}::${type}`;
}

/**
 * The SQL of every row-level expectation over `scope`. Throws ExpectationDefinitionError when an
 * expectation names a column the relation no longer has.
 */
export function compileRowChecks(expectations: Expectation[], scope: RowCheckScope): CompiledRowChecks {
	const windows: string[] = [];
	const predicates = expectations.map((e, index) => {
		for (const column of columnsOf(e)) {
			if (!(column in scope.columnTypes)) {
				throw new ExpectationDefinitionError(
					`Expectation ${e.targetTable}.${e.name} names column ${column}, which ${e.targetTable} does not have (any more): fix or disable the expectation`,
				);
			}
		}
		return predicate(e, index, scope, windows);
	});
	const sampleColumns = scope.sampleColumns.filter((c) => c in scope.columnTypes);
	const sample = sampleColumns.length > 0 ? `jsonb_build_object(${sampleColumns.map((c) => `${quoteLiteral(c)}, s.${quoteIdent(c)}`).join(', ')})` : `'{}'::jsonb`;
	return { windows, predicates, sample };
}

function predicate(e: Expectation, index: number, scope: RowCheckScope, windows: string[]): string {
	const args = e.args;
	const columns = columnsOf(e).map(quoteIdent);
	const column = columns[0];
	const type = scope.columnTypes[columnsOf(e)[0]];
	switch (e.kind) {
		case 'not_null':
			return columns.map((c) => `s.${c} is null`).join(' or ');
		case 'accepted_values': {
			const values = (Array.isArray(args.values) ? args.values : []).map((v) => typed(v, type));
			return `s.${column} is not null and s.${column} <> all (array[${values.join(', ')}]::${type}[])`;
		}
		case 'range': {
			const parts: string[] = [];
			if (args.min !== undefined && args.min !== null) parts.push(`s.${column} ${args.min_inclusive === false ? '<=' : '<'} ${typed(args.min, type)}`);
			if (args.max !== undefined && args.max !== null) parts.push(`s.${column} ${args.max_inclusive === false ? '>=' : '>'} ${typed(args.max, type)}`);
			return `s.${column} is not null and (${parts.join(' or ') || 'false'})`;
		}
		case 'regex':
			return `s.${column} is not null and s.${column}::text !~ ${quoteLiteral(String(args.pattern))}`;
		case 'expression':
			return `(${String(args.expression)})::boolean is false`;
		case 'relationship': {
			const toColumns = (Array.isArray(args.to_columns) ? args.to_columns : [args.to_column]).map((c) => quoteIdent(String(c)));
			const toTable = qualifiedTarget(String(args.to_table));
			const match = columns.map((c, i) => `r.${toColumns[i]} = s.${c}`).join(' and ');
			return `(${columns.map((c) => `s.${c} is not null`).join(' and ')}) and not exists (select 1 from ${toTable} r where ${match})`;
		}
		case 'unique':
			return uniquePredicate(columns, index, scope, windows);
		default:
			throw new ExpectationDefinitionError(`${e.kind} is not a row-level expectation`);
	}
}

/**
 * unique: the row's non-null values appear in another row of the relation, or (for a load) in a
 * row of the target that this page does not replace, among the same connector's current rows.
 */
function uniquePredicate(columns: string[], index: number, scope: RowCheckScope, windows: string[]): string {
	const page = scope.page;
	// Columns that include a merge's whole key are unique by construction: the page holds one row
	// per key, and a target row with the same key is the row this page replaces (the primary key
	// is the connector and the key, the scope of unique).
	if (page?.keyColumns && page.keyColumns.every((k) => columns.includes(quoteIdent(k)))) return 'false';
	const alias = `_ipai_dup_${index}`;
	windows.push(`count(*) over (partition by ${columns.map((c) => `s.${c}`).join(', ')}) as ${alias}`);
	const notNull = columns.map((c) => `s.${c} is not null`).join(' and ');
	if (!page) return `${notNull} and s.${alias} > 1`;
	const same = columns.map((c) => `t.${c} = s.${c}`).join(' and ');
	const connector = `t.${page.connectorColumn} = s.${page.connectorColumn}`;
	let existing = `exists (select 1 from ${page.target} t where ${connector} and ${same} and t.${page.deletedColumn} is null`;
	if (page.keyColumns) {
		const key = page.keyColumns.map(quoteIdent);
		const tKey = `(${key.map((k) => `t.${k}`).join(', ')})`;
		existing +=
			` and ${tKey} is distinct from (${key.map((k) => `s.${k}`).join(', ')})` +
			` and not exists (select 1 from ${page.staging} r where r.${page.connectorColumn} = t.${page.connectorColumn} and (${key.map((k) => `r.${k}`).join(', ')}) = ${tKey})`;
	}
	return `${notNull} and (s.${alias} > 1 or ${existing}))`;
}

/** schema.table as stored in an expectation → quoted; anything else is refused. */
export function qualifiedTarget(target: string): string {
	const parts = target.split('.');
	if (parts.length !== 2 || parts.some((p) => p.length === 0)) throw new ExpectationDefinitionError(`${target} is not schema.table`);
	return `${quoteIdent(parts[0])}.${quoteIdent(parts[1])}`;
}

/**
 * One statement that evaluates every compiled check and returns, per expectation, the failing
 * count and a bounded sample. withRowId keeps each failing row's ctid, so the rows to drop can be
 * deleted from the staged page.
 */
export function failingRowsQuery(checks: CompiledRowChecks, scope: RowCheckScope, withRowId: boolean): string {
	const inner = `select s.*${withRowId ? ', s.ctid as _ipai_row_id' : ''}${checks.windows.map((w) => `, ${w}`).join('')} from ${scope.relation} s`;
	const flags = checks.predicates.map((p, i) => `coalesce(${p}, false) as f${i}`).join(', ');
	return `select ${withRowId ? 's._ipai_row_id, ' : ''}${checks.sample} as sample, ${flags}
	          from (${inner}) s
	         where ${checks.predicates.map((p) => `coalesce(${p}, false)`).join(' or ')}`;
}

/** Per expectation: failing count and sample, from the rows failingRowsQuery found. */
export function summaryQuery(failing: string, count: number): string {
	const parts = Array.from({ length: count }, (_, i) => [
		`count(*) filter (where f${i}) as failed_${i}`,
		`coalesce(to_jsonb((array_agg(sample) filter (where f${i}))[1:${SAMPLE_SIZE}]), '[]'::jsonb) as sample_${i}`,
	]).flat();
	return `select ${parts.join(', ')} from ${failing}`;
}
