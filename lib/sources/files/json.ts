/**
 * JSON array and NDJSON, streamed: a JSON array is split into its elements by a small scanner
 * (strings, escapes, nesting) so only one element at a time is parsed, never the whole document.
 * Types come from a sample of records through the engine's own value rules (inferValueType/widen):
 * nested objects land as jsonb; a later value that does not fit its column is a bad row.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { fitsType, inferValueType, newColumnType, sqlTypeName, toJson, widen, type ColumnType } from '../../lakehouse/columnTypes';
import { parseJson } from './jsonParse';
import type { LoadRecord } from '../../lakehouse/loader';
import { DEFAULT_SAMPLE_ROWS } from './csv';
import { ColumnNamer } from './names';
import { BadRowError, FileFormatError, type FileReader, type ReadBatch, type ReadOptions, type Reject, type SourceColumn } from './types';

interface Element {
	text: string;
	line: number;
}

type Frame =
	| { kind: 'object'; level: number; state: 'keyOrEnd' | 'key' | 'colon' | 'value' | 'commaOrEnd'; key: string; found: boolean; keys: string[] }
	| { kind: 'array'; state: 'first' | 'value' | 'commaOrEnd' };

/**
 * The records of a JSON document, as text, with the line each starts on. The document is one or
 * more JSON values (whitespace between them, however much: pretty-printed or not). Without a
 * records path, an array's elements are records and any other value is one record; with one
 * (`features`, `data.items`), the value at that path in each top-level object is: an array's
 * elements, or one record. Only one record at a time is held, never the document.
 */
