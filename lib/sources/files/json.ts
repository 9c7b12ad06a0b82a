/**
 * JSON array and NDJSON, streamed: a JSON array is split into its elements by a small scanner
 * (strings, escapes, nesting) so only one element at a time is parsed, never the whole document.
 * Types come from a sample of records through the engine's own value rules (inferValueType/widen):
 * nested objects land as jsonb; a later value that does not fit its column is a bad row.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { fitsType, inferValueType, newColumnType, sqlTypeName, widen, type ColumnType } from '../../lakehouse/columnTypes';
import type { LoadRecord } from '../../lakehouse/loader';
import { DEFAULT_SAMPLE_ROWS } from './csv';
import { ColumnNamer } from './names';
import { BadRowError, FileFormatError, type FileReader, type ReadBatch, type ReadOptions, type Reject, type SourceColumn } from './types';

interface Element {
	text: string;
	line: number;
}

/** The top-level elements of a JSON array, as text, with the line each starts on. */
async function* arrayElements(stream: Readable, file: string): AsyncGenerator<Element> {
	const decoder = new StringDecoder('utf8');
	let state: 'before' | 'between' | 'inside' | 'after' = 'before';
	let depth = 0;
	let inString = false;
	let escaped = false;
	let line = 1;
	let startLine = 1;
	let pending = ''; // text of the element being read (across chunks)
	let bomChecked = false;
	const handle = function* (chunk: string): Generator<Element> {
		let start = state === 'inside' ? 0 : -1;
		for (let i = 0; i < chunk.length; i++) {
			const c = chunk.charCodeAt(i);
			if (c === 10) line++;
			if (state === 'inside') {
				if (inString) {
					if (escaped) escaped = false;
					else if (c === 92) escaped = true;
					else if (c === 34) inString = false;
					continue;
				}
				if (c === 34) inString = true;
				else if (c === 123 || c === 91) depth++;
				else if (c === 125 || c === 93) {
					if (depth === 0) {
						// the array's closing bracket right after a scalar element
						pending += chunk.slice(start, i);
						yield { text: pending, line: startLine };
						pending = '';
						state = 'after';
						continue;
					}
					depth--;
				} else if (c === 44 && depth === 0) {
					pending += chunk.slice(start, i);
					yield { text: pending, line: startLine };
					pending = '';
					state = 'between';
				}
				continue;
			}
			if (c === 32 || c === 10 || c === 13 || c === 9) continue;
			if (state === 'before') {
				if (c !== 91) throw new FileFormatError(file, 'the file does not start with a JSON array ("[")');
				state = 'between';
			} else if (state === 'between') {
				if (c === 93) {
					state = 'after';
					continue;
				}
				if (c === 44) continue;
				state = 'inside';
				start = i;
				startLine = line;
				depth = 0;
				if (c === 34) inString = true;
				else if (c === 123 || c === 91) depth = 1;
			} else if (state === 'after') {
				throw new FileFormatError(file, `unexpected data after the end of the JSON array (line ${line})`);
			}
		}
		if (state === 'inside') pending += chunk.slice(start === -1 ? 0 : start);
	};
	for await (const chunk of stream) {
		let text = decoder.write(chunk as Buffer);
		if (!bomChecked) {
			if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
			bomChecked = text.length > 0;
		}
		for (const element of handle(text)) yield element;
	}
	const tail = decoder.end();
	if (tail) for (const element of handle(tail)) yield element;
	if (state === 'before') throw new FileFormatError(file, 'the file is empty');
	if (state !== 'after') throw new FileFormatError(file, `the JSON array is not closed: the file ends inside it (line ${line}); it may be truncated`);
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
	const elements = ndjson ? ndjsonLines(stream) : arrayElements(stream, file);
	const iterator = elements[Symbol.asyncIterator]();
	type Parsed = { value: Record<string, unknown> | null; line: number; text: string; error?: string };
	const next = async (): Promise<Parsed | null> => {
		const result = await iterator.next();
		if (result.done) return null;
		const { text, line } = result.value;
		let value: unknown;
		try {
			value = JSON.parse(text);
		} catch (error) {
			return { value: null, line, text, error: `not valid JSON (${(error as Error).message})` };
		}
		if (value === null || typeof value !== 'object' || Array.isArray(value)) {
			return { value: null, line, text, error: `expected a JSON object, found ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}` };
		}
		return { value: value as Record<string, unknown>, line, text };
	};

	const sampleRows = options.sampleRows ?? DEFAULT_SAMPLE_ROWS;
	const sample: Parsed[] = [];
	while (sample.length < sampleRows) {
		const parsed = await next();
		if (!parsed) break;
		sample.push(parsed);
	}
	if (sample.length === 0) throw new FileFormatError(file, ndjson ? 'the file has no JSON lines' : 'the JSON array is empty: no records');

	const namer = new ColumnNamer();
	const overrides = options.columnTypes ?? {};
	const types = new Map<string, ColumnType | null>();
	for (const row of sample) {
		if (!row.value) continue;
		for (const field in row.value) {
			const current = types.get(field) ?? null;
			if (current === 'text' || current === 'jsonb') continue;
			types.set(field, widen(current, inferValueType(row.value[field])));
		}
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
				if (value !== null && value !== undefined && spec.type !== 'text' && spec.type !== 'jsonb' && !fitsType(spec.type, inferValueType(value))) {
					return reject(row, field, `${JSON.stringify(value).slice(0, 80)} is not a ${sqlTypeName(spec.type)} value (the column's type ${
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

	return { format: ndjson ? 'ndjson' : 'json', columns, detected: { sampleRows: sampled }, batches: batches() };
}
