/**
 * What a connector row's `config` must hold for its type's pipeline to run it. Checked twice:
 * when a scheduled row is written (the database refuses it: migration
 * 20261122001200_db_sources.sql mirrors these rules in ipai_meta.connector_config_problems,
 * and a test holds the two to the same answers), and when a pipeline accepts a delivery (a failed
 * run naming the fields), so a missing field never surfaces as a JavaScript error deep in a node.
 *
 * Only the fields a pipeline reads are described; other keys are left alone (notes, a custom
 * pipeline's own settings) unless they look like a misspelt field (nearMiss), which would
 * otherwise leave the pipeline on its defaults without a word. A JSON null counts as missing;
 * blank means only spaces, tabs and line breaks (the same four characters in SQL).
 */
const blank = (text: string) => text.replace(/[ \t\n\r]/g, '') === '';

/** A name compared without case, `_` and `-`: `key_columns`, `KeyColumns` and `keycolumns` are one. */
const folded = (name: string) => name.toLowerCase().replace(/[_-]/g, '');

/** Edit distance counting an adjacent transposition as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
	const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
	for (let j = 1; j <= b.length; j++) d[0][j] = j;
	for (let i = 1; i <= a.length; i++) {
		for (let j = 1; j <= b.length; j++) {
			const cost = a[i - 1] === b[j - 1] ? 0 : 1;
			d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
		}
	}
	return d[a.length][b.length];
}

/**
 * The field `key` was probably meant to be, when it is not a field itself: the same name but for
 * case, `_`, `-` or a plural `s`, or one edit away from a field of five letters or more (so short
 * custom keys such as `note` stay free). The first such field in rule order; undefined otherwise.
 */
export function nearMiss(key: string, fields: readonly string[]): string | undefined {
	if (fields.includes(key)) return undefined;
	const k = folded(key);
	return fields.find((field) => {
		const f = folded(field);
		return k === f || k === `${f}s` || `${k}s` === f || (f.length >= 5 && editDistance(k, f) <= 1);
	});
}

/** "did you mean" problems for the keys of `values` that look like misspelt `fields`, by key in byte order. */
function nearMissProblems(values: Record<string, unknown>, fields: readonly string[], at: string, reader: string): string[] {
	const problems: string[] = [];
	for (const key of Object.keys(values).sort()) {
		const meant = nearMiss(key, fields);
		if (meant) problems.push(`${at}.${key} is not read by ${reader}: did you mean ${at}.${meant}?`);
	}
	return problems;
}

export type FieldKind = 'string' | 'string[]' | 'enum' | 'dbTables';

export interface FieldRule {
	field: string;
	kind: FieldKind;
	required?: boolean;
	/** enum: the allowed values. */
	values?: readonly string[];
	/** string[]: each element must match (written so JavaScript and PostgreSQL read it alike). */
	pattern?: string;
	/** What the field is, for the message. */
	about: string;
}

/** Fields every type may carry: where its pipeline is, when it is not the built-in one. */
const COMMON: readonly FieldRule[] = [
	{ field: 'pipeline_webhook', kind: 'string', about: 'the webhook path (or URL) of the workflow that runs this connector' },
	{ field: 'n8n_workflow_id', kind: 'string', about: 'the id of the workflow that runs this connector' },
];

export const CONNECTOR_CONFIG_RULES: Readonly<Record<string, readonly FieldRule[]>> = {
	odoo: [
		{ field: 'models', kind: 'string[]', about: 'Odoo model names such as account.move' },
		{ field: 'mode', kind: 'enum', values: ['incremental', 'full'], about: 'incremental or full' },
	],
	github: [
		{ field: 'repositories', kind: 'string[]', required: true, pattern: '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$', about: 'repositories as "owner/name"' },
		{ field: 'streams', kind: 'string[]', about: 'stream names such as issues' },
	],
	file: [
		{ field: 'table', kind: 'string', required: true, about: 'the bronze table the files load into' },
		{ field: 'bucket', kind: 'string', about: 'the bucket (default: the S3 credential\'s)' },
		{ field: 'prefix', kind: 'string', about: 'the key prefix to list' },
		{ field: 'glob', kind: 'string', about: 'a file name pattern such as *.csv' },
		{ field: 'schema', kind: 'string', about: 'the bronze schema' },
		{ field: 'keyColumns', kind: 'string', about: 'comma-separated key columns to merge on' },
		{ field: 'onBadRow', kind: 'enum', values: ['fail', 'skip'], about: 'fail or skip' },
	],
	db: [
		{ field: 'engine', kind: 'enum', required: true, values: ['postgres', 'mysql'], about: 'the source database engine' },
		{ field: 'tables', kind: 'dbTables', required: true, about: 'tables to sync, each {table, mode, key?, cursor?, lookbackSeconds?}' },
		{ field: 'schema', kind: 'string', about: 'the bronze schema' },
		{ field: 'slot', kind: 'string', about: 'the replication slot of cdc tables' },
		{ field: 'publication', kind: 'string', about: 'the publication of cdc tables' },
	],
};

/** The fields of one element of a db connector's config.tables. */
export const DB_TABLE_FIELDS = ['table', 'mode', 'key', 'cursor', 'lookbackSeconds', 'deleteScanHours', 'target', 'nullCursor', 'raw'] as const;

