/**
 * The MySQL/MariaDB engine of the database source: discovery from information_schema, a
 * consistent snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT) read by keyset pages,
 * incremental pages in (cursor, key) order, and change data capture from the binlog (binlog.ts).
 */
import type { CdcOptions, DbCdc, DbConnectionSettings, DbEngine, DbReadView, DbTableInfo, DbTableRef } from '../engine';
import { MySqlBinlogCdc } from './binlog';
import { checkBinlogReady, classifyMySqlError, openConnection, type MySqlConnection } from './connection';
import { describeTable, listSchemas, listTables, openReadView } from './readView';

export class MySqlEngine implements DbEngine {
	readonly name = 'mysql' as const;
	private meta: MySqlConnection | null = null;

	/** `checkBinlog`: test() also checks what CDC needs (the credential's "Test Binlog Access"). */
	constructor(readonly settings: DbConnectionSettings & { checkBinlog?: boolean }) {}

	private async metaConnection(): Promise<MySqlConnection> {
		this.meta ??= await openConnection(this.settings);
		return this.meta;
	}

	private async guarded<T>(fn: (connection: MySqlConnection) => Promise<T>): Promise<T> {
		try {
			return await fn(await this.metaConnection());
		} catch (error) {
			throw classifyMySqlError(error, this.settings);
		}
	}

	/** Connects (unreachable/login/database errors come classified) and checks the user can read the database. */
	async test(): Promise<void> {
		await this.guarded(async (connection) => {
			// Connecting with the database already proved the user may use it; SHOW TABLES proves it reads it.
			await connection.query('SHOW TABLES');
			if (this.settings.checkBinlog) await checkBinlogReady(connection, this.settings.user);
		});
	}

	/** The database the credential connects to, as MySQL itself resolves unqualified names. */
	defaultSchema(): string | null {
		return this.settings.database.trim() || null;
	}

	listSchemas(): Promise<string[]> {
		return this.guarded(listSchemas);
	}

	listTables(schema: string): Promise<Array<DbTableRef & { estimatedRows: number | null }>> {
		return this.guarded((connection) => listTables(connection, schema));
	}

	describeTable(table: DbTableRef): Promise<DbTableInfo> {
		return this.guarded((connection) => describeTable(connection, table));
	}

	async openSnapshot(): Promise<DbReadView> {
		const connection = await openConnection(this.settings);
		return openReadView(connection, this.settings, 'start', () => connection.end());
	}

	async openReader(): Promise<DbReadView> {
		const connection = await openConnection(this.settings);
		return openReadView(connection, this.settings, 'none', () => connection.end());
	}

	cdc(options: CdcOptions): DbCdc {
		void options; // no slot or publication: the binlog serves every reader
		return new MySqlBinlogCdc(this.settings);
	}

	async close(): Promise<void> {
		await this.meta?.end().catch(() => undefined);
		this.meta = null;
	}
}

