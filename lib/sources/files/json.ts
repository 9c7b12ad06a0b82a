/**
 * JSON array and NDJSON, streamed: a JSON document is split into its records (jsonDocument.ts) so
 * only one record at a time is parsed, never the whole document.
 * Types come from a sample of records through the engine's own value rules (inferValueType/widen):
 * nested objects land as jsonb; a later value that does not fit its column is a bad row.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { fitsType, inferValueType, newColumnType, sqlTypeName, widen, type ColumnType } from '../../lakehouse/columnTypes';
import { toJson } from '../../lakehouse/copyText';
import { documentRecords, type Element } from './jsonDocument';
import { parseJson } from './jsonParse';
import type { LoadRecord } from '../../lakehouse/loader';
import { DEFAULT_SAMPLE_ROWS } from './csv';
import { ColumnNamer } from './names';
import { BadRowError, FileFormatError, type FileReader, type ReadBatch, type ReadOptions, type Reject, type SourceColumn } from './types';

/** The value at a records path in a parsed record: its elements when an array, else itself. */
function atPath(value: unknown, path: string[]): { found: boolean; records: unknown[] } {
	let current = value;
	for (const key of path) {
		if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.prototype.hasOwnProperty.call(current, key)) return { found: false, records: [] };
		current = (current as Record<string, unknown>)[key];
	}
	if (current === null) return { found: true, records: [] };
	return { found: true, records: Array.isArray(current) ? current : [current] };
}

/** Splits a records path (`data.items`) into keys. */
export function recordsPathKeys(path: string | undefined): string[] {
	return (path ?? '').split('.').map((k) => k.trim()).filter((k) => k.length > 0);
}

/** NDJSON: one JSON value per line (blank lines ignored). */
async function* ndjsonLines(stream: Readable): AsyncGenerator<Element> {
	const decoder = new StringDecoder('utf8');
	let rest = '';
	let line = 0;
	let first = true;
	for await (const chunk of stream) {
		let text = rest + decoder.write(chunk as Buffer);
		if (first && text.length > 0) {
			if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
			first = false;
		}
		let start = 0;
		for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
			line++;
			const value = text.slice(start, nl).trim();
			if (value.length > 0) yield { text: value, line };
			start = nl + 1;
		}
		rest = text.slice(start);
	}
	rest += decoder.end();
	if (rest.trim().length > 0) yield { text: rest.trim(), line: line + 1 };
}