/** The sync modes of a database table (config.tables[].mode). */
export const DB_TABLE_MODES = ['full', 'incremental', 'cdc', 'fdw'] as const;

/** What an incremental table does about rows whose cursor is NULL (config.tables[].nullCursor). */
export const DB_NULL_CURSOR_POLICIES = ['warn', 'fail'] as const;

/**
 * Problems of one element of a db connector's config.tables (mirrored by
 * ipai_meta.db_table_config_problems, migrations/20261122001200_db_sources.sql).
 */
export function dbTableProblems(element: unknown, index: number, engine: unknown): string[] {
	const at = `config.tables[${index}]`;
	if (element === null || typeof element !== 'object' || Array.isArray(element)) return [`${at} must be an object`];
	const t = element as Record<string, unknown>;
	const problems: string[] = [];
	const isString = (v: unknown) => typeof v === 'string' && !blank(v);
	const isNames = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every(isString);
	const missing = (v: unknown) => v === undefined || v === null;
	if (missing(t.table)) problems.push(`${at}.table is missing (the source table, as schema.table or table)`);
	else if (!isString(t.table)) problems.push(`${at}.table must be a non-empty string (the source table, as schema.table or table)`);
	if (missing(t.mode)) problems.push(`${at}.mode is missing (one of ${DB_TABLE_MODES.join(', ')})`);
	else if (typeof t.mode !== 'string' || !(DB_TABLE_MODES as readonly string[]).includes(t.mode)) problems.push(`${at}.mode must be one of ${DB_TABLE_MODES.join(', ')}`);
	else if (t.mode === 'fdw' && engine !== 'postgres') problems.push(`${at}.mode fdw needs engine postgres`);
	for (const field of ['key', 'cursor']) {
		if (!missing(t[field]) && !isNames(t[field])) problems.push(`${at}.${field} must be a non-empty list of column names`);
	}
	if (t.mode === 'incremental' && missing(t.cursor)) problems.push(`${at}.cursor is missing (the cursor column(s) of an incremental table)`);
	for (const field of ['lookbackSeconds', 'deleteScanHours']) {
		if (!missing(t[field]) && !(typeof t[field] === 'number' && (t[field] as number) >= 0)) problems.push(`${at}.${field} must be a number of at least 0`);
	}
	if (!missing(t.target) && !isString(t.target)) problems.push(`${at}.target must be a non-empty string (the bronze table name)`);
	if (!missing(t.nullCursor) && !(typeof t.nullCursor === 'string' && (DB_NULL_CURSOR_POLICIES as readonly string[]).includes(t.nullCursor))) {
		problems.push(`${at}.nullCursor must be one of ${DB_NULL_CURSOR_POLICIES.join(', ')}`);
	}
	if (!missing(t.raw) && typeof t.raw !== 'boolean') problems.push(`${at}.raw must be true or false (keep every row's record in _ipai_raw)`);
	return [...problems, ...nearMissProblems(t, DB_TABLE_FIELDS, at, 'database table syncs')];
}

/** The connector types the package ships a pipeline for. */
export const BUILT_IN_TYPES = Object.keys(CONNECTOR_CONFIG_RULES);

/**
 * Every problem with `config` for a connector of `connectorType`, in rule order; empty when it is
 * fine. Unknown types are only checked for the common fields.
 */
export function connectorConfigProblems(connectorType: string, config: unknown): string[] {
	if (config === null || typeof config !== 'object' || Array.isArray(config)) return ['config must be a JSON object'];
	const values = config as Record<string, unknown>;
	const problems: string[] = [];
	const rules = [...COMMON, ...(CONNECTOR_CONFIG_RULES[connectorType] ?? [])];
	for (const rule of rules) {
		const value = values[rule.field];
		if (value === undefined || value === null) {
			if (rule.required) problems.push(`config.${rule.field} is missing (${rule.about})`);
			continue;
		}
		if (rule.kind === 'string') {
			if (typeof value !== 'string' || blank(value)) problems.push(`config.${rule.field} must be a non-empty string (${rule.about})`);
		} else if (rule.kind === 'dbTables') {
			if (!Array.isArray(value) || value.length === 0) problems.push(`config.${rule.field} must be a non-empty list of ${rule.about}`);
			else value.forEach((element, i) => problems.push(...dbTableProblems(element, i, values.engine)));
		} else if (rule.kind === 'enum') {
			if (typeof value !== 'string' || !rule.values!.includes(value)) problems.push(`config.${rule.field} must be one of ${rule.values!.join(', ')}`);
		} else {
			const pattern = rule.pattern ? new RegExp(rule.pattern) : null;
			const ok =
				Array.isArray(value) &&
				value.length > 0 &&
				value.every((e) => typeof e === 'string' && !blank(e) && (!pattern || pattern.test(e)));
			if (!ok) problems.push(`config.${rule.field} must be a non-empty list of ${rule.about}`);
		}
	}
	const reader = CONNECTOR_CONFIG_RULES[connectorType] ? `${connectorType} connectors` : 'connectors';
	return [...problems, ...nearMissProblems(values, rules.map((r) => r.field), 'config', reader)];
}

export class ConnectorConfigError extends Error {
	constructor(readonly connector: string, readonly problems: string[]) {
		super(`Connector ${connector} cannot run: ${problems.join('; ')}. Fix its row in ipai_connector_config.`);
		this.name = 'ConnectorConfigError';
	}
}
