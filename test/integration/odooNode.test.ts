/**
 * The IPAI Odoo node's failures, driven through its own execute() with a real lakehouse and the
 * Odoo simulator: every failure before or during a sync is a failed run in the ledger (with a
 * connector row), nothing is half-written, and the node's actionable text is the error's headline
 * — n8n's NodeError would otherwise replace any text mentioning ECONNREFUSED, ENOTFOUND… with its
 * generic sentence (the property test below uses n8n-workflow's own classes as the oracle).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError, type JsonObject } from 'n8n-workflow';
import { IpaiOdoo } from '../../nodes/IpaiOdoo/IpaiOdoo.node';
import { actionableError, keepHeadline, perItem, restoreHeadline } from '../../nodes/shared/items';
import { nodeError } from '../../nodes/shared/lakehouse';
import { DEFAULT_ADMIN_API_KEY, OdooSimulator, seedDemoCompany, type RunningServer } from '../../tooling/simulators/odoo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { executeContext, nodeFailure, ODOO_NODE } from './fixtures/odooNode';

jest.setTimeout(120_000);

const db = useScratchDatabase();

const NODE = ODOO_NODE;

async function ledger(connector: string) {
	const { rows } = await db.pool.query(
		`select r.status, r.error_message, r.rows_read, r.rows_written, r.metadata
		   from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
		  where c.name = $1 order by r.started_at`,
		[connector],
	);
	return rows;
}

async function bronzeTables(): Promise<string[]> {
	const { rows } = await db.pool.query(`select table_name from information_schema.tables where table_schema = 'ipai_bronze_erp' order by 1`);
	return rows.map((r) => r.table_name as string);
}

const failure = async (context: IExecuteFunctions) => (await nodeFailure(context)) as NodeOperationError;

/** An HTTP server that answers every request with 404, like a web server that is not Odoo. */
async function notOdoo(): Promise<{ url: string; close: () => Promise<void> }> {
	const server = http.createServer((req, res) => {
		req.resume();
		res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
	const server = http.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as AddressInfo).port;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

describe('IPAI Odoo node: failures are failed runs with the node’s own headline', () => {
	let sim: OdooSimulator;
	let server: RunningServer;
	const others: Array<{ close: () => Promise<void> }> = [];
	const notOdooServer = async () => {
		const s = await notOdoo();
		others.push(s);
		return s;
	};
	beforeAll(async () => {
		sim = new OdooSimulator({ version: '17.0' });
		seedDemoCompany(sim);
		server = await sim.start();
	});
	afterAll(async () => {
		await server.close();
		for (const s of others) await s.close();
	});

	const odoo = (over: IDataObject = {}): IDataObject => ({ url: server.url, database: 'odoo', login: 'admin', apiKey: DEFAULT_ADMIN_API_KEY, protocol: 'auto', ...over });
	const sync = (connectorName: string, extra: IDataObject = {}): IDataObject => ({
		operation: 'sync',
		models: ['res.partner'],
		connectorName,
		syncOptions: { deleteScanEveryHours: -1 },
		...extra,
	});

	const cases: Array<{ name: string; connector: string; odoo: () => IDataObject | Promise<IDataObject>; message: RegExp }> = [
		{
			name: 'a wrong API key',
			connector: 'bad-key',
			odoo: () => odoo({ apiKey: 'not-the-key' }),
			message: /^Odoo rejected login "admin" on database "odoo" \(authenticate returned False\): check the login and password or API key$/,
		},
		{
			name: 'an unknown database',
			connector: 'bad-db',
			odoo: () => odoo({ database: 'nosuchdb' }),
			message: /^Odoo (has no database "nosuchdb": check the database name|rejected login "admin" on database "nosuchdb")/,
		},
		{
			name: 'nothing listening at the URL',
			connector: 'unreachable',
			odoo: async () => odoo({ url: `http://127.0.0.1:${await closedPort()}` }),
			message: /^Odoo at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\): check the URL and that the server is up \(gave up after 5 attempts\)$/,
		},
		{
			name: 'a protocol the server does not speak (JSON-2 on Odoo 17)',
			connector: 'bad-protocol',
			odoo: () => odoo({ protocol: 'json2' }),
			message:
				/^http:\/\/127\.0\.0\.1:\d+ does not answer JSON-2 \(Odoo 17\.0 has no JSON-2 API \(Odoo 19\+\)\): choose Automatic \(tries JSON-2, JSON-RPC, then XML-RPC\) or the protocol this server speaks in the IPAI Odoo API credential$/,
		},
		{
			name: 'a server that is not Odoo (404 on every protocol)',
			connector: 'not-odoo',
			odoo: async () => odoo({ url: (await notOdooServer()).url }),
			message:
				/^http:\/\/127\.0\.0\.1:\d+ does not answer like Odoo on any protocol tried \(JSON-2: Odoo at .* answered HTTP 404 to web\/version: <h1>Not Found<\/h1>; JSON-RPC: .*HTTP 404 to version.*; XML-RPC: .*HTTP 404 to version.*\): check the URL/,
		},
	];

	for (const c of cases) {
		it(`${c.name}: a failed run with the message, a connector row, nothing written`, async () => {
			const before = await bronzeTables();
			const error = await failure(executeContext(sync(c.connector), await c.odoo(), db.url));
			expect(error).toBeInstanceOf(NodeOperationError);
			expect(error.message).toMatch(c.message);
			expect(error.message).not.toContain(DEFAULT_ADMIN_API_KEY);
			const runs = await ledger(c.connector);
			expect(runs).toHaveLength(1);
			expect(runs[0]).toMatchObject({ status: 'failed', rows_written: 0 });
			expect(runs[0].error_message).toBe(error.message);
			expect(await bronzeTables()).toEqual(before);
		});
	}

	it('an unknown model: says the model does not exist or the user cannot see it; the models before it stay loaded', async () => {
		const error = await failure(executeContext(sync('unknown-model', { models: ['res.partner', 'x_no.such_model'] }), odoo(), db.url));
		expect(error.message).toBe(
			`Odoo model "x_no.such_model" does not exist, or user "admin" cannot see it: check the model's technical name (e.g. res.partner), that its module is installed, and the user's access rights`,
		);
		const runs = await ledger('unknown-model');
		expect(runs[0]).toMatchObject({ status: 'failed', error_message: error.message });
		expect(await bronzeTables()).not.toContain('odoo_x_no_such_model');
	});

	it('Continue On Fail: the failure is an item with the headline, and still a failed run', async () => {
		const port = await closedPort();
		const out = await new IpaiOdoo().execute.call(executeContext(sync('continue'), odoo({ url: `http://127.0.0.1:${port}` }), db.url, { continueOnFail: true }));
		expect(out[0][0].json.error).toMatch(/^Odoo at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/);
		expect((await ledger('continue'))[0].status).toBe('failed');
	});

	it('a sync that works is a successful run that names the protocol', async () => {
		const out = await new IpaiOdoo().execute.call(executeContext(sync('works'), odoo(), db.url));
		expect(out[0][0].json).toMatchObject({ status: 'success', protocol: 'jsonrpc' });
		expect((await ledger('works'))[0]).toMatchObject({ status: 'success' });
	});
});

describe('IPAI Odoo node, Connector From: Dispatched Item (the connector as Accept Delivery emits it)', () => {
	let sim: OdooSimulator;
	let server: RunningServer;
	beforeAll(async () => {
		sim = new OdooSimulator({ version: '17.0' });
		seedDemoCompany(sim);
		server = await sim.start();
	});
	afterAll(() => server.close());

	const odoo = (): IDataObject => ({ url: server.url, database: 'odoo', login: 'admin', apiKey: DEFAULT_ADMIN_API_KEY, protocol: 'auto' });
	// The node's own settings name other models, another mode and another connector: the item's must win.
	const parameters: IDataObject = {
		operation: 'sync',
		connectorFrom: 'input',
		connectorName: 'by-hand',
		models: ['res.partner', 'res.company'],
		syncOptions: { deleteScanEveryHours: -1 },
	};
	const modelsOf = async (connector: string) => ((await ledger(connector))[0]?.metadata?.odoo_models_done as string[] | undefined)?.slice().sort();

	// A model's first sync reads everything whatever the mode: the second run shows the mode.
	const twice = async (input: IDataObject[]) => {
		await new IpaiOdoo().execute.call(executeContext(parameters, odoo(), db.url, { input }));
		return (await new IpaiOdoo().execute.call(executeContext(parameters, odoo(), db.url, { input })))[0][0].json;
	};

	it('runs as the item’s connector with the item’s models and mode', async () => {
		const second = await twice([{ name: 'odoo-dispatched', config: { models: ['res.currency'], mode: 'full' } }]);
		expect(second).toMatchObject({ status: 'success', models: [{ model: 'res.currency', mode: 'full' }] });
		expect((await ledger('odoo-dispatched')).map((r) => r.status)).toEqual(['success', 'success']);
		expect(await modelsOf('odoo-dispatched')).toEqual(['res.currency']);
		expect(await ledger('by-hand')).toEqual([]);
		const { table } = (second.models as IDataObject[])[0];
		const { rows } = await db.pool.query(`select count(*)::int as n from ${String(table)}`);
		expect(rows[0].n).toBe(sim.store.table('res.currency').size);
	});

	it('an item with no connector (a run by hand): the node’s Connector Name, models and mode', async () => {
		const second = await twice([{}]);
		expect(second).toMatchObject({ status: 'success', models: [{ mode: 'incremental' }, { mode: 'incremental' }] });
		expect(await modelsOf('by-hand')).toEqual(['res.company', 'res.partner']);
	});

	it('a config its type refuses: the fields named, and nothing run', async () => {
		const input = [{ name: 'odoo-bad', config: { models: 'res.partner', mode: 'sometimes' } }];
		const error = await failure(executeContext(parameters, odoo(), db.url, { input }));
		expect(error.message).toBe(
			'Connector odoo/odoo-bad in input item 1: config.models must be a non-empty list of Odoo model names such as account.move; config.mode must be one of incremental, full',
		);
		expect(await ledger('odoo-bad')).toEqual([]);
	});
});

describe('error headlines (oracle: n8n-workflow’s own NodeOperationError / NodeApiError)', () => {
	// Codes n8n-workflow's NodeError rewrites (abstract/node.error.js COMMON_ERRORS), matched
	// anywhere in the text, case-insensitively.
	const CODES = ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENOENT', 'EACCES', 'EPERM', 'EEXIST', 'GETADDRINFO'];
	const text = fc
		.tuple(fc.string({ maxLength: 40 }), fc.constantFrom(...CODES), fc.boolean(), fc.string({ maxLength: 40 }))
		.map(([a, code, lower, b]) => `${a}${lower ? code.toLowerCase() : code}${b}`.trim() || code);

	it('n8n does rewrite such messages (so the tests below are not vacuous)', () => {
		expect(new NodeOperationError(NODE, new Error('Odoo at http://x is unreachable (ECONNREFUSED)')).message).toBe('The service refused the connection - perhaps it is offline');
	});

	it('every way a node raises an error keeps the text as the headline', () => {
		fc.assert(
			fc.property(text, fc.option(fc.string({ maxLength: 30 }), { nil: undefined }), (message, hint) => {
				expect(actionableError(NODE, message, { itemIndex: 0, description: hint }).message).toBe(message);
				expect(actionableError(NODE, new Error(message)).message).toBe(message);
				expect(nodeError(NODE, new Error(message), 0, []).message).toBe(message);
				expect(keepHeadline(new NodeApiError(NODE, { message } as JsonObject, { message, httpCode: '502' }), message).message).toBe(message);
				expect(restoreHeadline(new NodeOperationError(NODE, message)).message).toBe(message);
			}),
			{ numRuns: 200 },
		);
	});

	it('nodeError redacts secrets before anything else, and keeps the hint as the description', () => {
		const error = nodeError(NODE, Object.assign(new Error('connect ECONNREFUSED for s3cret'), { code: 'ECONNREFUSED' }), 3, ['s3cret']);
		expect(error.message).toBe('connect ECONNREFUSED for ***');
		expect(error.description).toMatch(/Nothing answers at the lakehouse host/);
		expect(error.context.itemIndex).toBe(3);
	});

	it('perItem restores a plain-text error n8n rewrote (a user-typed name can contain a code)', async () => {
		const fn = { continueOnFail: () => false, getNode: () => NODE } as unknown as IExecuteFunctions;
		const message = 'File Ingest writes bronze schemas only (ipai_bronze_*), not "preexisting"';
		await expect(
			perItem(fn, [{ json: {} }], async () => {
				throw new NodeOperationError(NODE, message, { itemIndex: 0 });
			}, (e) => e as Error),
		).rejects.toThrow(message);
	});
});
