/**
 * PostgreSQL change data capture: a named logical replication slot (plugin pgoutput) and a
 * publication of the synced tables, created or reused. Changes are pulled with
 * pg_logical_slot_peek_binary_changes (whole transactions; nothing is consumed by reading) and
 * the slot is advanced (pg_replication_slot_advance) only to a position the caller says the
 * lakehouse has committed. A slot created here exports its snapshot (CREATE_REPLICATION_SLOT …
 * EXPORT_SNAPSHOT on a replication connection), so the initial load sees exactly the data the
 * slot's first change follows.
 */
import type { Client } from 'pg';
import { quoteIdent } from '../../../lakehouse/sql';
import {
	DbSourceError,
	UNCHANGED_VALUE,
	type CdcBatch,
	type CdcChange,
	type CdcLag,
	type CdcOptions,
	type DbCdc,
	type DbReadView,
	type DbRow,
	type DbTableInfo,
	type DbTableRef,
} from '../engine';
import { classifyPgError, connectSource } from './connect';
import type { PgColumn, PgEngine } from './engine';
import { compareLsn, decodePgOutput, type Relation, type TupleValue } from './pgoutput';
import { pgColumnRead } from './types';

const PEEK = `select data from pg_logical_slot_peek_binary_changes($1, null, $2, 'proto_version', '1', 'publication_names', $3)`;

export class PgCdc implements DbCdc {
	private client: Client | null = null;
	private replication: Client | null = null;
	private lastRead: string | null = null;
	private readonly tables = new Map<string, DbTableInfo>();
	readonly slot: string;
	readonly publication: string;

	constructor(
		private readonly engine: PgEngine,
		options: CdcOptions,
	) {
		if (!options.slot || !options.publication) throw new DbSourceError('config', 'PostgreSQL CDC needs a slot and a publication name');
		this.slot = options.slot;
		this.publication = options.publication;
	}

	private async session(): Promise<Client> {
		if (!this.client) this.client = await connectSource(this.engine.settings);
		return this.client;
	}

