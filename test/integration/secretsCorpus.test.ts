/**
 * A corpus of secret shapes pushed through every channel that shows or stores text: the run
 * ledger (failRun's error_message and metadata, with no known secrets passed), the audit log,
 * the agent run ledger, Mattermost posts as lib/slo formats them, and node errors. Invariant: the
 * secret part of every shape is absent from what each channel stores or shows.
 *
 * The shapes are written from the providers' documented formats (GitHub token prefixes, AWS
 * access key ids and 40-character secret keys, RFC 7519 JWTs, RFC 7468 PEM blocks, RFC 3986
 * user:password@ in URLs, AWS SigV4 presigned-URL parameters), not from the masking code; fast-check
 * generates the secrets and the text around them.
 */
import fc from 'fast-check';
import type { INode } from 'n8n-workflow';
import { recordRun } from '../../lib/agents/agentRuns';
import { writeAudit } from '../../lib/lakehouse/audit';
import { redact } from '../../lib/lakehouse/connection';
import { failRun, startRun } from '../../lib/lakehouse/runs';
import { maskUrl } from '../../lib/lakehouse/secrets';
import { buildMessagePost, buildPost } from '../../lib/slo/mattermostPosts';
import type { DueNotification } from '../../lib/slo/types';
import { nodeError } from '../../nodes/shared/lakehouse';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const chars = (alphabet: string, min: number, max: number) =>
	fc.array(fc.constantFrom(...alphabet.split('')), { minLength: min, maxLength: max }).map((a) => a.join(''));
/** A password as people choose them: letters, digits and punctuation that needs no quoting. */
const password = chars(`${ALNUM}!#$%^*-_+.~`, 12, 32).filter((s) => /[A-Za-z0-9]{4}/.test(s));
const alnum = (n: number, m = n) => chars(ALNUM, n, m);
const upperDigits = (n: number) => chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', n, n);
const base64url = (n: number, m: number) => chars(`${ALNUM}-_`, n, m);
const hex = (n: number) => chars('0123456789abcdef', n, n);
/** AWS secret access keys: 40 characters of base64, which in practice mix cases and digits. */
const awsSecret = chars(`${ALNUM}/+`, 40, 40).filter((s) => /[a-z]/.test(s) && /[A-Z]/.test(s) && /[0-9]/.test(s));

interface Shape {
	name: string;
	/** The text as it would appear, and the parts of it that must not survive. */
	make: fc.Arbitrary<{ text: string; secrets: string[] }>;
}

const kv = (render: (s: string) => string) => password.map((s) => ({ text: render(s), secrets: [s] }));

