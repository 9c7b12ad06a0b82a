/** A page's rows as COPY text (format text) into a table: the loader's write of one page. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyFieldWriter, copyJson, type SerializeStats } from './copyText';
import { quoteIdent } from './sql';
import { columnNameFor, META, type ColumnSpec, type TableShape } from './tables';
import type { LoadRecord } from './loader';

export interface CopyPage {
	connectorId: string;
	runId: string;
	/** The table's current shape: a column's type there wins over the page's. */
	shape: TableShape;
	columns: ColumnSpec[];
	records: LoadRecord[];
	raws: unknown[] | undefined;
	extractedAt: Date;
	stats: SerializeStats;
	/** Called once every row is encoded, while the server still digests the last chunks. */
	encoded?: () => void;
}

const CHUNK_BYTES = 256 * 1024;

/** COPY … FROM STDIN (text format), rows batched into ~256 KB chunks to keep the pipe full. */
export async function copyRecords(client: ClientBase, target: string, page: CopyPage): Promise<number> {
	const { columns, records, raws, stats } = page;
	const fields = columns.map((c) => c.field);
	const writers = columns.map((c) => copyFieldWriter(page.shape.columns.get(columnNameFor(c.field)) ?? c.type, stats));
	const meta = `${page.connectorId}\t${page.runId}\t${page.extractedAt.toISOString()}\t\\N\t`;
	const metaSuffix = fields.length > 0 ? `\t${meta}` : meta;
	const columnList = [...columns.map((c) => quoteIdent(columnNameFor(c.field))), META.connectorId, META.runId, META.extractedAt, META.deletedAt, META.raw];

	// Rows are encoded straight into 256 KB buffers: no large intermediate strings to build,
	// flatten and copy again, which is where most of a load's garbage came from.
	function* chunks(): Generator<Buffer> {
		let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
		let used = 0;
		for (let r = 0; r < records.length; r++) {
			const record = records[r];
			let line = fields.length > 0 ? writers[0](record[fields[0]]) : '';
			for (let i = 1; i < fields.length; i++) line += '\t' + writers[i](record[fields[i]]);
			line += metaSuffix;
			// The raw record's JSON (most of a row's bytes) goes into the buffer on its own rather
			// than being concatenated into the line and copied once more when the line is flattened.
			const source = raws ? raws[r] : record;
			const raw = source === undefined ? '\\N' : copyJson(source, stats);
			const most = (line.length + raw.length + 1) * 3;
			if (used + most > CHUNK_BYTES) {
				if (used > 0) yield buffer.subarray(0, used);
				buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, most));
				used = 0;
			}
			used += buffer.write(line, used);
			used += buffer.write(raw, used);
			buffer[used++] = 0x0a; // newline
		}
		page.encoded?.();
		if (used > 0) yield buffer.subarray(0, used);
	}

	const copy = client.query(copyFrom(`copy ${target} (${columnList.join(', ')}) from stdin with (format text)`));
	// A shallow buffer keeps serialisation just ahead of the server, so little of a page is left
	// for the server to chew on alone after the last chunk is written.
	await pipeline(Readable.from(chunks(), { objectMode: true, highWaterMark: 2 }), copy);
	return records.length;
}
