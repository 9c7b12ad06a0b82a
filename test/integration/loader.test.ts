import { markMissingAsDeleted } from '../../lib/lakehouse/inferredDeletes';
import { loadStream, type Page } from '../../lib/lakehouse/loader';
import { finishRun, startRun } from '../../lib/lakehouse/runs';
import { qualifiedName } from '../../lib/lakehouse/sql';
import { getStreamState } from '../../lib/lakehouse/streamState';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
let tableCounter = 0;
const nextTable = (schema = 'ipai_bronze_core') => ({ schema, name: `t_${++tableCounter}` });

async function rows(table: { schema: string; name: string }, order = '1'): Promise<Array<Record<string, unknown>>> {
	const result = await db.pool.query(`select * from ${qualifiedName(table.schema, table.name)} order by ${order}`);
	return result.rows;
}

async function columnTypes(table: { schema: string; name: string }): Promise<Record<string, string>> {
	const { rows: cols } = await db.pool.query(
		`select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2`,
		[table.schema, table.name],
	);
	return Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]));
}

const pagesOf = (...pages: Array<Record<string, unknown>[]>): Page[] => pages.map((records, i) => ({ records, cursor: { page: i } }));

describe('merge by key', () => {
	it('loading the same pages twice gives the same table, and the second load writes nothing', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		const pages = pagesOf(
			[{ id: 1, name: 'Agrolait', amount: 10.5 }, { id: 2, name: 'Camptocamp', amount: 3 }],
			[{ id: 3, name: 'Deco Addict', amount: 0 }, { id: 1, name: 'Agrolait SA', amount: 11 }],
		);
		const first = await loadStream(db.pool, pages, { ...run, stream: 's', table, key: ['id'] });
		expect(first).toMatchObject({ pages: 2, rowsRead: 4, rowsWritten: 4 });
		const snapshot = (await rows(table, 'id')).map(({ _ipai_run_id, _ipai_extracted_at, ...rest }) => rest);
		expect(snapshot.map((r) => [r.id, r.name, r.amount])).toEqual([
			['1', 'Agrolait SA', '11'],
			['2', 'Camptocamp', '3'],
			['3', 'Deco Addict', '0'],
		]);

		const second = await loadStream(db.pool, pages, { ...run, stream: 's', table, key: ['id'] });
		expect(second.rowsWritten).toBe(2); // id 1 flips back and forth once per page; ids 2 and 3 are unchanged
		const again = (await rows(table, 'id')).map(({ _ipai_run_id, _ipai_extracted_at, ...rest }) => rest);
		expect(again).toEqual(snapshot);
		const third = await loadStream(db.pool, [pages[1]], { ...run, stream: 's', table, key: ['id'] });
		expect(third.rowsWritten).toBe(0);
	});

	it('keeps the last version of a record repeated within one page', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		await loadStream(db.pool, pagesOf([{ id: 7, v: 'old' }, { id: 7, v: 'new' }]), { ...run, stream: 's', table, key: ['id'] });
		expect((await rows(table)).map((r) => r.v)).toEqual(['new']);
	});

	it('keys include the connector, so two connectors share a table without colliding', async () => {
		const a = await runningConnector(db.pool);
		const b = await runningConnector(db.pool);
		const table = nextTable();
		await loadStream(db.pool, pagesOf([{ id: 1, v: 'a' }]), { ...a, stream: 's', table, key: ['id'] });
		await loadStream(db.pool, pagesOf([{ id: 1, v: 'b' }]), { ...b, stream: 's', table, key: ['id'] });
		expect((await rows(table, 'v')).map((r) => [r.id, r.v, r._ipai_connector_id])).toEqual([
			['1', 'a', a.connectorId],
			['1', 'b', b.connectorId],
		]);
	});

	it('supports composite keys and refuses a record without its key', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		await loadStream(db.pool, pagesOf([{ repo: 'a/b', number: 1, t: 'x' }, { repo: 'a/c', number: 1, t: 'y' }]), {
			...run, stream: 's', table, key: ['repo', 'number'],
		});
		expect(await rows(table, 'repo')).toHaveLength(2);
		await expect(
			loadStream(db.pool, pagesOf([{ repo: 'a/b', t: 'no number' }]), { ...run, stream: 's', table, key: ['repo', 'number'] }),
		).rejects.toThrow(/Record 1 of the page has no value for key field "number"/);
	});

	it('refuses to load a stream into a table keyed differently', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		await loadStream(db.pool, pagesOf([{ id: 1 }]), { ...run, stream: 's', table, key: ['id'] });
		await expect(loadStream(db.pool, pagesOf([{ id: 1 }]), { ...run, stream: 's', table })).rejects.toThrow(
			/keyed by \(id\) but this stream loads by \(nothing: append-only\)/,
		);
	});

	it('checkpoints the cursor and state with each page and counts on the run', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		await loadStream(
			db.pool,
			[
				{ records: [{ id: 1 }], cursor: '2024-01-01T00:00:00Z' },
				{ records: [], cursor: '2024-02-01T00:00:00Z', state: { files: { 'a.csv': 'etag1' } } },
			],
			{ ...run, stream: 'moves', table, key: ['id'] },
		);
		const state = await getStreamState(db.pool, run.connectorId, 'moves');
		expect(state).toMatchObject({ cursor: '2024-02-01T00:00:00Z', state: { files: { 'a.csv': 'etag1' } }, runId: run.runId });
		const counts = await db.pool.query('select rows_read, rows_written from ipai_connector_run where id = $1', [run.runId]);
		expect(counts.rows[0]).toEqual({ rows_read: 1, rows_written: 1 });
	});
});

