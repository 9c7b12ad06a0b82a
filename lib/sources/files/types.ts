/** Shared shapes of the file readers: what a reader yields and how a bad row is described. */
import type { Readable } from 'node:stream';
import type { ColumnType } from '../../lakehouse/columnTypes';
import type { LoadRecord } from '../../lakehouse/loader';

export type FileFormat = 'csv' | 'tsv' | 'json' | 'ndjson' | 'parquet' | 'arrow';
export type BadRowPolicy = 'fail' | 'skip';

/** Where a file's bytes come from. Only `open` is required; ranges let Parquet skip spooling. */
export interface FileSource {
	/** Shown in errors, summaries and rejects: a key, file name or URL without credentials. */
	name: string;
	size?: number;
	/** A fresh stream of the file's bytes (as stored: possibly gzip-compressed). */
	open(): Promise<Readable>;
	/** Bytes [start, end) of the stored file, for range-capable sources (local file, S3, HTTP). */
	readRange?(start: number, end: number): Promise<Uint8Array>;
}

/** How a delimited file is written, as the sniffer decides it. */
export interface CsvDialect {
	delimiter: string;
	quote: string;
	header: boolean;
	encoding: 'utf-8' | 'latin1';
	bom: boolean;
	newline: '\n' | '\r\n' | '\r';
}

export interface CsvOptions {
	/** Field delimiter; detected from a sample when omitted. */
	delimiter?: string;
	/** Quote character; detected when omitted ('' = no quoting). */
	quote?: string;
	/** Whether the first row names the columns; detected when omitted. */
	header?: boolean;
	/** Text encoding; detected (UTF-8, or Latin-1 when the sample is not valid UTF-8) when omitted. */
	encoding?: 'utf-8' | 'latin1';
	/**
	 * Headers must be unique (also after normalisation: `a` and `A`); a repeat is an error naming
	 * the file and the header. Off (default): repeats get numbered columns (a, a_2, …), listed in
	 * the summary's `repeatedHeaders`.
	 */
	strictHeaders?: boolean;
}

export interface ReadOptions {
	format?: FileFormat | 'auto';
	compression?: 'auto' | 'gzip' | 'none';
	csv?: CsvOptions;
	/** Column → type overrides, by the file's own column name or the normalised one. */
	columnTypes?: Record<string, ColumnType>;
	onBadRow?: BadRowPolicy;
	/** Rows read before types are decided (DuckDB's default sample size). */
	sampleRows?: number;
	/** Rows per loader page. */
	pageRows?: number;
	/**
	 * CSV/TSV: what _ipai_raw holds. `compact` (default): only the original text of values whose
	 * typed column does not give it back exactly — lossless together with the columns, and what
	 * lets the file go straight into COPY. `full`: the whole record on every row (the checked path).
	 */
	rawRecord?: 'compact' | 'full';
	/**
	 * JSON/NDJSON: where the records are, as dot-separated keys (`features` for GeoJSON,
	 * `data.items`): the elements of the array there, one row each. Default: a top-level array's
	 * elements, or the top-level object itself as one row.
	 */
	recordsPath?: string;
}

/** A column of the file: its name in the file, its column in the table, its type. */
export interface SourceColumn {
	source: string;
	column: string;
	type: ColumnType;
	/** True when the type came from a sample (not from the file's schema or an override). */
	inferred: boolean;
}

export interface Reject {
	line: number | null;
	column: string | null;
	reason: string;
	raw: string | null;
}

export interface ReadBatch {
	records: LoadRecord[];
	rejects: Reject[];
	/** Each record's _ipai_raw when it is not the record itself (same order as records). */
	raws?: unknown[];
}

export interface FileReader {
	format: FileFormat;
	columns: SourceColumn[];
	/** What the sniffer decided, for the summary (CSV dialect, sample size…). */
	detected: Record<string, unknown>;
	batches: AsyncIterable<ReadBatch>;
}

/** A file that cannot be read at all: empty, header-only, truncated, not what it claims to be. */
export class FileFormatError extends Error {
	constructor(
		readonly file: string,
		message: string,
	) {
		super(`${file}: ${message}`);
		this.name = 'FileFormatError';
	}
}

/** A row that does not fit, under the `fail` policy: names the file, line and column. */
export class BadRowError extends Error {
	constructor(
		readonly file: string,
		readonly line: number | null,
		readonly column: string | null,
		readonly reason: string,
	) {
		super(
			`${file}${line !== null ? `, line ${line}` : ''}${column !== null ? `, column "${column}"` : ''}: ${reason}. ` +
				'Nothing from this file was loaded; fix the row, declare the column\'s type, or set bad rows to "skip".',
		);
		this.name = 'BadRowError';
	}
}
