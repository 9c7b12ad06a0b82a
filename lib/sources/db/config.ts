/**
 * A db connector's config (connector_type 'db'): which engine, which tables, each with its own
 * mode, key, cursor and lookback. Validated by lib/lakehouse/connectorConfig.ts (and the database
 * trigger mirroring it); this module turns a valid config into typed table settings. Secrets are
 * never here: host, user and password come from the n8n credential.
 */
import { ConnectorConfigError, connectorConfigProblems, type DB_NULL_CURSOR_POLICIES } from '../../lakehouse/connectorConfig';
import { DbSourceError, type DbEngineName, type DbTableRef } from './engine';

export type DbTableMode = 'full' | 'incremental' | 'cdc' | 'fdw';

export type DbNullCursorPolicy = (typeof DB_NULL_CURSOR_POLICIES)[number];

export interface DbTableConfig {
	/** The source table, `schema.table` or `table` (the engine's default schema). */
	table: string;
	mode: DbTableMode;
	/** Key columns; default: the table's primary key. A table without either loads append-only. */
	key?: string[];
	/** Cursor column(s) of an incremental table, compared in (cursor, key) order. */
	cursor?: string[];
	/** How far before the stored cursor an incremental read starts (seconds for time cursors, units for numbers). */
	lookbackSeconds?: number;
	/**
	 * Incremental tables: rows with a NULL cursor, which (cursor, key) order cannot see after the
	 * first sync. `warn` (default): the run succeeds with a warning counting them; `fail`: the run
	 * fails while the source has any.
	 */
	nullCursor?: DbNullCursorPolicy;
	/** Incremental tables: hours between two key scans that mark rows gone at the source as deleted (default: never). */
	deleteScanHours?: number;
	/** The bronze table name (default: derived from the source schema and table). */
	target?: string;
	/**
	 * Keep every row's record in _ipai_raw too (default false: the typed columns are the record and
	 * _ipai_raw stays NULL, except on rows whose reading lost a source value; rawRecord.ts).
	 */
	raw?: boolean;
}

export interface DbConnectorConfig {
	engine: DbEngineName;
	tables: DbTableConfig[];
	/** Bronze schema (default ipai_bronze_core). */
	schema?: string;
	/** PostgreSQL CDC: slot and publication names (default from the connector name). */
	slot?: string;
	publication?: string;
	/** Rows per page (default 10,000; a full table's COPY pages 50,000). */
	pageSize?: number;
}

export const DEFAULT_BRONZE_SCHEMA = 'ipai_bronze_core';
export const DEFAULT_PAGE_SIZE = 10_000;
/**
 * A full table's COPY pages (copyFull.ts) when the config sets no pageSize: their rows never
 * become JavaScript values, so the page size bounds a transaction, not memory, and each page
 * costs a fixed round of statements on two connections.
 */
export const DEFAULT_COPY_PAGE_SIZE = 50_000;

/** A valid config, or a ConnectorConfigError naming every problem. */
export function parseDbConfig(connectorName: string, config: unknown): DbConnectorConfig {
	const problems = connectorConfigProblems('db', config);
	if (problems.length > 0) throw new ConnectorConfigError(`db/${connectorName}`, problems);
	return config as DbConnectorConfig;
}

/**
 * `schema.table` or `table` → a table reference (quoted parts keep their dots). A bare `table`
 * lives in `defaultSchema`; without one (a MySQL credential naming no database) it is refused
 * rather than guessed.
 */
export function sourceTableRef(table: string, defaultSchema: string | null): DbTableRef {
	const parts = splitQualified(table.trim());
	if (parts.length === 1) {
		if (!defaultSchema) throw new DbSourceError('config', `Table "${table}" names no database and the credential has none`, 'Write it as database.table in config.tables, or set the database on the credential');
		return { schema: defaultSchema, name: parts[0] };
	}
	if (parts.length === 2) return { schema: parts[0], name: parts[1] };
	throw new ConnectorConfigError('db', [`"${table}" is not a table name; use schema.table or table`]);
}

function splitQualified(text: string): string[] {
	const parts: string[] = [];
	let current = '';
	let quoted = false;
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (c === '"') {
			if (quoted && text[i + 1] === '"') {
				current += '"';
				i++;
			} else quoted = !quoted;
		} else if (c === '.' && !quoted) {
			parts.push(current);
			current = '';
		} else current += c;
	}
	parts.push(current);
	return parts;
}

/** Slot and publication names derived from the connector's name when the config does not give them. */
export function replicationNames(connectorName: string, config: Pick<DbConnectorConfig, 'slot' | 'publication'>): { slot: string; publication: string } {
	const base = `ipai_${connectorName.toLowerCase().replace(/[^a-z0-9_]+/g, '_')}`.slice(0, 55);
	return { slot: config.slot ?? base, publication: config.publication ?? base };
}