describe('pages of new keys (a full refresh from its first key)', () => {
	const fresh = (...pages: Array<Record<string, unknown>[]>): Page[] => pagesOf(...pages).map((page) => ({ ...page, newKeys: true }));

	it('go straight into a table that holds no row of the connector: a key repeated across pages is refused, not merged', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		const loaded = await loadStream(db.pool, fresh([{ id: 1, v: 'a' }, { id: 1, v: 'b' }, { id: 2, v: 'c' }], [{ id: 3, v: 'd' }]), { ...run, stream: 's', table, key: ['id'] });
		expect(loaded).toMatchObject({ pages: 2, rowsRead: 4, rowsWritten: 3 });
		expect((await rows(table, 'id')).map((r) => [r.id, r.v, r._ipai_raw])).toEqual([['1', 'b', { id: 1, v: 'b' }], ['2', 'c', { id: 2, v: 'c' }], ['3', 'd', { id: 3, v: 'd' }]]);
		// Not merged: the page's COPY meets the primary key (a page that broke the promise fails whole).
		const other = await runningConnector(db.pool);
		const failed = loadStream(db.pool, fresh([{ id: 4, v: 'e' }], [{ id: 4, v: 'f' }]), { ...other, stream: 's', table, key: ['id'] });
		await expect(failed).rejects.toMatchObject({ code: '23505' });
		expect((await rows(table, 'id')).filter((r) => r._ipai_connector_id === other.connectorId).map((r) => r.v)).toEqual(['e']);
	});

	it('merge once the table holds rows of the connector', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		await loadStream(db.pool, pagesOf([{ id: 1, v: 'a' }]), { ...run, stream: 's', table, key: ['id'] });
		const again = await loadStream(db.pool, fresh([{ id: 1, v: 'a' }, { id: 2, v: 'b' }], [{ id: 2, v: 'c' }]), { ...run, stream: 's', table, key: ['id'] });
		expect(again).toMatchObject({ rowsRead: 3, rowsWritten: 2 });
		expect((await rows(table, 'id')).map((r) => [r.id, r.v])).toEqual([['1', 'a'], ['2', 'c']]);
	});
});

describe('append', () => {
	it('appends every record with its metadata', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		const result = await loadStream(db.pool, pagesOf([{ event: 'a' }, { event: 'a' }], [{ event: 'b' }]), { ...run, stream: 'events', table });
		expect(result.rowsWritten).toBe(3);
		const loaded = await rows(table, 'event');
		expect(loaded.map((r) => r.event)).toEqual(['a', 'a', 'b']);
		expect(loaded[0]).toMatchObject({ _ipai_connector_id: run.connectorId, _ipai_run_id: run.runId, _ipai_deleted_at: null, _ipai_raw: { event: 'a' } });
		expect(loaded[0]._ipai_extracted_at).toBeInstanceOf(Date);
	});
});