const SHAPES: Shape[] = [
	{ name: 'password=', make: kv((s) => `password=${s}`) },
	{ name: 'pwd=', make: kv((s) => `Server=db;Uid=app;Pwd=${s};`) },
	{ name: 'secret=', make: kv((s) => `secret=${s}`) },
	{ name: 'token=', make: kv((s) => `token=${s}`) },
	{ name: 'api_key=', make: kv((s) => `api_key=${s}`) },
	{ name: 'password: (YAML, logs)', make: kv((s) => `password: ${s}`) },
	{ name: 'JSON "password":"…"', make: kv((s) => `{"user":"app","password":"${s}"}`) },
	{ name: 'JSON "client_secret"', make: kv((s) => `{"client_secret": "${s}", "client_id": "abc"}`) },
	{ name: 'aws_secret_access_key =', make: awsSecret.map((s) => ({ text: `aws_secret_access_key = ${s}`, secrets: [s] })) },
	{ name: 'Authorization: Bearer', make: base64url(20, 60).map((s) => ({ text: `Authorization: Bearer ${s}`, secrets: [s] })) },
	{
		name: 'Authorization: Basic',
		make: fc.tuple(alnum(4, 10), password).map(([u, p]) => {
			const b = Buffer.from(`${u}:${p}`).toString('base64');
			return { text: `Authorization: Basic ${b}`, secrets: [b] };
		}),
	},
	{ name: 'Authorization: token', make: alnum(40).map((s) => ({ text: `curl -H 'Authorization: token ${s}' https://api.github.com`, secrets: [s] })) },
	{ name: 'JSON headers Authorization', make: base64url(20, 60).map((s) => ({ text: `{"headers":{"Authorization":"Bearer ${s}"}}`, secrets: [s] })) },
	{ name: 'bare Bearer', make: base64url(20, 60).map((s) => ({ text: `sent Bearer ${s} to the API`, secrets: [s] })) },
	...['ghp', 'gho', 'ghs', 'ghu', 'ghr'].map((p) => ({ name: `${p}_ token`, make: alnum(36).map((s) => ({ text: `${p}_${s}`, secrets: [s] })) })),
	{ name: 'github_pat_', make: fc.tuple(alnum(22), alnum(59)).map(([a, b]) => ({ text: `github_pat_${a}_${b}`, secrets: [a, b] })) },
	{ name: 'AWS access key id', make: upperDigits(16).map((s) => ({ text: `AKIA${s}`, secrets: [`AKIA${s}`] })) },
	{ name: 'AWS secret key alone', make: awsSecret.map((s) => ({ text: `credentials ${s} rejected`, secrets: [s] })) },
	{
		name: 'PEM private key',
		make: fc.array(chars(`${ALNUM}+/`, 64, 64), { minLength: 2, maxLength: 5 }).map((lines) => ({
			text: `-----BEGIN RSA PRIVATE KEY-----\n${lines.join('\n')}\n-----END RSA PRIVATE KEY-----`,
			secrets: lines,
		})),
	},
	{
		name: 'PEM private key cut short',
		make: chars(`${ALNUM}+/`, 64, 64).map((line) => ({ text: `key: -----BEGIN PRIVATE KEY-----\n${line}`, secrets: [line] })),
	},
	{
		name: 'JWT',
		make: fc.tuple(base64url(10, 40), base64url(10, 80), base64url(20, 60)).map(([h, p, s]) => {
			const token = `eyJ${h}.eyJ${p}.${s}`;
			return { text: token, secrets: [token, s] };
		}),
	},
	{ name: 'postgres URL', make: alnum(12, 30).map((s) => ({ text: `postgres://ingest:${s}@db.example.com:5432/lake`, secrets: [s] })) },
	{ name: 'mysql URL', make: alnum(12, 30).map((s) => ({ text: `mysql://root:${s}@10.0.0.5/app`, secrets: [s] })) },
	{ name: 'https user:password', make: alnum(12, 30).map((s) => ({ text: `https://bot:${s}@files.example.com/a.csv`, secrets: [s] })) },
	{
		name: 'S3 presigned URL',
		make: fc.tuple(hex(64), upperDigits(16)).map(([sig, key]) => ({
			text: `GET https://bucket.s3.amazonaws.com/data/flights.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA${key}%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=${sig} failed`,
			secrets: [sig, `AKIA${key}`],
		})),
	},
	{ name: 'Azure SAS sig=', make: base64url(30, 50).map((s) => ({ text: `https://acct.blob.core.windows.net/c/f.csv?sv=2022&sig=${s}`, secrets: [s] })) },
	{ name: 'Mattermost webhook', make: chars('abcdefghijklmnopqrstuvwxyz0123456789', 26, 26).map((s) => ({ text: `POST https://mm.example.com/hooks/${s} answered 500`, secrets: [s] })) },
];

/** Text around the secret: anything printable, kept apart from it by a space. */
const around = fc.string({ maxLength: 40 });
const corpusEntry = fc.tuple(fc.constantFrom(...SHAPES), around, around).chain(([shape, before, after]) =>
	shape.make.map((made) => ({ shape: shape.name, text: `${before} ${made.text} ${after}`, secrets: made.secrets })),
);

function expectClean(channel: string, shown: string, entry: { shape: string; text: string; secrets: string[] }): void {
	for (const secret of entry.secrets) {
		if (shown.includes(secret)) {
			throw new Error(`${channel}: the secret of shape "${entry.shape}" survived in ${JSON.stringify(shown)} (input ${JSON.stringify(entry.text)})`);
		}
	}
}

const NODE: INode = { id: 'n1', name: 'IPAI Connector Run', type: 'n8n-nodes-ipai-lakehouse.ipaiConnectorRun', typeVersion: 1, position: [0, 0], parameters: {} };

function notification(message: string): DueNotification {
	return {
		id: 'n', fingerprint: 'f'.repeat(32), kind: 'firing', severity: 'page', episode: '1', dedupKey: 'firing:1', attempts: 0, lastError: null,
		createdAt: new Date(0).toISOString(),
		payload: {
			title: `odoo/prod failing: ${message}`, summary: message, slo: 'connector-run-success', sloDescription: message, objective: 0.99,
			periodSeconds: 7 * 86400, target: { kind: 'connector', id: 'c', type: 'odoo', name: 'prod' } as never, burnRate: 20,
			firingWindows: [], errorBudgetRemaining: 0.5,
			failingConnectors: [{ name: 'prod', type: 'odoo', lastError: { message, executionUrl: null } as never }],
			runbookUrl: null, executionUrl: null, labels: {},
		},
	};
}

