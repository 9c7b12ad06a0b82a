/**
 * Binlog positions: `<binlog file>:<offset> gtid=<domain-server-seq>`, their order, and the
 * position a consistent snapshot corresponds to.
 */
import { DbSourceError } from '../engine';
import type { MySqlConnection } from './connection';

export interface BinlogPosition {
	file: string;
	offset: number;
	gtid?: string;
}

export function formatPosition(position: BinlogPosition): string {
	return `${position.file}:${position.offset}${position.gtid ? ` gtid=${position.gtid}` : ''}`;
}

export function parsePosition(text: string): BinlogPosition {
	const match = /^(.+?):(\d+)(?: gtid=(\S+))?$/.exec(text.trim());
	if (!match) throw new DbSourceError('config', `"${text}" is not a binlog position (file:offset)`, "Reset the stream's state to re-snapshot the table");
	return { file: match[1], offset: Number(match[2]), gtid: match[3] };
}

/** Binlog files sort by their numeric suffix (binlog.000009 < binlog.000010), then offsets. */
export function comparePositions(a: string, b: string): number {
	const pa = parsePosition(a);
	const pb = parsePosition(b);
	const seq = (file: string) => Number(/\.(\d+)$/.exec(file)?.[1] ?? 0);
	return seq(pa.file) - seq(pb.file) || pa.offset - pb.offset;
}

export async function masterPosition(connection: MySqlConnection): Promise<string> {
	const [rows] = await connection.query('SHOW MASTER STATUS');
	const row = (rows as Array<{ File: string; Position: number | string }>)[0];
	if (!row) throw new DbSourceError('config', 'The source reports no binary log position (binary log off?)', 'Enable log_bin with binlog_format=ROW');
	return formatPosition({ file: row.File, offset: Number(row.Position) });
}

/**
 * Starts a consistent snapshot on `connection` and returns the binlog position it corresponds
 * to. The transaction stays open: reads on this connection see exactly the data at that position.
 */
export async function snapshotPosition(connection: MySqlConnection): Promise<string> {
	await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
	await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
	const [status] = await connection.query("SHOW STATUS LIKE 'binlog_snapshot_%'");
	const values = Object.fromEntries((status as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name.toLowerCase(), r.Value]));
	if (values.binlog_snapshot_file && values.binlog_snapshot_position) {
		const [gtid] = await connection.query('SELECT BINLOG_GTID_POS(?, ?) AS gtid', [values.binlog_snapshot_file, Number(values.binlog_snapshot_position)]).catch(() => [[{ gtid: null }]]);
		const g = (gtid as Array<{ gtid: string | null }>)[0]?.gtid;
		return formatPosition({ file: values.binlog_snapshot_file, offset: Number(values.binlog_snapshot_position), gtid: g || undefined });
	}
	// MySQL: no snapshot position; hold writes for the instant it takes to start the snapshot.
	await connection.query('ROLLBACK');
	await connection.query('FLUSH TABLES WITH READ LOCK');
	try {
		await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
		return await masterPosition(connection);
	} finally {
		await connection.query('UNLOCK TABLES');
	}
}