describe('schema evolution', () => {
	it('adds new columns and widens integer → bigint → numeric → text, auditing each change', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		const opts = { ...run, stream: 's', table, key: ['id'], columns: [{ field: 'qty', type: 'integer' as const }] };
		await loadStream(db.pool, pagesOf([{ id: 1, qty: 5 }]), opts);
		expect((await columnTypes(table)).qty).toBe('integer');

		await loadStream(db.pool, pagesOf([{ id: 2, qty: 5, note: 'new column' }]), { ...opts, columns: undefined });
		expect(await columnTypes(table)).toMatchObject({ qty: 'integer', note: 'text' });
		await loadStream(db.pool, pagesOf([{ id: 3, qty: 3_000_000_000 }]), { ...opts, columns: undefined });
		expect((await columnTypes(table)).qty).toBe('bigint');
		await loadStream(db.pool, pagesOf([{ id: 4, qty: 2.5 }]), { ...opts, columns: undefined });
		expect((await columnTypes(table)).qty).toBe('numeric');
		await loadStream(db.pool, pagesOf([{ id: 5, qty: 'about six' }]), { ...opts, columns: undefined });
		expect((await columnTypes(table)).qty).toBe('text');

		expect((await rows(table, 'id')).map((r) => r.qty)).toEqual(['5', '5', '3000000000', '2.5', 'about six']);
		const audit = await db.pool.query(
			`select action, details->>'column' as col, details->>'from' as "from", details->>'to' as "to" from ipai_audit_log
			  where event_type = 'schema_change' and details->>'table' = $1 order by created_at, action`,
			[`${table.schema}.${table.name}`],
		);
		expect(audit.rows).toEqual([
			{ action: 'create_table', col: null, from: null, to: null },
			{ action: 'add_column', col: 'note', from: null, to: 'text' },
			{ action: 'widen_column', col: 'qty', from: 'integer', to: 'bigint' },
			{ action: 'widen_column', col: 'qty', from: 'bigint', to: 'numeric' },
			{ action: 'widen_column', col: 'qty', from: 'numeric', to: 'text' },
		]);
	});

	it('widens date → timestamptz and an array column → jsonb, keeping the data', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		const opts = { ...run, stream: 's', table, key: ['id'] };
		await loadStream(db.pool, pagesOf([{ id: 1, day: '2024-02-29', tags: [1, 2] }]), opts);
		expect(await columnTypes(table)).toMatchObject({ day: 'date', tags: 'ARRAY' });
		await loadStream(db.pool, pagesOf([{ id: 2, day: '2024-03-01T10:00:00+02:00', tags: [{ k: 1 }] }]), opts);
		expect(await columnTypes(table)).toMatchObject({ day: 'timestamp with time zone', tags: 'jsonb' });
		const loaded = await rows(table, 'id');
		expect((loaded[0].day as Date).toISOString()).toBe('2024-02-29T00:00:00.000Z');
		expect((loaded[1].day as Date).toISOString()).toBe('2024-03-01T08:00:00.000Z');
		expect(loaded.map((r) => r.tags)).toEqual([[1, 2], [{ k: 1 }]]);
	});

	it('never drops a column when a later page lacks it, and does not null it on merge', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		const opts = { ...run, stream: 's', table, key: ['id'] };
		await loadStream(db.pool, pagesOf([{ id: 1, a: 'kept', b: 'x' }]), opts);
		await loadStream(db.pool, pagesOf([{ id: 1, b: 'y' }]), opts);
		expect((await rows(table)).map((r) => [r.a, r.b])).toEqual([['kept', 'y']]);
	});
});

