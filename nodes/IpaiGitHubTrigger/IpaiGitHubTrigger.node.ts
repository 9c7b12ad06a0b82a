/**
 * IPAI GitHub Trigger: receives GitHub webhook deliveries.
 *
 * Per delivery: verify X-Hub-Signature-256 over the raw body (constant time) — a bad or missing
 * signature gets 401 and never reaches the lakehouse or the workflow; land the event in
 * ipai_bronze_devops.github_events keyed by X-GitHub-Delivery with INSERT … ON CONFLICT DO
 * NOTHING, so a redelivery (same GUID) answers 200 "duplicate" without starting the workflow;
 * then start the workflow with the event. n8n answers as soon as the workflow is started
 * (responseMode onReceived), well inside GitHub's 10 s: the only work before that is one insert.
 * Dedup lives in the lakehouse, not in workflow static data, so it holds across n8n mains and
 * restarts. Optionally registers the repository webhook on activation and removes it on
 * deactivation (the hook id is the only thing kept in static data).
 */
import type {
	IDataObject,
	IHookFunctions,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import { openPool, safeError } from '../../lib/lakehouse/connection';
import { GitHubApiError } from '../../lib/sources/github/client';
import { deliveryHeaders, eventRecord, landEvent, verifySignature } from '../../lib/sources/github/webhooks';
import { keepHeadline } from '../shared/items';
import { connectionOptions, LAKEHOUSE_CREDENTIAL } from '../shared/lakehouse';
import { credentialTest, loadOptions } from '../IpaiGitHub/methods';
import { GITHUB_CREDENTIAL, gitHubClient, gitHubSecrets } from '../IpaiGitHub/transport';

const EVENTS = [
	'*', 'check_run', 'check_suite', 'create', 'delete', 'deployment', 'deployment_status', 'issue_comment', 'issues', 'label',
	'member', 'milestone', 'pull_request', 'pull_request_review', 'pull_request_review_comment', 'push', 'release', 'repository',
	'star', 'workflow_job', 'workflow_run',
];

export class IpaiGitHubTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI GitHub Trigger',
		name: 'ipaiGitHubTrigger',
		icon: { light: 'file:github.svg', dark: 'file:github.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{ $parameter["registerWebhook"] ? $parameter["repository"] : "GitHub webhook" }}',
		description: 'Receive GitHub webhook deliveries: verified, de-duplicated and landed in the IPAI lakehouse',
		defaults: { name: 'IPAI GitHub Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: LAKEHOUSE_CREDENTIAL, displayName: 'Lakehouse (Events Land Here)', required: true, testedBy: 'lakehouseConnectionTest' },
			{ name: GITHUB_CREDENTIAL, displayName: 'GitHub (Webhook Secret, Hook Registration)', required: false, testedBy: 'gitHubConnectionTest' },
		],
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'webhook' }],
		properties: [
			{
				displayName:
					'GitHub signs every delivery with the webhook\'s secret. Set the same secret below or in the IPAI GitHub credential: deliveries whose signature does not match are refused with 401 and never reach the workflow.',
				name: 'secretNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Webhook Secret',
				name: 'secret',
				type: 'string',
				typeOptions: { password: true },
				default: '',
				description: 'The secret set on the GitHub webhook; empty uses the IPAI GitHub credential\'s Webhook Secret. Deliveries whose X-Hub-Signature-256 does not match are refused with 401.',
			},
			{
				displayName: 'Connector Name',
				name: 'connectorName',
				type: 'string',
				default: 'github-webhook',
				description: 'Events land under this github_webhook connector; deliveries are de-duplicated per connector',
			},
			{
				displayName: 'Register Webhook on Activation',
				name: 'registerWebhook',
				type: 'boolean',
				default: false,
				description: 'Whether to create the repository webhook when the workflow is activated and delete it when deactivated (needs Webhooks: write)',
			},
			{
				displayName: 'Repository Name or ID',
				name: 'repository',
				type: 'options',
				typeOptions: { loadOptionsMethod: 'getRepositories' },
				default: '',
				required: true,
				description: 'The repository (owner/name) to register the webhook on. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
				displayOptions: { show: { registerWebhook: [true] } },
			},
			{
				displayName: 'Events',
				name: 'events',
				type: 'multiOptions',
				options: EVENTS.map((e) => ({ name: e === '*' ? 'All Events' : e, value: e })),
				default: ['*'],
				displayOptions: { show: { registerWebhook: [true] } },
			},
		],
	};

	methods = { credentialTest, loadOptions };

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				if (!this.getNodeParameter('registerWebhook', false)) return true; // nothing to register
				const data = this.getWorkflowStaticData('node');
				if (data.webhookId === undefined) return false;
				const client = gitHubClient(await this.getCredentials(GITHUB_CREDENTIAL), { maxWaitSeconds: 30 });
				try {
					await client.get(`/repos/${repositoryOf(this)}/hooks/${data.webhookId}`);
					return true;
				} catch (error) {
					if (error instanceof GitHubApiError && error.status === 404) {
						delete data.webhookId;
						return false;
					}
					throw error;
				}
			},
			async create(this: IHookFunctions): Promise<boolean> {
				const credentials = await this.getCredentials(GITHUB_CREDENTIAL);
				const client = gitHubClient(credentials, { maxWaitSeconds: 30 });
				const url = this.getNodeWebhookUrl('default')!;
				const repository = repositoryOf(this);
				const body = {
					name: 'web',
					active: true,
					events: this.getNodeParameter('events', ['*']) as string[],
					config: { url, content_type: 'json', secret: await webhookSecret(this), insecure_ssl: '0' },
				};
				const data = this.getWorkflowStaticData('node');
				try {
					const created = await client.send<{ id: number }>('POST', `/repos/${repository}/hooks`, body);
					data.webhookId = created.data.id;
					return true;
				} catch (error) {
					if (error instanceof GitHubApiError && error.status === 422) {
						// "Hook already exists": adopt the hook that points at this URL.
						const hooks = await client.get<Array<{ id: number; config?: { url?: string } }>>(`/repos/${repository}/hooks`, { per_page: 100 });
						const existing = hooks.data.find((h) => h.config?.url === url);
						if (existing) {
							data.webhookId = existing.id;
							return true;
						}
					}
					const safe = safeError(error, gitHubSecrets(credentials));
					throw keepHeadline(
						new NodeOperationError(this.getNode(), safe, {
							description: 'Registering the webhook needs admin rights on the repository (classic token: admin:repo_hook; fine-grained or App: Webhooks: write)',
						}),
						safe.message,
					);
				}
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				const data = this.getWorkflowStaticData('node');
				if (data.webhookId === undefined) return true;
				const client = gitHubClient(await this.getCredentials(GITHUB_CREDENTIAL), { maxWaitSeconds: 30 });
				try {
					await client.send('DELETE', `/repos/${repositoryOf(this)}/hooks/${data.webhookId}`);
				} catch (error) {
					if (!(error instanceof GitHubApiError && error.status === 404)) return false;
				}
				delete data.webhookId;
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const req = this.getRequestObject();
		const res = this.getResponseObject();
		const reply = (status: number, body: IDataObject): IWebhookResponseData => {
			res.status(status).json(body);
			return { noWebhookResponse: true };
		};
		// The signature covers the bytes GitHub sent: never re-serialise the parsed JSON.
		const raw = (req as unknown as { rawBody?: Buffer }).rawBody;
		if (!Buffer.isBuffer(raw)) return reply(400, { message: 'No raw request body to verify' });
		const headers = this.getHeaderData() as Record<string, unknown>;
		// No secret anywhere → '' → refused with "no webhook secret is configured".
		const check = verifySignature(await webhookSecret(this).catch(() => ''), raw, headers['x-hub-signature-256'] as string | undefined);
		if (!check.valid) return reply(401, { message: `Signature refused: ${check.reason}` });
		const delivery = deliveryHeaders(headers);
		if ('error' in delivery) return reply(400, { message: delivery.error });

		let payload: Record<string, unknown>;
		try {
			const text = raw.toString('utf8');
			// GitHub sends application/json, or a form field `payload` for application/x-www-form-urlencoded hooks.
			payload = text.startsWith('payload=') ? JSON.parse(new URLSearchParams(text).get('payload') ?? '{}') : JSON.parse(text);
		} catch {
			return reply(400, { message: 'The body is not JSON' });
		}
		const event = eventRecord(delivery, payload);
		const credentials = await this.getCredentials(LAKEHOUSE_CREDENTIAL);
		const pool = openPool({ ...connectionOptions(credentials), maxConnections: 1 });
		try {
			const landed = await landEvent(pool, { name: (this.getNodeParameter('connectorName', 'github-webhook') as string) || 'github-webhook' }, event, delivery);
			if (!landed.inserted) return reply(200, { status: 'duplicate', delivery: delivery.deliveryId });
			return { workflowData: [this.helpers.returnJsonArray([{ ...event, connector_id: landed.connectorId } as unknown as IDataObject])] };
		} catch (error) {
			// 500: GitHub marks the delivery failed, and it can be redelivered once the lakehouse is back.
			const safe = safeError(error, [String(credentials.password ?? ''), String(credentials.connectionString ?? '')].filter(Boolean));
			return reply(500, { message: `Could not land the delivery in the lakehouse: ${safe.message}` });
		} finally {
			await pool.end().catch(() => undefined);
		}
	}
}

/** The node's own secret, else the credential's; none at all is refused (an unsigned hook is open to anyone). */
async function webhookSecret(fn: IHookFunctions | IWebhookFunctions): Promise<string> {
	const own = (fn.getNodeParameter('secret', '') as string).trim();
	if (own) return own;
	const fromCredential = String((await fn.getCredentials(GITHUB_CREDENTIAL)).webhookSecret ?? '').trim();
	if (fromCredential) return fromCredential;
	throw new NodeOperationError(fn.getNode(), 'No webhook secret: set Webhook Secret on the node or on the IPAI GitHub credential');
}

function repositoryOf(fn: IHookFunctions): string {
	const repository = (fn.getNodeParameter('repository', '') as string).trim();
	if (!/^[\w.-]+\/[\w.-]+$/.test(repository)) {
		throw new NodeOperationError(fn.getNode(), `"${repository}" is not a repository; use owner/name`);
	}
	return repository;
}