async function* documentRecords(stream: Readable, file: string, path: string[]): AsyncGenerator<Element> {
	const decoder = new StringDecoder('utf8');
	const frames: Frame[] = [];
	let line = 1;
	let values = 0; // top-level values seen
	// The value being scanned (skipped or captured): nesting depth, string state, scalar state.
	let inValue = false;
	let capture = false;
	let depth = 0;
	let inString = false;
	let escaped = false;
	let scalar = false;
	let startLine = 1;
	let pending = '';
	// A key being read (object frames on the path).
	let inKey = false;
	let keyText = '';
	let keyEscaped = false;
	const where = () => `line ${line}`;
	const pathText = (level: number) => path.slice(0, level + 1).join('.');

	/** What the frame on top (or the top level) does with a value that starts with char `c`. */
	const startValue = (c: string): void => {
		const top = frames[frames.length - 1];
		let action: 'capture' | 'skip' | 'records' | 'descend';
		if (!top) {
			values++;
			if (path.length === 0) action = c === '[' ? 'records' : 'capture';
			else if (c === '{') action = 'descend';
			else throw new FileFormatError(file, `the records path "${path.join('.')}" needs a JSON object at the top, found ${c === '[' ? 'an array' : 'a scalar'} (${where()})`);
		} else if (top.kind === 'array') action = 'capture';
		else {
			const level = top.level;
			if (top.key !== path[level]) action = 'skip';
			else {
				top.found = true;
				if (level + 1 < path.length) {
					if (c !== '{') throw new FileFormatError(file, `the records path "${path.join('.')}": "${pathText(level)}" is not an object (${where()})`);
					action = 'descend';
				} else action = c === '[' ? 'records' : c === 'n' ? 'skip' : 'capture';
			}
		}
		if (action === 'descend') {
			frames.push({ kind: 'object', level: top && top.kind === 'object' ? top.level + 1 : 0, state: 'keyOrEnd', key: '', found: false, keys: [] });
			return;
		}
		if (action === 'records') {
			frames.push({ kind: 'array', state: 'first' });
			return;
		}
		inValue = true;
		capture = action === 'capture';
		depth = c === '{' || c === '[' ? 1 : 0;
		inString = c === '"';
		escaped = false;
		scalar = depth === 0 && !inString;
		startLine = line;
	};
	/** The value on top of a frame (or at the top level) has ended. */
	const valueEnded = (): void => {
		const top = frames[frames.length - 1];
		if (top) top.state = 'commaOrEnd';
	};
	const closeFrame = (): void => {
		const frame = frames.pop()!;
		if (frame.kind === 'object' && !frame.found) {
			const at = frame.level === 0 ? 'the top-level object' : `"${pathText(frame.level - 1)}"`;
			const keys = frame.keys.slice(0, 10).map((k) => JSON.stringify(k)).join(', ');
			throw new FileFormatError(file, `the records path "${path.join('.')}" is not in the file: ${at} has no "${path[frame.level]}" (its keys: ${keys || 'none'}${frame.keys.length > 10 ? ', …' : ''}; ${where()})`);
		}
		valueEnded();
	};

	const handle = function* (chunk: string): Generator<Element> {
		let start = inValue && capture ? 0 : -1;
		for (let i = 0; i < chunk.length; i++) {
			const code = chunk.charCodeAt(i);
			if (code === 10) line++;
			if (inValue) {
				if (inString) {
					if (escaped) escaped = false;
					else if (code === 92) escaped = true;
					else if (code === 34) {
						inString = false;
						if (depth === 0) {
							// a string scalar ends with its closing quote
							inValue = false;
							if (capture) {
								yield { text: pending + chunk.slice(start, i + 1), line: startLine };
								pending = '';
							}
							valueEnded();
						}
					}
					continue;
				}
				if (scalar) {
					if (code === 44 || code === 93 || code === 125 || code === 32 || code === 10 || code === 13 || code === 9) {
						inValue = false;
						scalar = false;
						if (capture) {
							yield { text: pending + chunk.slice(start, i), line: startLine };
							pending = '';
						}
						valueEnded();
						// this character belongs to the frame: fall through to it below
					} else continue;
				} else {
					if (code === 34) inString = true;
					else if (code === 123 || code === 91) depth++;
					else if (code === 125 || code === 93) {
						if (--depth === 0) {
							inValue = false;
							if (capture) {
								yield { text: pending + chunk.slice(start, i + 1), line: startLine };
								pending = '';
							}
							valueEnded();
						}
					}
					continue;
				}
			}
			if (inKey) {
				if (keyEscaped) keyEscaped = false;
				else if (code === 92) keyEscaped = true;
				else if (code === 34) {
					inKey = false;
					const top = frames[frames.length - 1] as Extract<Frame, { kind: 'object' }>;
					try {
						top.key = JSON.parse(`"${keyText}"`) as string;
					} catch {
						throw new FileFormatError(file, `not valid JSON: a property name cannot be read (${where()})`);
					}
					if (top.keys.length <= 10) top.keys.push(top.key);
					top.state = 'colon';
					continue;
				}
				keyText += chunk[i];
				continue;
			}
			if (code === 32 || code === 10 || code === 13 || code === 9) continue;
			const c = chunk[i];
			const top = frames[frames.length - 1];
			const unexpected = (): never => {
				throw new FileFormatError(file, `not valid JSON: unexpected ${JSON.stringify(c)} (${where()})`);
			};
			if (!top) {
				if (c === ']' || c === '}' || c === ',' || c === ':') unexpected();
			} else if (top.kind === 'array') {
				if (top.state === 'commaOrEnd') {
					if (c === ',') top.state = 'value';
					else if (c === ']') closeFrame();
					else unexpected();
					continue;
				}
				if (c === ']' && top.state === 'first') {
					closeFrame();
					continue;
				}
				if (c === ']' || c === ',' || c === '}' || c === ':') unexpected();
			} else {
				if (top.state === 'keyOrEnd' || top.state === 'key') {
					if (c === '"') {
						inKey = true;
						keyText = '';
						keyEscaped = false;
					} else if (c === '}' && top.state === 'keyOrEnd') closeFrame();
					else unexpected();
					continue;
				}
				if (top.state === 'colon') {
					if (c === ':') top.state = 'value';
					else unexpected();
					continue;
				}
				if (top.state === 'commaOrEnd') {
					if (c === ',') top.state = 'key';
					else if (c === '}') closeFrame();
					else unexpected();
					continue;
				}
				if (c === ']' || c === ',' || c === '}' || c === ':') unexpected();
			}
			startValue(c);
			if (inValue && capture) start = i;
		}
		if (inValue && capture) pending += chunk.slice(start === -1 ? 0 : start);
	};
	let bomChecked = false;
	for await (const chunk of stream) {
		let text = decoder.write(chunk as Buffer);
		if (!bomChecked) {
			if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
			bomChecked = text.length > 0;
		}
		yield* handle(text);
	}
	const tail = decoder.end();
	if (tail) yield* handle(tail);
	if (inValue && scalar && frames.length === 0) {
		// a scalar at the very end of the file
		inValue = false;
		if (capture) yield { text: pending, line: startLine };
	}
	if (values === 0) throw new FileFormatError(file, 'the file is empty');
	if (inValue || inKey || frames.length > 0) {
		throw new FileFormatError(file, `the JSON ${frames.some((f) => f.kind === 'array') ? 'array' : 'document'} is not closed: the file ends inside it (line ${line}); it may be truncated`);
	}
}

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