describe('values', () => {
	it('round-trips bigint past 2^53, exact numerics, timestamps, json, arrays, unicode, empty strings and NULL', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		const record = {
			id: 1,
			big: 9007199254740993n,
			money: '12345678901234567890.123456789',
			at_utc: '2024-06-30T23:59:59.123456Z',
			at_naive: '2024-06-30 23:59:59',
			payload: { nested: { list: [1, 'two', null] }, big: 12345678901234567890n },
			tags: ['a', 'b "quoted"', 'c\\d'],
			ids: [1, 2, 3],
			name: 'Zoë 東京 🚀 tab\tnew\nline',
			empty: '',
			nothing: null,
			flag: false,
		};
		await loadStream(db.pool, pagesOf([record]), {
			...run,
			stream: 's',
			table,
			key: ['id'],
			columns: [
				{ field: 'money', type: 'numeric' },
				{ field: 'at_naive', type: 'timestamp' },
				{ field: 'nothing', type: 'text' },
			],
		});
		const { rows: loaded } = await db.pool.query(
			`select big::text, money::text, at_utc, at_naive::text, payload, payload->>'big' as payload_big, tags, ids::text, name,
			        empty, nothing, flag, _ipai_raw->>'big' as raw_big from ${qualifiedName(table.schema, table.name)}`,
		);
		expect(loaded[0]).toEqual({
			big: '9007199254740993',
			money: '12345678901234567890.123456789',
			at_utc: new Date('2024-06-30T23:59:59.123Z'),
			at_naive: '2024-06-30 23:59:59',
			payload: { nested: { list: [1, 'two', null] }, big: 12345678901234567000 },
			payload_big: '12345678901234567890',
			tags: ['a', 'b "quoted"', 'c\\d'],
			ids: '{1,2,3}',
			name: 'Zoë 東京 🚀 tab\tnew\nline',
			empty: '',
			nothing: null,
			flag: false,
			raw_big: '9007199254740993',
		});
		const micro = await db.pool.query(`select to_char(at_utc, 'US') as us from ${qualifiedName(table.schema, table.name)}`);
		expect(micro.rows[0].us).toBe('123456');
	});

	it('replaces NUL characters (which PostgreSQL refuses in text and jsonb) with U+FFFD and counts them', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		const result = await loadStream(db.pool, pagesOf([{ id: 1, s: 'a\u0000b', j: { k: 'x\u0000y' } }]), { ...run, stream: 's', table, key: ['id'] });
		expect(result.nulReplaced).toBeGreaterThan(0);
		const loaded = await rows(table);
		expect(loaded[0].s).toBe('a\uFFFDb');
		expect(loaded[0].j).toEqual({ k: 'x\uFFFDy' });
		expect(loaded[0]._ipai_raw).toEqual({ id: 1, s: 'a\uFFFDb', j: { k: 'x\uFFFDy' } });
	});

	it('loads very wide rows: 600 columns and a 5 MB value', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		const wide: Record<string, unknown> = { id: 1, blob: 'x'.repeat(5 * 1024 * 1024) };
		for (let i = 0; i < 600; i++) wide[`field_${i}`] = i % 3 === 0 ? `v${i}` : i;
		await loadStream(db.pool, pagesOf([wide]), { ...run, stream: 's', table, key: ['id'] });
		const loaded = await db.pool.query(`select length(blob) as len, field_599, field_3 from ${qualifiedName(table.schema, table.name)}`);
		expect(loaded.rows[0]).toEqual({ len: 5 * 1024 * 1024, field_599: '599', field_3: 'v3' });
	});
});

describe('hostile identifiers', () => {
	const names = [
		'with "quotes"',
		'with spaces',
		'select',
		'Robert"); drop table ipai_connector_run; --',
		`x${'y'.repeat(99)}`,
		`x${'y'.repeat(98)}z`,
	];

	it('stores tables and columns with quotes, spaces, reserved words, 100-character names and injection attempts', async () => {
		const run = await runningConnector(db.pool);
		for (const name of names) {
			const table = { schema: 'ipai_bronze_core', name: name.slice(0, 63) };
			const record: Record<string, unknown> = { id: 1 };
			for (const field of names) record[field] = `value of ${field}`;
			await loadStream(db.pool, pagesOf([record]), { ...run, stream: name, table, key: ['id'] });
			const loaded = (await rows(table))[0];
			expect(loaded._ipai_raw).toEqual(record);
			for (const field of names.slice(0, 4)) expect(loaded[field]).toBe(`value of ${field}`);
			// The two 100-character fields get distinct shortened columns, commented with their source names.
			const comments = await db.pool.query(
				`select col_description(format('%I.%I', $1::text, $2::text)::regclass, attnum) as c from pg_attribute
				  where attrelid = format('%I.%I', $1::text, $2::text)::regclass and attnum > 0 and col_description(attrelid, attnum) is not null`,
				[table.schema, table.name],
			);
			expect(comments.rows.map((r) => r.c).sort()).toEqual([`source field: ${names[4]}`, `source field: ${names[5]}`]);
		}
		const ledger = await db.pool.query(`select to_regclass('public.ipai_connector_run') as t`);
		expect(ledger.rows[0].t).toBe('ipai_connector_run');
	});

	it('refuses source fields that collide with the metadata prefix and tables outside the lakehouse', async () => {
		const run = await runningConnector(db.pool);
		await expect(loadStream(db.pool, pagesOf([{ id: 1, _ipai_run_id: 'x' }]), { ...run, stream: 's', table: nextTable(), key: ['id'] })).rejects.toThrow(
			/reserved prefix _ipai_/,
		);
		await expect(
			loadStream(db.pool, pagesOf([{ id: 1 }]), { ...run, stream: 's', table: { schema: 'ipai_meta', name: 'sneaky' }, key: ['id'] }),
		).rejects.toThrow();
		const sneaky = await db.pool.query(`select to_regclass('ipai_meta.sneaky') as t`);
		expect(sneaky.rows[0].t).toBeNull();
	});
});

