/**
 * File runs record their source (issue 23), driven through the File Ingest node's own code with a
 * minimal stand-in for n8n's IExecuteFunctions (as fileIngestNode.test.ts), against a real
 * PostgreSQL:
 *   - two file connectors reading two buckets on the same S3 endpoint (down) record the same
 *     source, and their burn-rate pages are announced as one group alert by lib/slo/grouping.ts;
 *   - a signed URL's query values (signature, credential) never land in the run row, whether the
 *     download succeeds or is refused; the run's source is the URL's origin only;
 *   - binary data records no source.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { IpaiFileIngest } from '../../nodes/IpaiFileIngest/IpaiFileIngest.node';
import { runEvaluation } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { addRuns, DAY, HOUR, MINUTE } from './sloHelpers';

jest.setTimeout(120_000);
const db = useScratchDatabase();

let executions = 0;
async function runNode(parameters: Record<string, unknown>, s3?: Record<string, unknown>, items: INodeExecutionData[] = [{ json: {} }]): Promise<Error | undefined> {
	const params: Record<string, unknown> = { schema: 'ipai_bronze_core', writeMode: 'append', onBadRow: 'fail', runId: '', options: {}, headers: '{}', ...parameters };
	const fn = {
		getInputData: () => items,
		getNode: () => ({ id: 'n1', name: 'IPAI File Ingest', type: 'n8n-nodes-ipai-lakehouse.ipaiFileIngest', typeVersion: 1, position: [0, 0], parameters: {} }),
		getNodeParameter: (name: string, _i: number, fallback?: unknown) => (name in params ? params[name] : fallback),
		getCredentials: async (name: string) => (name === 'ipaiS3Api' ? s3 : { connectionMode: 'connectionString', connectionString: db.url, ssl: 'disable' }),
		continueOnFail: () => false,
		getExecutionId: () => `src-${++executions}`,
		getWorkflow: () => ({ id: 'wf-src', name: 'test', active: false }),
		helpers: { assertBinaryData: (i: number, property: string) => items[i].binary![property] },
	} as unknown as IExecuteFunctions;
	try {
		await new IpaiFileIngest().execute.call(fn);
		return undefined;
	} catch (error) {
		return error as Error;
	}
}

async function runRows(connector: string): Promise<Array<{ id: string; connector_id: string; status: string; source: string | null; row: string }>> {
	const { rows } = await db.pool.query(
		`select r.id, r.connector_id, r.status, r.metadata ->> 'source' as source, to_jsonb(r)::text as row
		   from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
		  where c.connector_type = 'file' and c.name = $1 order by r.started_at`,
		[connector],
	);
	return rows;
}

describe('S3 file connectors on one endpoint', () => {
	it('record the same source and page as one group alert', async () => {
		// An endpoint nothing listens on: the outage every bucket on it shares.
		const probe = createServer();
		probe.listen(0, '127.0.0.1');
		await once(probe, 'listening');
		const port = (probe.address() as { port: number }).port;
		await new Promise<void>((resolve) => probe.close(() => resolve()));
		const endpoint = `http://127.0.0.1:${port}`;
		const s3 = { endpoint, region: 'us-east-1', accessKeyId: 'AKIASOURCETEST', secretAccessKey: 's3-secret-never-stored', forcePathStyle: true };
		for (const [name, bucket] of [['exports-a', 'bucket-a'], ['exports-b', 'bucket-b']]) {
			const error = await runNode({ source: 's3', bucket, prefix: 'daily/', table: name, connectorName: name }, s3);
			expect(error).toBeDefined();
		}
		const a = await runRows('exports-a');
		const b = await runRows('exports-b');
		expect(a.map((r) => `${r.status} ${r.source}`)).toEqual([`failed s3 ${endpoint}/`]);
		expect(b.map((r) => `${r.status} ${r.source}`)).toEqual([`failed s3 ${endpoint}/`]);
		for (const r of [...a, ...b]) expect(r.row).not.toContain('s3-secret-never-stored');

		// A week of history around those runs, the last hour failing, with the source the node recorded.
		const now = Date.now() + MINUTE;
		for (const r of [a[0], b[0]]) {
			await db.pool.query(`update public.ipai_connector_config set created_at = $2 where id = $1`, [r.connector_id, new Date(now - 30 * DAY)]);
			const metadata = { source: r.source };
			await addRuns(db.pool, r.connector_id, { from: now - 3 * DAY, to: now - HOUR, every: 5 * MINUTE, metadata });
			await addRuns(db.pool, r.connector_id, { from: now - HOUR, to: now - 2 * MINUTE, every: 5 * MINUTE, status: () => 'failed', error: 'connect ECONNREFUSED', metadata });
		}
		await runEvaluation(db.pool, { slos: ['connector-run-success'], now: new Date(now) });
		const { rows } = await db.pool.query<{ labels: Record<string, string> }>(
			`select labels from public.ipai_alert where state = 'firing' and labels ->> 'severity' = 'page' order by labels ->> 'connector' nulls first`,
		);
		const group = rows.filter((r) => r.labels.alertgroup);
		expect(group.map((r) => r.labels.source)).toEqual([`s3 ${endpoint}/`]);
		const members = rows.filter((r) => !r.labels.alertgroup);
		expect(members.map((r) => `${r.labels.connector_type}/${r.labels.connector} ${r.labels.source}`)).toEqual([
			`file/exports-a s3 ${endpoint}/`,
			`file/exports-b s3 ${endpoint}/`,
		]);
	});
});

describe('URL ingest', () => {
	let server: Server;
	let base = '';
	beforeAll(async () => {
		server = createServer((req, res): void => {
			if (!req.url?.includes('X-Amz-Signature=sig-s3cr3t-value')) {
				res.writeHead(403).end();
				return;
			}
			const body = 'id,name\n1,a\n2,b\n';
			res.writeHead(200, { 'content-length': Buffer.byteLength(body), 'content-type': 'text/csv' });
			res.end(req.method === 'HEAD' ? undefined : body);
		});
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
	});
	afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

	it("records the URL's origin, and no value of a signed URL's query lands in the run row, on success or refusal", async () => {
		const query = 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAURLCRED%2F20260301&X-Amz-Signature=sig-s3cr3t-value';
		expect(await runNode({ source: 'url', url: `${base}/exports/orders.csv?${query}`, table: 'signed_ok', connectorName: 'signed-url' })).toBeUndefined();
		const refused = await runNode({ source: 'url', url: `${base}/exports/orders.csv?${query.replace('sig-s3cr3t-value', 'sig-s3cr3t-wrong')}`, table: 'signed_ok', connectorName: 'signed-url' });
		expect(refused?.message).toMatch(/403/);
		const rows = await runRows('signed-url');
		expect(rows.map((r) => `${r.status} ${r.source}`)).toEqual([`success url ${base}/`, `failed url ${base}/`]);
		// The source holds no query at all; the refusal's error names the file with the query's values
		// masked (maskUrl), so neither the signature nor the credential is anywhere in the row.
		for (const r of rows) {
			expect(r.source).not.toContain('?');
			for (const secret of ['sig-s3cr3t', 'AKIAURLCRED', '20260301']) expect(r.row).not.toContain(secret);
		}
	});

	it('binary data records no source', async () => {
		const items = [{ json: {}, binary: { data: { data: Buffer.from('id\n1\n').toString('base64'), mimeType: 'text/csv', fileName: 'upload.csv' } } }];
		expect(await runNode({ source: 'binary', binaryPropertyName: 'data', table: 'uploaded', connectorName: 'uploads' }, undefined, items)).toBeUndefined();
		expect((await runRows('uploads')).map((r) => `${r.status} ${r.source}`)).toEqual(['success null']);
	});
});
