/**
 * The dispatcher's own deliveries against a real HTTP server (standing in for n8n's main, which
 * answers a webhook once it has queued the execution) and a real PostgreSQL. fast-check draws the
 * main's answers (accepted, refused, no answer) and the deliveries in flight; invariants: every
 * connector is POSTed exactly once with its claim and the webhook key, never more than the
 * concurrency at once, and the claims' marks follow the answers (accepted: delivered, long
 * deadline; refused or silent: due at the next tick), with nothing of the key in the report.
 */
import fc from 'fast-check';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliverToPipelines } from '../../lib/lakehouse/delivery';
import { claimDueConnectors, pipelineUrl, type DispatchItem } from '../../lib/lakehouse/dispatch';
import { registerConnector } from '../../lib/lakehouse/runs';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
const KEY = { name: 'x-ipai-webhook-key', value: 'k3y-that-must-not-leak-0123456789' };
type Answer = 'accept' | 'refuse' | 'silent';

/** The main: answers each connector's delivery as told, counting what is in flight. */
class Main {
	answers = new Map<string, Answer>();
	received: Array<{ name: string; claimId: string; key: string | undefined }> = [];
	inFlight = 0;
	maxInFlight = 0;
	private server!: Server;
	private readonly waiting = new Set<() => void>();

	async start(): Promise<string> {
		this.server = createServer((req, res) => void this.handle(req, res));
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	private async handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
		this.inFlight++;
		this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
		let body = '';
		for await (const chunk of req) body += chunk;
		const item = JSON.parse(body) as DispatchItem;
		this.received.push({ name: item.name, claimId: item.claimId!, key: req.headers[KEY.name] as string | undefined });
		// Answers come after the next requests arrived, so deliveries overlap when they may.
		await new Promise((resolve) => setTimeout(resolve, 5));
		const answer = this.answers.get(item.name) ?? 'accept';
		if (answer === 'silent') {
			// Never answers: the delivery times out; the socket closes when the test ends.
			this.waiting.add(() => res.destroy());
			this.inFlight--;
			return;
		}
		this.inFlight--;
		if (answer === 'accept') res.writeHead(200, { 'content-type': 'application/json' }).end('{"message":"Workflow was started"}');
		else res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"The service is busy"}');
	}

	async stop(): Promise<void> {
		for (const close of this.waiting) close();
		this.server.closeAllConnections();
		await new Promise((resolve) => this.server.close(resolve));
	}
}

let main: Main;
let base: string;
beforeAll(async () => {
	main = new Main();
	base = await main.start();
});
afterAll(() => main.stop());

let round = 0;
async function claimFleet(answers: Answer[]): Promise<Array<DispatchItem & { pipelineUrl: string }>> {
	round++;
	const client = await db.pool.connect();
	try {
		for (let i = 0; i < answers.length; i++) {
			const name = `d${round}-${i}`;
			main.answers.set(name, answers[i]);
			const id = await registerConnector(client, { connectorType: 'odoo', name, config: {} });
			await client.query(`update ipai_connector_config set schedule = '* * * * *' where id = $1`, [id]);
		}
	} finally {
		client.release();
	}
	const items = await claimDueConnectors(db.pool, { types: ['odoo'], dispatcher: `n8n execution ${round}` });
	return items.filter((i) => i.name.startsWith(`d${round}-`)).map((i) => ({ ...i, pipelineUrl: pipelineUrl(i.pipeline!, base)! }));
}

it('every connector is POSTed once with its claim and the key, at most the concurrency at once; the claims are marked as answered', async () => {
	await fc.assert(
		fc.asyncProperty(
			fc.array(fc.constantFrom<Answer>('accept', 'accept', 'accept', 'refuse', 'silent'), { minLength: 1, maxLength: 30 }),
			fc.integer({ min: 1, max: 8 }),
			async (answers, concurrency) => {
				const items = await claimFleet(answers);
				main.received = [];
				main.maxInFlight = 0;
				const report = await deliverToPipelines(db.pool, items, {
					headers: { [KEY.name]: KEY.value },
					concurrency,
					timeoutMs: 300,
					dispatcher: `n8n execution ${round}`,
				});
				const expected = (answer: Answer) => items.filter((i) => main.answers.get(i.name) === answer).map((i) => `odoo/${i.name}`).sort();

				expect(main.received.map((r) => r.name).sort()).toEqual(items.map((i) => i.name).sort());
				expect(main.received.every((r) => r.key === KEY.value && r.claimId === items.find((i) => i.name === r.name)!.claimId)).toBe(true);
				expect(main.maxInFlight).toBeLessThanOrEqual(concurrency);
				if (items.length >= concurrency * 2 && answers.every((a) => a !== 'silent')) expect(main.maxInFlight).toBe(concurrency);

				expect([...report.delivered].sort()).toEqual(expected('accept'));
				expect(report.failed.map((f) => f.connector).sort()).toEqual([...expected('refuse'), ...expected('silent')].sort());
				for (const f of report.failed) {
					expect(f.error).toMatch(main.answers.get(f.connector.slice(5)) === 'refuse' ? /answered HTTP 503: \{"message":"The service is busy"\}/ : /no answer within 300 ms/);
					expect(f.error).toContain(`${base}/webhook/ipai/pipeline/odoo`);
				}
				expect(JSON.stringify(report)).not.toContain(KEY.value);
				expect(report.retryNextTick).toBe(report.failed.length);

				const { rows } = await db.pool.query<{ name: string; delivered: boolean; due: boolean; long: boolean }>(
					`select c.name, d.delivered_at is not null as delivered, d.claim_deadline <= now() as due,
					        d.claim_deadline > now() + interval '20 minutes' as long
					   from ipai_connector_dispatch d join ipai_connector_config c on c.id = d.connector_id where c.name like $1`,
					[`d${round}-%`],
				);
				for (const row of rows) {
					const answer = main.answers.get(row.name);
					expect([row.name, row.delivered, row.due, row.long]).toEqual([row.name, answer === 'accept', answer !== 'accept', answer === 'accept']);
				}
			},
		),
		{ numRuns: 12 },
	);
}, 120_000);

it('a pipeline that does not listen is a failed delivery naming the URL and the cause, due again at the next tick', async () => {
	const [item] = await claimFleet(['accept']);
	const closed = createServer();
	await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
	const port = (closed.address() as AddressInfo).port;
	await new Promise((resolve) => closed.close(resolve));
	const report = await deliverToPipelines(db.pool, [{ ...item, pipelineUrl: `http://127.0.0.1:${port}/webhook/ipai/pipeline/odoo` }], {
		headers: {},
		concurrency: 4,
		timeoutMs: 2000,
		dispatcher: `n8n execution ${round}`,
	});
	expect(report).toEqual({
		delivered: [],
		failed: [{ connector: `odoo/${item.name}`, error: `POST http://127.0.0.1:${port}/webhook/ipai/pipeline/odoo failed (ECONNREFUSED)` }],
		retryNextTick: 1,
	});
});