describe('inferred deletes', () => {
	it('marks rows whose keys vanished and restores rows that come back', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		await loadStream(db.pool, pagesOf([{ id: 1 }, { id: 2 }, { id: 3 }]), { ...run, stream: 's', table, key: ['id'] });
		const first = await markMissingAsDeleted(db.pool, { ...run, table, key: ['id'] }, [[1], [3]]);
		expect(first).toEqual({ deleted: 1, restored: 0, live: 2 });
		const marked = await rows(table, 'id');
		expect(marked.map((r) => [r.id, r._ipai_deleted_at === null])).toEqual([['1', true], ['2', false], ['3', true]]);

		const again = await markMissingAsDeleted(db.pool, { ...run, table, key: ['id'] }, [[1], [2], [3]]);
		expect(again).toEqual({ deleted: 0, restored: 1, live: 3 });
		// A merged record that comes back also clears its mark.
		await markMissingAsDeleted(db.pool, { ...run, table, key: ['id'] }, [[1]]);
		await loadStream(db.pool, pagesOf([{ id: 2 }]), { ...run, stream: 's', table, key: ['id'] });
		expect((await rows(table, 'id')).map((r) => r._ipai_deleted_at === null)).toEqual([true, true, false]);
	});
});

describe('the lease guards every page', () => {
	it('commits nothing for a run that lost its lease', async () => {
		const first = await startRun(db.pool, { connector: { connectorType: 'test', name: 'lease-lost' }, leaseTimeoutSeconds: 1 });
		if (first.status !== 'running') throw new Error('expected a running run');
		await new Promise((r) => setTimeout(r, 1100));
		const second = await startRun(db.pool, { connector: { connectorType: 'test', name: 'lease-lost' }, leaseTimeoutSeconds: 60 });
		expect(second).toMatchObject({ status: 'running', abandonedRunId: first.runId });
		const table = nextTable();
		await expect(
			loadStream(db.pool, pagesOf([{ id: 1 }]), { connectorId: first.connectorId, runId: first.runId, stream: 's', table, key: ['id'] }),
		).rejects.toThrow(/no longer holds the lease/);
		const exists = await db.pool.query(`select to_regclass($1) as t`, [`${table.schema}.${table.name}`]);
		expect(exists.rows[0].t).toBeNull();
		await finishRun(db.pool, second.runId);
	});
});

describe('column naming over a table\'s lifetime (issue 16, security and records 5)', () => {
	it('a field named like a long field\'s shortened column lands in a column of its own, in one page and across loads', async () => {
		const run = await runningConnector(db.pool);
		const table = nextTable();
		const longField = `quarterly_revenue_by_region_and_product_line_${'detail_'.repeat(4)}total`;
		const first = await loadStream(db.pool, pagesOf([{ id: 1, [longField]: 10 }]), { ...run, stream: 's', table, key: ['id'] });
		expect(first.rowsWritten).toBe(1);
		const { rows: cols } = await db.pool.query<{ attname: string }>(
			`select attname from pg_attribute where attrelid = $1::regclass and attnum > 0 and attname not like '\\_ipai\\_%' order by attnum`,
			[`${table.schema}.${table.name}`],
		);
		const shortened = cols.map((c) => c.attname).find((c) => c !== 'id')!;
		expect(shortened).toMatch(/_[0-9a-f]{8}$/);
		// A later source adds a field named exactly like that column, with another value.
		await loadStream(db.pool, pagesOf([{ id: 1, [longField]: 10, [shortened]: 99 }]), { ...run, stream: 's', table, key: ['id'] });
		const [row] = await rows(table, 'id');
		expect(Number(row[shortened])).toBe(10);
		const own = Object.keys(row).filter((k) => k !== 'id' && k !== shortened && !k.startsWith('_ipai_'));
		expect(own).toHaveLength(1);
		expect(Number(row[own[0]])).toBe(99);
		expect(JSON.parse(JSON.stringify(row._ipai_raw))).toEqual({ id: 1, [longField]: 10, [shortened]: 99 });
		await finishRun(db.pool, run.runId);
	});
});
