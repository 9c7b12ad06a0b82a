/**
 * `npm run workflows:import` against a real n8n 2.40.7 (public API), run as a child process the
 * way a user runs it: a missing credential stops it with the name and type to create; then
 * every template lands once, with the instance's credential ids and workflow ids in place of
 * names and template ids; a second run changes nothing and duplicates nothing; --activate
 * publishes the templates that ask for it.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Template } from '../../lib/workflows/templateManifest';
import { loadTemplates } from '../../lib/workflows/templates';
import type { WorkflowJson } from '../../lib/workflows/workflowTypes';
import { N8nInstance } from '../../tooling/n8n/n8nRuntime';
import { packPackage } from '../../tooling/n8n/pack';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '..', '..');

interface RunResult {
	code: number | null;
	stdout: string;
	stderr: string;
}

/** The command as a user types it (npm run …), or its script line while package.json lacks it. */
function runImport(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
	const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
	const [command, commandArgs] = scripts['workflows:import']
		? ['npm', ['run', '--silent', 'workflows:import', '--', ...args]]
		: [path.join(ROOT, 'node_modules', '.bin', 'ts-node'), ['--transpile-only', 'bin/workflowsImport.ts', ...args]];
	return new Promise((resolve, reject) => {
		const child = spawn(command, commandArgs, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		child.on('error', reject);
		child.on('close', (code) => resolve({ code, stdout, stderr }));
	});
}

function lines(stdout: string): Map<string, string> {
	const bySlug = new Map<string, string>();
	for (const line of stdout.trim().split('\n')) {
		const match = /^(created|updated|unchanged)\s+(\S+)\s+id (\S+)\s+version (\S+)/.exec(line);
		if (match) bySlug.set(match[2], match[1]);
	}
	return bySlug;
}

interface Remote {
	id: string;
	name: string;
	description?: string;
	active: boolean;
	isArchived: boolean;
	nodes: WorkflowJson['nodes'];
	settings: Record<string, unknown>;
}

let n8n: N8nInstance;
let apiKey: string;
let templates: Template[];
const credentialIds = new Map<string, string>(); // `${type}/${name}` → id

beforeAll(async () => {
	templates = loadTemplates().templates;
	n8n = await N8nInstance.create();
	// A prebuilt tarball (e.g. from `npm run pack`) may be given; otherwise the built dist/ is packed.
	await n8n.installPackage(process.env.IPAI_PACKAGE_TARBALL ?? packPackage());
	await n8n.start();
	await n8n.setupOwner();
	apiKey = await n8n.createApiKey('workflows-import');
});

afterAll(async () => {
	await n8n?.dispose();
});

/** Every credential the manifest lists, except `skip`, imported under its name (data is irrelevant here). */
async function importCredentials(skip?: string): Promise<void> {
	const wanted = new Map<string, { type: string; name: string }>();
	for (const { entry } of templates) for (const ref of entry.credentials) wanted.set(`${ref.type}/${ref.name}`, ref);
	const batch: Array<Record<string, unknown>> = [];
	for (const [key, ref] of wanted) {
		if (key === skip || credentialIds.has(key)) continue;
		const id = randomBytes(8).toString('hex');
		credentialIds.set(key, id);
		batch.push({ id, name: ref.name, type: ref.type, data: { placeholder: 'e2e' } });
	}
	if (batch.length > 0) await n8n.importCredentials(batch);
}

async function workflowsNamed(name: string): Promise<Remote[]> {
	const page = (await n8n.publicApi(apiKey, 'GET', `/workflows?name=${encodeURIComponent(name)}&limit=250`)) as { data: Remote[] };
	return page.data.filter((workflow) => workflow.name === name && !workflow.isArchived);
}

it('stops with the missing credential named, and creates nothing', async () => {
	const missing = templates.find((t) => t.entry.credentials.some((c) => c.type === 'ipaiMattermostApi'))!.entry.credentials.find(
		(c) => c.type === 'ipaiMattermostApi',
	)!;
	await importCredentials(`${missing.type}/${missing.name}`);
	const run = await runImport(['--n8n-url', n8n.baseUrl, '--api-key', apiKey]);
	expect(run.code).not.toBe(0);
	expect(run.stderr).toContain(`"${missing.name}" of type ${missing.type}`);
	expect(run.stderr).toMatch(/Create each one in n8n/);
	expect(run.stderr + run.stdout).not.toContain(apiKey);
	const all = (await n8n.publicApi(apiKey, 'GET', '/workflows?limit=250')) as { data: Remote[] };
	expect(all.data).toEqual([]);
});

it('refuses a wrong API key with an actionable message', async () => {
	const run = await runImport(['--n8n-url', n8n.baseUrl, '--api-key', 'not-a-valid-key-123456']);
	expect(run.code).not.toBe(0);
	expect(run.stderr).toMatch(/the API key was refused .*HTTP 401/);
	expect(run.stderr).not.toContain('not-a-valid-key-123456');
});

it('imports every template with the instance ids, then finds nothing to change', async () => {
	await importCredentials();
	const first = await runImport(['--n8n-url', n8n.baseUrl], { N8N_API_KEY: apiKey });
	expect(first.stderr).toBe('');
	expect(first.code).toBe(0);
	expect(first.stdout).not.toContain(apiKey);
	expect([...lines(first.stdout)]).toEqual(templates.map((t) => [t.slug, 'created']));

	const realIds = new Map<string, string>();
	for (const { entry } of templates) {
		const found = await workflowsNamed(entry.name);
		expect(found).toHaveLength(1);
		realIds.set(entry.id, found[0].id);
	}
	for (const { entry, workflow: template } of templates) {
		const remote = (await n8n.publicApi(apiKey, 'GET', `/workflows/${realIds.get(entry.id)}`)) as Remote;
		expect(remote.description).toContain(`template ${entry.id} ${entry.version}`);
		expect(remote.nodes.map((node) => node.id)).toEqual(template.nodes.map((node) => node.id));
		for (const node of remote.nodes) {
			for (const [type, ref] of Object.entries(node.credentials ?? {})) {
				const { id, name } = ref as { id: string; name: string };
				expect({ node: node.name, id }).toEqual({ node: node.name, id: credentialIds.get(`${type}/${name}`) });
			}
			const locator = node.parameters?.workflowId as { value?: string } | undefined;
			const templateLocator = template.nodes.find((n) => n.id === node.id)!.parameters?.workflowId as { value?: string } | undefined;
			if (typeof templateLocator?.value === 'string' && realIds.has(templateLocator.value)) {
				expect(locator?.value).toBe(realIds.get(templateLocator.value));
			}
		}
		const errorWorkflow = template.settings?.errorWorkflow;
		if (typeof errorWorkflow === 'string') expect(remote.settings.errorWorkflow).toBe(realIds.get(errorWorkflow));
	}

	const second = await runImport(['--n8n-url', n8n.baseUrl, '--api-key', apiKey]);
	expect(second.code).toBe(0);
	expect([...lines(second.stdout)]).toEqual(templates.map((t) => [t.slug, 'unchanged']));
	for (const { entry } of templates) expect(await workflowsNamed(entry.name)).toHaveLength(1);
});

it('updates a workflow that was changed in n8n, and activates with --activate', async () => {
	const target = templates.find((t) => t.entry.activate && t.entry.trigger === 'webhook' && t.entry.id === 'ipaiFileUpload') ??
		templates.find((t) => t.entry.activate && t.entry.trigger === 'webhook')!;
	const [remote] = await workflowsNamed(target.entry.name);
	const full = (await n8n.publicApi(apiKey, 'GET', `/workflows/${remote.id}`)) as Remote & { connections: unknown };
	await n8n.publicApi(apiKey, 'PUT', `/workflows/${remote.id}`, {
		name: full.name,
		nodes: full.nodes.map((node, index) => (index === 0 ? { ...node, position: [999, 999] } : node)),
		connections: full.connections,
		settings: full.settings,
	});
	const dryRun = await runImport(['--n8n-url', n8n.baseUrl, '--api-key', apiKey, '--dry-run']);
	expect(dryRun.code).toBe(0);
	expect(dryRun.stdout).toMatch(new RegExp(`^would be updated\\s+${target.slug}\\s`, 'm'));
	expect(dryRun.stdout.match(/^would be unchanged/gm)).toHaveLength(templates.length - 1);
	const untouched = (await n8n.publicApi(apiKey, 'GET', `/workflows/${remote.id}`)) as Remote;
	expect(untouched.nodes[0].position).toEqual([999, 999]);

	const run = await runImport(['--n8n-url', n8n.baseUrl, '--api-key', apiKey, '--activate', '--only', target.slug]);
	expect(run.stderr).toBe('');
	expect(run.code).toBe(0);
	expect([...lines(run.stdout)]).toEqual([[target.slug, 'updated']]);
	expect(run.stdout).toMatch(/active\s*$/m);
	const after = (await n8n.publicApi(apiKey, 'GET', `/workflows/${remote.id}`)) as Remote;
	expect(after.active).toBe(true);
	expect(after.nodes[0].position).toEqual(target.workflow.nodes[0].position);
	expect(await workflowsNamed(target.entry.name)).toHaveLength(1);
});

it('--cli refuses an instance whose workflows were imported through the API, instead of duplicating them', async () => {
	const before = (await n8n.publicApi(apiKey, 'GET', '/workflows?limit=250')) as { data: Remote[] };
	const run = await runImport(['--cli', '--user-folder', n8n.userFolder, '--n8n-bin', n8n.runtime.n8nBin], n8n.baseEnv());
	expect(run.code).not.toBe(0);
	expect(run.stderr).toMatch(/already has "IPAI: .*" \(id \w+\).* under other ids, probably imported through the public API/);
	const after = (await n8n.publicApi(apiKey, 'GET', '/workflows?limit=250')) as { data: Remote[] };
	expect(after.data.length).toBe(before.data.length);
});