	private async query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]> {
		try {
			return (await (await this.session()).query(text, values)).rows as T[];
		} catch (error) {
			throw this.slotError(error) ?? classifyPgError(error, this.engine.settings);
		}
	}

	private slotError(error: unknown): DbSourceError | null {
		const e = error as { code?: string; message?: string };
		if (e?.code === '55006') {
			return new DbSourceError('slot', `Replication slot "${this.slot}" is in use by another process (${e.message})`, 'Stop the other consumer of this slot, or give this connector its own slot name (config.slot)');
		}
		if (e?.code === '42704' && /replication slot/.test(e.message ?? '')) return this.goneError();
		return null;
	}

	private goneError(): DbSourceError {
		return new DbSourceError(
			'slot',
			`Replication slot "${this.slot}" is gone (dropped, or invalidated after max_slot_wal_keep_size): changes made since the last sync are no longer available`,
			'Re-snapshot: reset the state of this connector\'s cdc tables (Connector Run → State → Reset, or delete their ipai_connector_state rows) and run the sync again; it creates a new slot and reloads the tables from its snapshot',
		);
	}

	/** What logical replication needs of the server and the user, checked before anything is created. */
	async check(tables: DbTableRef[]): Promise<void> {
		const [server] = await this.query<{ wal_level: string; can_replicate: string }>(
			`select current_setting('wal_level') as wal_level, (rolreplication or rolsuper)::text as can_replicate from pg_roles where rolname = current_user`,
		);
		if (server.wal_level !== 'logical') {
			throw new DbSourceError('config', `The source server runs with wal_level = ${server.wal_level}; CDC needs logical`, 'Set wal_level = logical in postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart the server, or use mode incremental');
		}
		if (server.can_replicate !== 'true') {
			throw new DbSourceError('privilege', `User "${this.engine.settings.user}" lacks the REPLICATION attribute that CDC needs`, `ALTER ROLE ${quoteIdent(this.engine.settings.user)} REPLICATION (or use mode incremental)`);
		}
		for (const table of tables) {
			const info = await this.describe(table);
			const [identity] = await this.query<{ replident: string }>(`select relreplident::text as replident from pg_class where oid = to_regclass($1)`, [`${quoteIdent(table.schema)}.${quoteIdent(table.name)}`]);
			if (!info.primaryKey && identity?.replident !== 'f') {
				throw new DbSourceError('schema', `Table ${table.schema}.${table.name} has no primary key, so its updates and deletes cannot be captured`, `Add a primary key, or ALTER TABLE ${quoteIdent(table.schema)}.${quoteIdent(table.name)} REPLICA IDENTITY FULL, or use mode full`);
			}
		}
	}

	private async describe(table: DbTableRef): Promise<DbTableInfo> {
		const id = `${table.schema}.${table.name}`;
		let info = this.tables.get(id);
		if (!info) {
			info = await this.engine.describeTable(table);
			this.tables.set(id, info);
		}
		return info;
	}

	private async ensurePublication(tables: DbTableRef[]): Promise<void> {
		const names = tables.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
		const existing = await this.query<{ schemaname: string; tablename: string }>('select schemaname, tablename from pg_publication_tables where pubname = $1', [this.publication]);
		const [publication] = await this.query<{ n: string }>('select count(*)::text as n from pg_publication where pubname = $1', [this.publication]);
		try {
			if (publication.n === '0') await (await this.session()).query(`create publication ${quoteIdent(this.publication)} for table ${names.join(', ')}`);
			else {
				const missing = tables.filter((t) => !existing.some((e) => e.schemaname === t.schema && e.tablename === t.name));
				if (missing.length > 0) {
					await (await this.session()).query(`alter publication ${quoteIdent(this.publication)} add table ${missing.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`).join(', ')}`);
				}
			}
		} catch (error) {
			if ((error as { code?: string }).code === '42501') {
				throw new DbSourceError('privilege', `User "${this.engine.settings.user}" may not create or change publication "${this.publication}" (it must own the tables)`, `Have the tables' owner run: CREATE PUBLICATION ${quoteIdent(this.publication)} FOR TABLE ${names.join(', ')}`);
			}
			throw classifyPgError(error, this.engine.settings);
		}
	}

	async start(tables: DbTableRef[], options: { mustExist: boolean }): Promise<{ created: boolean; position: string; snapshot: DbReadView | null }> {
		await this.check(tables);
		await this.ensurePublication(tables);
		const [slot] = await this.query<{ plugin: string; database: string; active_pid: string | null; wal_status: string | null; confirmed: string | null; mine: string }>(
			`select plugin, database, active_pid::text, wal_status, confirmed_flush_lsn::text as confirmed, (active_pid = pg_backend_pid())::text as mine
			   from pg_replication_slots where slot_name = $1`,
			[this.slot],
		);
		if (slot) {
			if (slot.plugin !== 'pgoutput' || slot.database !== this.engine.settings.database) {
				throw new DbSourceError('slot', `Replication slot "${this.slot}" belongs to another consumer (plugin ${slot.plugin}, database ${slot.database})`, 'Give this connector its own slot name (config.slot)');
			}
			if (slot.wal_status === 'lost' || slot.confirmed === null) throw this.goneError();
			if (slot.active_pid && slot.mine !== 'true') {
				throw new DbSourceError('slot', `Replication slot "${this.slot}" is in use by another process (PID ${slot.active_pid})`, 'Stop the other consumer of this slot, or give this connector its own slot name (config.slot)');
			}
			return { created: false, position: slot.confirmed, snapshot: null };
		}
		if (options.mustExist) throw this.goneError();
		this.replication = await connectSource(this.engine.settings, { replication: 'database' } as never);
		try {
			const result = await this.replication.query(`CREATE_REPLICATION_SLOT ${quoteIdent(this.slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`);
			const row = result.rows[0] as { consistent_point: string; snapshot_name: string };
			const snapshot = await this.engine.importSnapshot(row.snapshot_name);
			// Once imported, the snapshot lives with the importing transaction.
			await this.releaseSnapshot();
			return { created: true, position: row.consistent_point, snapshot };
		} catch (error) {
			throw this.slotError(error) ?? classifyPgError(error, this.engine.settings);
		}
	}

	/** Ends the replication connection that keeps a created slot's snapshot alive (once the snapshot is imported). */
	async releaseSnapshot(): Promise<void> {
		const replication = this.replication;
		this.replication = null;
		await replication?.end().catch(() => undefined);
	}

	async read(maxChanges: number): Promise<CdcBatch> {
		const rows = await this.query<{ data: string }>(PEEK, [this.slot, maxChanges, this.publication]);
		const relations = new Map<number, Relation>();
		const changes: CdcChange[] = [];
		const commitTimes: Date[] = [];
		let pending: CdcChange[] = [];
		let position: string | null = null;
		for (const { data } of rows) {
			const message = decodePgOutput(Buffer.from(data.slice(2), 'hex'));
			switch (message.tag) {
				case 'relation':
					relations.set(message.relation.relid, message.relation);
					break;
				case 'begin':
					pending = [];
					break;
				case 'insert':
				case 'update': {
					const relation = relations.get(message.relid)!;
					pending.push({ op: 'upsert', table: { schema: relation.schema, name: relation.name }, row: this.tupleRow(relation, message.new), position: '' });
					break;
				}
				case 'delete': {
					const relation = relations.get(message.relid)!;
					pending.push({ op: 'delete', table: { schema: relation.schema, name: relation.name }, key: this.tupleRow(relation, message.old), position: '' });
					break;
				}
				case 'truncate':
					for (const relid of message.relids) {
						const relation = relations.get(relid)!;
						pending.push({ op: 'truncate', table: { schema: relation.schema, name: relation.name }, position: '' });
					}
					break;
				case 'commit':
					if (this.lastRead === null || compareLsn(message.endLsn, this.lastRead) > 0) {
						for (const change of pending) changes.push({ ...change, position: message.endLsn });
						commitTimes.push(message.commitTime);
						position = message.endLsn;
					}
					pending = [];
					break;
				default:
					break;
			}
		}
		if (position) this.lastRead = position;
		await this.convert(changes);
		return { changes, position, commitTimes };
	}

	private tupleRow(relation: Relation, values: TupleValue[]): DbRow {
		const row: DbRow = {};
		relation.columns.forEach((column, i) => {
			const value = values[i];
			row[column.name] = value !== null && typeof value === 'object' ? UNCHANGED_VALUE : value;
		});
		return row;
	}

	/**
	 * Converts the text of each value as the snapshot reader does: plain conversions in
	 * JavaScript; arrays, composites and money through the source's own casts, one query per
	 * column per batch.
	 */
	private async convert(changes: CdcChange[]): Promise<void> {
		const byTable = new Map<string, DbRow[]>();
		for (const change of changes) {
			const rows = change.op === 'upsert' ? [change.row] : change.op === 'delete' ? [change.key] : [];
			const id = `${change.table.schema}.${change.table.name}`;
			if (!byTable.has(id)) byTable.set(id, []);
			byTable.get(id)!.push(...rows);
		}
		for (const [id, rows] of byTable) {
			if (rows.length === 0) continue;
			const [schema, ...rest] = id.split('.');
			const info = await this.describe({ schema, name: rest.join('.') });
			for (const column of info.columns as PgColumn[]) {
				const plan = pgColumnRead(column.type);
				const plain = plan.select('v') === 'v::text';
				const targets = rows.filter((r) => typeof r[column.name] === 'string');
				if (targets.length === 0) continue;
				if (plain) {
					for (const r of targets) r[column.name] = plan.convert(r[column.name] as string);
					continue;
				}
				const converted = await this.query<{ value: string | null }>(
					`select ${plan.select(`(u.v::${column.type.formatted})`)} as value from unnest($1::text[]) with ordinality u(v, n) order by u.n`,
					[targets.map((r) => r[column.name])],
				);
				targets.forEach((r, i) => (r[column.name] = converted[i].value === null ? null : plan.convert(converted[i].value!)));
			}
		}
	}

	async ack(position: string): Promise<void> {
		const [slot] = await this.query<{ confirmed: string | null }>('select confirmed_flush_lsn::text as confirmed from pg_replication_slots where slot_name = $1', [this.slot]);
		if (!slot || slot.confirmed === null) throw this.goneError();
		if (compareLsn(position, slot.confirmed) <= 0) return;
		await this.query('select pg_replication_slot_advance($1, $2::pg_lsn)', [this.slot, position]);
	}

	async lag(): Promise<CdcLag> {
		const [slot] = await this.query<{ bytes: string | null; now: string }>(
			`select pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text as bytes, to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as now
			   from pg_replication_slots where slot_name = $1`,
			[this.slot],
		);
		if (!slot) throw this.goneError();
		const first = await this.query<{ data: string }>(`${PEEK} limit 1`, [this.slot, 1, this.publication]);
		let seconds = 0;
		if (first.length > 0) {
			const message = decodePgOutput(Buffer.from(first[0].data.slice(2), 'hex'));
			if (message.tag === 'begin') seconds = Math.max(0, (Date.parse(slot.now) - message.commitTime.getTime()) / 1000);
		}
		return { lagBytes: slot.bytes === null ? null : Number(slot.bytes), lagSeconds: seconds };
	}

	comparePositions(a: string, b: string): number {
		return compareLsn(a, b);
	}

	async close(): Promise<void> {
		await this.releaseSnapshot();
		const client = this.client;
		this.client = null;
		await client?.end().catch(() => undefined);
	}
}