export async function readJson(stream: Readable, file: string, options: ReadOptions, ndjson: boolean): Promise<FileReader> {
	const skip = (options.onBadRow ?? 'fail') === 'skip';
	const path = recordsPathKeys(options.recordsPath);
	const elements = ndjson ? ndjsonLines(stream) : documentRecords(stream, file, path);
	const iterator = elements[Symbol.asyncIterator]();
	type Parsed = { value: Record<string, unknown> | null; line: number; text: string; error?: string };
	const record = (value: unknown, line: number, text: string): Parsed => {
		if (value === null || typeof value !== 'object' || Array.isArray(value)) {
			return { value: null, line, text, error: `expected a JSON object, found ${Array.isArray(value) ? 'an array' : toJson(value, { nulReplaced: 0 }).slice(0, 80)}` };
		}
		return { value: value as Record<string, unknown>, line, text };
	};
	// NDJSON with a records path: one line may hold several records.
	const queued: Parsed[] = [];
	const next = async (): Promise<Parsed | null> => {
		for (;;) {
			const ready = queued.shift();
			if (ready) return ready;
			const result = await iterator.next();
			if (result.done) return null;
			const { text, line } = result.value;
			let value: unknown;
			try {
				value = parseJson(text);
			} catch (error) {
				return { value: null, line, text, error: `not valid JSON (${(error as Error).message})` };
			}
			if (!ndjson || path.length === 0) return record(value, line, text);
			const at = atPath(value, path);
			if (!at.found) return { value: null, line, text, error: `the records path "${path.join('.')}" is not in this line` };
			for (const element of at.records) queued.push(record(element, line, at.records.length === 1 && element === value ? text : toJson(element, { nulReplaced: 0 })));
		}
	};

	const sampleRows = options.sampleRows ?? DEFAULT_SAMPLE_ROWS;
	const sample: Parsed[] = [];
	while (sample.length < sampleRows) {
		const parsed = await next();
		if (!parsed) break;
		sample.push(parsed);
	}
	if (sample.length === 0) {
		throw new FileFormatError(file, ndjson ? 'the file has no JSON lines' : path.length > 0 ? `the records path "${path.join('.')}" holds no records` : 'the JSON array is empty: no records');
	}

	const namer = new ColumnNamer();
	const overrides = options.columnTypes ?? {};
	const types = new Map<string, ColumnType | null>();
	// An empty array says nothing about an array column's element type, but it is a value: beside
	// numbers or strings it makes the column jsonb (a bigint column cannot hold []).
	const emptyArrays = new Set<string>();
	for (const row of sample) {
		if (!row.value) continue;
		for (const field in row.value) {
			const current = types.get(field) ?? null;
			if (current === 'text' || current === 'jsonb') continue;
			const value = row.value[field];
			if (Array.isArray(value) && value.length === 0) emptyArrays.add(field);
			types.set(field, widen(current, inferValueType(value)));
		}
	}
	for (const field of emptyArrays) {
		const type = types.get(field) ?? null;
		if (type !== 'text' && !type?.endsWith('[]')) types.set(field, 'jsonb');
	}
	const columns: SourceColumn[] = [...types].map(([source, type], i) => {
		const column = namer.name(source, i);
		const declared = overrides[source] ?? overrides[column];
		if (declared) return { source, column, type: declared, inferred: false };
		return { source, column, type: type === null ? 'text' : newColumnType(type), inferred: true };
	});
	const bySource = new Map(columns.map((c) => [c.source, c]));
	const pageRows = options.pageRows ?? 5_000;
	const sampled = sample.length;

	async function* batches(): AsyncGenerator<ReadBatch> {
		let records: LoadRecord[] = [];
		let rejects: Reject[] = [];
		const reject = (row: Parsed, column: string | null, reason: string): void => {
			if (!skip) throw new BadRowError(file, row.line, column, reason);
			rejects.push({ line: row.line, column, reason, raw: row.text });
		};
		const take = (row: Parsed): void => {
			if (!row.value) return reject(row, null, row.error!);
			const record: LoadRecord = {};
			for (const field in row.value) {
				const value = row.value[field];
				const spec = bySource.get(field);
				if (!spec) {
					// A field the sample did not see: a new column, typed by the engine (schema evolution).
					record[namer.name(field)] = value;
					continue;
				}
				const type = Array.isArray(value) && value.length === 0 ? (spec.type.endsWith('[]') ? null : 'jsonb') : inferValueType(value);
				if (value !== null && value !== undefined && spec.type !== 'text' && spec.type !== 'jsonb' && !fitsType(spec.type, type)) {
					return reject(row, field, `${toJson(value, { nulReplaced: 0 }).slice(0, 80)} is not a ${sqlTypeName(spec.type)} value (the column's type ${
						spec.inferred ? `was inferred from the first ${sampled} records` : 'was declared'
					})`);
				}
				record[spec.column] = value;
			}
			records.push(record);
		};
		const flush = (): ReadBatch => {
			const batch = { records, rejects };
			records = [];
			rejects = [];
			return batch;
		};
		for (const row of sample) {
			take(row);
			if (records.length >= pageRows) yield flush();
		}
		sample.length = 0;
		for (let row = await next(); row; row = await next()) {
			take(row);
			if (records.length >= pageRows) yield flush();
		}
		if (records.length > 0 || rejects.length > 0) yield flush();
	}

	return { format: ndjson ? 'ndjson' : 'json', columns, detected: { sampleRows: sampled, ...(path.length > 0 ? { recordsPath: path.join('.') } : {}) }, batches: batches() };
}
