/**
 * Connections to a MySQL/MariaDB source (mysql2) and the classification of what goes wrong, so a
 * person reads what failed and what to do: unreachable, login, database, missing privilege, or
 * a server set up wrongly for change data capture.
 */
import { createConnection, type Connection, type ConnectionOptions } from 'mysql2/promise';
import { DbSourceError, type DbConnectionSettings } from '../engine';
import { QUERY_OPTIONS } from './types';

export type MySqlConnection = Connection;

/** mysql2 options for the credential's settings (TLS: disable, require, or verify-full against `ca`). */
export function connectionOptions(settings: DbConnectionSettings): ConnectionOptions {
	const ssl = settings.ssl ?? 'disable';
	return {
		host: settings.host,
		port: settings.port,
		user: settings.user,
		password: settings.password,
		database: settings.database,
		connectTimeout: (settings.connectTimeoutSeconds ?? 10) * 1000,
		...QUERY_OPTIONS,
		charset: 'utf8mb4',
		ssl: ssl === 'disable' ? undefined : ssl === 'require' ? { rejectUnauthorized: false } : { rejectUnauthorized: true, ...(settings.ca ? { ca: settings.ca } : {}) },
	};
}

/** A connection with the session set for reading: UTC for TIMESTAMP, no SQL mode rewriting values. */
export async function openConnection(settings: DbConnectionSettings): Promise<MySqlConnection> {
	let connection: MySqlConnection;
	try {
		connection = await createConnection(connectionOptions(settings));
	} catch (error) {
		throw classifyMySqlError(error, settings);
	}
	// An idle connection cut by the server must not crash the process with an unhandled 'error'.
	connection.on('error', () => undefined);
	try {
		await connection.query("SET SESSION time_zone = '+00:00', SESSION sql_mode = '', SESSION group_concat_max_len = 1048576");
	} catch (error) {
		await connection.end().catch(() => undefined);
		throw classifyMySqlError(error, settings);
	}
	return connection;
}

interface DriverError {
	code?: string;
	errno?: number;
	message?: string;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'PROTOCOL_CONNECTION_LOST']);

/** A classified DbSourceError for a driver error (the password never appears: mysql2 does not echo it). */
export function classifyMySqlError(error: unknown, settings: Pick<DbConnectionSettings, 'host' | 'port' | 'database' | 'user'>): DbSourceError {
	if (error instanceof DbSourceError) return error;
	const e = (error ?? {}) as DriverError;
	const where = `${settings.host}:${settings.port}`;
	const detail = (e.message ?? String(error)).replace(/\s+/g, ' ').slice(0, 300);
	if (e.code && UNREACHABLE.has(e.code)) {
		return new DbSourceError('unreachable', `MySQL/MariaDB at ${where} is unreachable (${e.code})`, 'Check the host and port, that the server runs, and that a firewall lets this machine in');
	}
	if (e.code === 'HANDSHAKE_NO_SSL_SUPPORT') {
		return new DbSourceError('unreachable', `MySQL/MariaDB at ${where} does not offer TLS`, 'Turn TLS off in the credential, or enable TLS on the server (ssl_cert/ssl_key)');
	}
	if (/certificate|self[- ]signed|SSL|TLS/i.test(detail) && !e.errno) {
		return new DbSourceError('unreachable', `TLS to MySQL/MariaDB at ${where} failed: ${detail}`, "Give the server's CA certificate in the credential, or use TLS mode 'require' to skip verification");
	}
	switch (e.errno) {
		case 1045:
			return new DbSourceError('login', `MySQL/MariaDB at ${where} refused the login of user "${settings.user}"`, 'Check the user and password in the credential (and that the user may connect from this host)');
		case 1049:
			return new DbSourceError('database', `Database "${settings.database}" does not exist on ${where}`, 'Check the database name in the credential');
		case 1044:
			return new DbSourceError('privilege', `User "${settings.user}" may not use database "${settings.database}"`, `GRANT SELECT ON \`${settings.database}\`.* TO the user`);
		case 1142:
		case 1143:
			return new DbSourceError('privilege', `User "${settings.user}" lacks a privilege: ${detail}`, `GRANT SELECT ON \`${settings.database}\`.* TO the user`);
		case 1227:
			return new DbSourceError('privilege', `User "${settings.user}" lacks a replication privilege: ${detail}`, 'GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the user (MariaDB: REPLICATION CLIENT is also named BINLOG MONITOR)');
		case 1146:
			return new DbSourceError('schema', `A table is missing at the source: ${detail}`, 'It was dropped or renamed; update the table list of the connector');
		case 1054:
			return new DbSourceError('schema', `A column is missing at the source: ${detail}`, 'It was dropped or renamed; update the key or cursor of the table in the connector');
		default:
			return new DbSourceError('unreachable', `MySQL/MariaDB at ${where} failed: ${detail}`, 'Check the server and the credential');
	}
}

/** Quotes a MySQL identifier (backticks doubled); refuses NUL, which no identifier may hold. */
export function quoteMySqlIdent(name: string): string {
	if (name.length === 0 || name.includes('\u0000')) throw new DbSourceError('schema', `"${name}" is not a valid MySQL identifier`);
	return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * What change data capture from the binlog needs, checked on the server: the binary log on, in
 * ROW format with full row images, and a user allowed to read it. Each missing piece is a
 * DbSourceError naming the setting or grant to fix.
 */
export async function checkBinlogReady(connection: MySqlConnection, user: string): Promise<{ rowMetadataFull: boolean }> {
	const [rows] = await connection.query('SELECT @@log_bin AS log_bin, @@binlog_format AS format, @@binlog_row_image AS image, @@binlog_row_metadata AS metadata');
	const row = (rows as Array<Record<string, unknown>>)[0];
	if (Number(row.log_bin) !== 1) {
		throw new DbSourceError('config', 'The binary log is off on the source, so change data capture cannot read it', 'Start the server with log_bin (e.g. --log-bin=binlog, or log_bin in my.cnf) and binlog_format=ROW, then restart it; or use the full or incremental mode');
	}
	if (String(row.format).toUpperCase() !== 'ROW') {
		throw new DbSourceError('config', `The binary log is in ${row.format} format; change data capture needs ROW`, "Run SET GLOBAL binlog_format = 'ROW' and set binlog_format=ROW in my.cnf so it survives a restart");
	}
	if (String(row.image).toUpperCase() !== 'FULL') {
		throw new DbSourceError('config', `binlog_row_image is ${row.image}; change data capture needs whole rows`, "Run SET GLOBAL binlog_row_image = 'FULL' and set it in my.cnf");
	}
	try {
		await connection.query('SHOW MASTER STATUS');
	} catch (error) {
		const e = error as DriverError;
		if (e.errno === 1227) {
			throw new DbSourceError('privilege', `User "${user}" may not read the binary log position`, 'GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO the user (MariaDB: REPLICATION CLIENT is also named BINLOG MONITOR)');
		}
		throw error;
	}
	return { rowMetadataFull: String(row.metadata).toUpperCase() === 'FULL' };
}
