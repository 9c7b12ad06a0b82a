/**
 * URL sources name the file in errors and in the ledger (issue 15, files 6): only the URL's
 * credentials and secret-looking query values are masked, never its scheme, host and path. The
 * File Ingest operation runs with a minimal stand-in for n8n's execute context against a real
 * HTTP server and the real lakehouse.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IExecuteFunctions } from 'n8n-workflow';
import { IpaiFileIngest } from '../../nodes/IpaiFileIngest/IpaiFileIngest.node';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
let server: Server;
let base: string;

beforeAll(async () => {
	server = createServer((req, res) => {
		if (req.url?.startsWith('/exports/empty.csv')) {
			res.writeHead(200, { 'content-type': 'text/csv' }).end('');
			return;
		}
		res.writeHead(404).end('not found');
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

function context(url: string, connectorName: string): IExecuteFunctions {
	const parameters: Record<string, unknown> = {
		source: 'url', url, headers: '{}', schema: 'ipai_bronze_core', table: 'url_probe', connectorName, options: {}, writeMode: 'append',
	};
	return {
		getInputData: () => [{ json: {} }],
		getNode: () => ({ id: 'n', name: 'File Ingest', type: 'n8n-nodes-ipai-lakehouse.ipaiFileIngest', typeVersion: 1, position: [0, 0], parameters: {} }),
		getNodeParameter: (name: string, _i: number, fallback?: unknown) => (name in parameters ? parameters[name] : fallback),
		getCredentials: async () => ({ connectionMode: 'connectionString', connectionString: db.url, ssl: 'disable' }),
		getExecutionId: () => 'exec-url',
		getWorkflow: () => ({ id: 'wf-url', name: 'url names', active: false }),
		continueOnFail: () => false,
	} as unknown as IExecuteFunctions;
}

async function ledgerError(connectorName: string): Promise<string> {
	const { rows } = await db.pool.query(
		`select r.error_message from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
		  where c.name = $1 order by r.started_at desc limit 1`,
		[connectorName],
	);
	return rows[0].error_message;
}

describe('URL sources keep the file name in errors and the ledger', () => {
	it('a plain URL is shown whole', async () => {
		const url = `${base}/exports/2024/missing.csv`;
		const error = await new IpaiFileIngest().execute.call(context(url, 'url-plain')).catch((e: unknown) => e as Error);
		expect((error as Error).message).toContain(`GET ${url} answered HTTP 404`);
		expect(await ledgerError('url-plain')).toContain(`${url} answered HTTP 404`);
	});

	it('a signed URL keeps scheme, host, path and harmless parameters; the signature is masked', async () => {
		const url = `${base}/exports/2024/missing.csv?X-Amz-Date=20240101&X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f0&versionId=7`;
		const error = await new IpaiFileIngest().execute.call(context(url, 'url-signed')).catch((e: unknown) => e as Error);
		const shown = `${base}/exports/2024/missing.csv?X-Amz-Date=20240101&X-Amz-Signature=***&versionId=7`;
		expect((error as Error).message).toContain(`GET ${shown} answered HTTP 404`);
		const ledger = await ledgerError('url-signed');
		expect(ledger).toContain(`${shown} answered HTTP 404`);
		for (const text of [(error as Error).message, ledger]) expect(text).not.toContain('0f1e2d3c4b5a69788796a5b4c3d2e1f0');
	});

	it('a URL with a password: the password is masked, the file still named', async () => {
		const url = `http://bot:S3cretPw@127.0.0.1:${new URL(base).port}/exports/2024/missing.csv`;
		const error = await new IpaiFileIngest().execute.call(context(url, 'url-password')).catch((e: unknown) => e as Error);
		const ledger = await ledgerError('url-password');
		for (const text of [(error as Error).message, ledger]) {
			expect(text).toContain(`http://bot:***@127.0.0.1:${new URL(base).port}/exports/2024/missing.csv`);
			expect(text).not.toContain('S3cretPw');
		}
	});
});