describe('secrets corpus through every channel', () => {
	it('every shape is masked in texts meant for people (redact, node errors, Mattermost posts)', () => {
		fc.assert(
			fc.property(corpusEntry, (entry) => {
				expectClean('redact', redact(entry.text), entry);
				const error = nodeError(NODE, new Error(entry.text), 0, []);
				expectClean('node error', `${error.message} ${error.description ?? ''}`, entry);
				expectClean('Mattermost page', JSON.stringify(buildPost(notification(entry.text))), entry);
				expectClean('Mattermost message', JSON.stringify(buildMessagePost({ title: entry.text, text: entry.text, severity: 'page', fields: [{ title: 'Error', value: entry.text }] })), entry);
			}),
			{ numRuns: 2000 },
		);
	});

	it('every shape is masked in the run ledger, the audit log and the agent run ledger', async () => {
		const { rows } = await db.pool.query<{ id: string }>(
			`insert into public.ipai_agent (code_name, display_name, agent_type) values ('corpus', 'Corpus', 'custom') returning id`,
		);
		const agentId = rows[0].id;
		await fc.assert(
			fc.asyncProperty(corpusEntry, async (entry) => {
				const started = await startRun(db.pool, { connector: { connectorType: 'corpus', name: 'ledger' } });
				if (started.status !== 'running') throw new Error('the corpus connector is busy');
				const failed = await failRun(db.pool, started.runId, { error: new Error(entry.text), metadata: { note: entry.text } });
				expectClean('failRun result', failed.errorMessage, entry);
				const run = await db.pool.query(`select error_message, metadata::text as metadata from public.ipai_connector_run where id = $1`, [started.runId]);
				expectClean('ipai_connector_run.error_message', run.rows[0].error_message, entry);
				expectClean('ipai_connector_run.metadata', run.rows[0].metadata, entry);

				const client = await db.pool.connect();
				try {
					await writeAudit(client, { eventType: 'app_action', entityType: 'app', action: 'corpus', details: { message: entry.text, nested: [{ text: entry.text }] } });
				} finally {
					client.release();
				}
				const agentRun = await recordRun(db.pool, agentId, {}, { status: 'failed', startedAt: new Date(), errorMessage: entry.text, metadata: { detail: entry.text } });
				const agent = await db.pool.query(`select error_message from public.ipai_agent_run where id = $1`, [agentRun]);
				expectClean('ipai_agent_run.error_message', agent.rows[0].error_message, entry);

				const audit = await db.pool.query(
					`select string_agg(action || ' ' || coalesce(details::text, ''), ' ') as text from public.ipai_audit_log
					  where details->>'run_id' in ($1, $2) or action = 'corpus'`,
					[started.runId, agentRun],
				);
				expectClean('ipai_audit_log', audit.rows[0].text, entry);
			}),
			{ numRuns: 150 },
		);
	}, 300_000);

	it('keeps what a person needs: key names, auth schemes, URL scheme, host and path', () => {
		expect(redact('connect failed: password=Sup3rS3cret host=db')).toBe('connect failed: password=*** host=db');
		expect(redact('{"password":"Sup3r S3cret","user":"bob"}')).toBe('{"password":"***","user":"bob"}');
		expect(redact('Authorization: Bearer abcdefghijklmnop')).toBe('Authorization: Bearer ***');
		expect(redact('postgres://ingest:pw@db.example.com/lake')).toBe('postgres://ingest:***@db.example.com/lake');
		expect(redact('password authentication failed for user "ingest"')).toBe('password authentication failed for user "ingest"');
		expect(redact('duplicate key value violates unique constraint, Key (id)=(5) already exists')).toBe('duplicate key value violates unique constraint, Key (id)=(5) already exists');
		expect(redact('commit 3f786850e387550fdab836ed7e6dc881de23001b')).toBe('commit 3f786850e387550fdab836ed7e6dc881de23001b');
		expect(maskUrl('https://bucket.s3.amazonaws.com/data/2024/flights.csv?X-Amz-Signature=deadbeef&X-Amz-Date=20240101&versionId=3')).toBe(
			'https://bucket.s3.amazonaws.com/data/2024/flights.csv?X-Amz-Signature=***&X-Amz-Date=20240101&versionId=3',
		);
		expect(maskUrl('https://u:p4ss@files.example.com/exports/a.csv')).toBe('https://u:***@files.example.com/exports/a.csv');
	});
});
