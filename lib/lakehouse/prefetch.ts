/** The loader's read-ahead: the next page fetched and its column types inferred while one loads. */
import { inferValueType, widen, type ColumnType } from './columnTypes';
import { ExactNumber } from './copyText';
import type { LoadRecord, Page } from './loader';
import { columnNameFor } from './tables';

export interface PrefetchedPage {
	page: Page;
	/** The page's field types, inferred while it was fetched (see inferPageTypes). */
	types: Map<string, ColumnType | null>;
}

/**
 * Reads one page ahead: while a page's transaction waits on the database, the source is already
 * producing the next one (an RPC in flight, a file being parsed) and its types are inferred, so
 * the two overlap instead of taking turns. The loader asks for the next page as soon as the
 * current page's rows are all sent (request()), while the server is still digesting them.
 * At most two pages are held at a time.
 */
export class Prefetcher {
	private readonly iterator: AsyncIterator<Page> | Iterator<Page>;
	private readonly eager: boolean;
	private pending: Promise<PrefetchedPage | null> | null = null;

	constructor(
		pages: AsyncIterable<Page> | Iterable<Page>,
		private readonly declared: Map<string, ColumnType>,
	) {
		this.eager = Symbol.asyncIterator in pages;
		this.iterator = this.eager ? (pages as AsyncIterable<Page>)[Symbol.asyncIterator]() : (pages as Iterable<Page>)[Symbol.iterator]();
	}

	/** Starts fetching the next page unless that is already under way. */
	request(): void {
		if (this.pending) return;
		this.pending = new Promise<PrefetchedPage | null>((resolve, reject) =>
			setImmediate(() =>
				Promise.resolve(this.iterator.next()).then(
					(result) => resolve(result.done ? null : { page: result.value, types: inferPageTypes(result.value.records, this.declared, result.value.fields) }),
					reject,
				),
			),
		);
		// A failure while prefetching surfaces when that page is awaited, not as an unhandled rejection.
		this.pending.catch(() => undefined);
	}

	async next(): Promise<PrefetchedPage | null> {
		this.request();
		const page = await this.pending!;
		this.pending = null;
		// An asynchronous source waits on I/O (an RPC, a download): keep its next request in
		// flight for the whole time this page is loaded. A synchronous one computes its page in a
		// single block, so it waits until this page's rows are sent (request() from the loader).
		if (page && this.eager) this.request();
		return page;
	}

	/** Lets the source release what it holds when loading stops early (an error in a page). */
	async close(): Promise<void> {
		await this.pending?.catch(() => undefined);
		await Promise.resolve(this.iterator.return?.()).catch(() => undefined);
	}
}

/**
 * The widest type each field's values need, for one page. Values that plainly fit the type seen
 * so far are skipped without a full inference (a number in a numeric field, a string in a text
 * field): this runs for every value of every load.
 */
export function inferPageTypes(records: LoadRecord[], declared: Map<string, ColumnType>, fields?: readonly string[]): Map<string, ColumnType | null> {
	if (fields) return listedFieldTypes(records, declared, fields);
	const types = new Map<string, ColumnType | null>();
	const settled = new Set<string>();
	for (const record of records) {
		for (const field in record) {
			if (settled.has(field)) continue;
			const value = record[field];
			const current = types.get(field) ?? null;
			if (current === null && declared.size > 0) {
				const type = declared.get(columnNameFor(field));
				if (type) {
					types.set(field, type);
					settled.add(field);
					continue;
				}
			}
			if (value === null || value === undefined || plainlyFits(current, value)) {
				if (!types.has(field)) types.set(field, null);
				continue;
			}
			const type = widen(current, inferValueType(value));
			types.set(field, type);
			// text and jsonb absorb everything: no need to look at this field's other values.
			if (type === 'text' || type === 'jsonb') settled.add(field);
		}
	}
	return types;
}

/**
 * A page whose records carry only the listed fields (Page.fields): declared fields take their
 * declared type without a look at any value; only the others are inferred, from their own values.
 */
function listedFieldTypes(records: LoadRecord[], declared: Map<string, ColumnType>, fields: readonly string[]): Map<string, ColumnType | null> {
	const types = new Map<string, ColumnType | null>();
	const undeclared: string[] = [];
	for (const field of fields) {
		const type = declared.get(columnNameFor(field));
		types.set(field, type ?? null);
		if (!type && records.length > 0) undeclared.push(field);
	}
	if (undeclared.length === 0) return types;
	const inferred = inferPageTypes(
		records.map((record) => Object.fromEntries(undeclared.map((field) => [field, record[field]]))),
		new Map(),
	);
	for (const field of undeclared) types.set(field, inferred.get(field) ?? null);
	return types;
}

function plainlyFits(type: ColumnType | null, value: unknown): boolean {
	switch (type) {
		case 'numeric':
			return typeof value === 'number' || typeof value === 'bigint' || value instanceof ExactNumber;
		case 'bigint':
			return Number.isSafeInteger(value);
		case 'boolean':
			return typeof value === 'boolean';
		default:
			return false;
	}
}
