/**
 * Every template in workflows/manifest.json against the conventions (lib/workflows/templates.ts)
 * and against the node descriptions n8n will use (tooling/workflows/validate.ts): ours from the node
 * classes, n8n's from the installed n8n 2.40.7. A renamed parameter breaks this test, not a
 * user's import. Synthetic templates show each kind of mistake is caught with a clear message.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkTemplates } from '../../lib/workflows/templateChecks';
import { MissingCredentialsError, rewriteForImport } from '../../lib/workflows/templateImport';
import { type ManifestEntry, type Template, TemplateError } from '../../lib/workflows/templateManifest';
import { loadTemplates, orderTemplates } from '../../lib/workflows/templates';
import { validateWorkflow } from '../../tooling/workflows/validate';
import type { WorkflowJson } from '../../lib/workflows/workflowTypes';
import { ensureN8nInstalled } from '../../tooling/n8n/n8nRuntime';
import { loadRegistry } from '../../tooling/workflows/nodeDescriptions';

const WORKFLOWS = path.resolve(__dirname, '..', '..', 'workflows');

// n8n's own node descriptions come from the n8n the e2e tests run (installed on first use).
beforeAll(() => ensureN8nInstalled(), 20 * 60_000);

function messages(workflow: WorkflowJson): string[] {
	return validateWorkflow(workflow, loadRegistry()).map((problem) => `${problem.node ? `node "${problem.node}": ` : ''}${problem.message}`);
}

// A small valid pipeline: Schedule → Connector Run start → Odoo sync, with an error workflow.
function pipeline(): WorkflowJson {
	return {
		id: 'ipaiTestPipeline',
		name: 'IPAI: test pipeline',
		nodes: [
			{
				id: '00000000-0000-4000-8000-000000000001',
				name: 'Every 15 minutes',
				type: 'n8n-nodes-base.scheduleTrigger',
				typeVersion: 1.2,
				position: [0, 0],
				parameters: { rule: { interval: [{ field: 'minutes', minutesInterval: 15 }] } },
			},
			{
				id: '00000000-0000-4000-8000-000000000002',
				name: 'Start run',
				type: 'n8n-nodes-ipai-lakehouse.ipaiConnectorRun',
				typeVersion: 1,
				position: [220, 0],
				parameters: { operation: 'start', connectorType: 'odoo', connectorName: 'odoo-finance', leaseTimeoutSeconds: 900 },
				credentials: { ipaiLakehouseApi: { name: 'IPAI Lakehouse' } },
			},
			{
				id: '00000000-0000-4000-8000-000000000003',
				name: 'Run child',
				type: 'n8n-nodes-base.executeWorkflow',
				typeVersion: 1.2,
				position: [440, 0],
				parameters: { workflowId: { __rl: true, mode: 'id', value: 'ipaiTestChild' }, options: {} },
			},
		],
		connections: {
			'Every 15 minutes': { main: [[{ node: 'Start run', type: 'main', index: 0 }]] },
			'Start run': { main: [[{ node: 'Run child', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1', errorWorkflow: 'ipaiTestError' },
		meta: { templateVersion: '1.2.0' },
		tags: [],
	};
}

function child(id: string, name: string): WorkflowJson {
	return {
		id,
		name,
		nodes: [
			{
				id: '00000000-0000-4000-8000-0000000000a1',
				name: 'Manual',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			},
		],
		connections: {},
		settings: { executionOrder: 'v1' },
		meta: { templateVersion: '1.0.0' },
		tags: [],
	};
}

function entry(file: string, workflow: WorkflowJson, overrides: Partial<ManifestEntry> = {}): ManifestEntry {
	return {
		file,
		id: workflow.id!,
		name: workflow.name!,
		version: String((workflow.meta as { templateVersion: string }).templateVersion),
		description: 'test',
		trigger: 'schedule',
		credentials: [],
		activate: false,
		...overrides,
	};
}

function fixture() {
	const main = pipeline();
	const childWf = child('ipaiTestChild', 'IPAI: test child');
	const errorWf = child('ipaiTestError', 'IPAI: test error');
	const manifest = {
		package: 'n8n-nodes-ipai-lakehouse',
		templates: [
			entry('pipeline.json', main, { credentials: [{ type: 'ipaiLakehouseApi', name: 'IPAI Lakehouse' }] }),
			entry('child.json', childWf),
			entry('error.json', errorWf, { trigger: 'error' }),
		],
	};
	const files = new Map<string, unknown>([
		['pipeline.json', main],
		['child.json', childWf],
		['error.json', errorWf],
	]);
	return { manifest, files, main };
}

describe('workflow templates in workflows/', () => {
	it('n8n is installed (its node descriptions are the reference)', () => {
		// Fails, not skips, without n8n: the message says to run scripts/n8n-runtime.sh install.
		expect(loadRegistry().versionsOf('n8n-nodes-base.executeWorkflow').length).toBeGreaterThan(0);
	});

	it('the manifest and every template follow the conventions', () => {
		let problems: string[] = [];
		try {
			loadTemplates(WORKFLOWS);
		} catch (error) {
			if (!(error instanceof TemplateError)) throw error;
			problems = error.problems.length > 0 ? error.problems : [error.message];
		}
		expect(problems).toEqual([]);
	});

	it('every template is valid against the node descriptions of its node versions', () => {
		// Every workflow file, listed in the manifest or not (the test above catches unlisted ones).
		const files = fs.readdirSync(WORKFLOWS).filter((file) => file.endsWith('.json') && file !== 'manifest.json');
		expect(files.length).toBeGreaterThan(0);
		const problems = files.flatMap((file) => {
			const workflow = JSON.parse(fs.readFileSync(path.join(WORKFLOWS, file), 'utf8')) as WorkflowJson;
			return messages(workflow).map((message) => `${file}: ${message}`);
		});
		expect(problems).toEqual([]);
	});

	it('referenced templates come before the templates that refer to them', () => {
		const { templates } = loadTemplates(WORKFLOWS);
		const position = new Map(templates.map((template, index) => [template.entry.id, index]));
		for (const template of templates) {
			const errorWorkflow = template.workflow.settings?.errorWorkflow;
			if (typeof errorWorkflow === 'string') expect(position.get(errorWorkflow)!).toBeLessThan(position.get(template.entry.id)!);
		}
	});
});

describe('template conventions (synthetic templates)', () => {
	it('accepts a valid set', () => {
		const { manifest, files } = fixture();
		expect(checkTemplates(manifest, files, [...files.keys()])).toEqual([]);
	});

	it('refuses a credential with an id, naming the node', () => {
		const { manifest, files, main } = fixture();
		main.nodes[1].credentials = { ipaiLakehouseApi: { id: '42', name: 'IPAI Lakehouse' } };
		expect(checkTemplates(manifest, files).join('\n')).toMatch(/node "Start run": credential ipaiLakehouseApi "IPAI Lakehouse" has an "id"/);
	});

	it('refuses secret literals, and accepts expressions and secret names', () => {
		const { manifest, files, main } = fixture();
		main.nodes[1].parameters = {
			...main.nodes[1].parameters,
			apiToken: 'abc123',
			options: { headerAuth: { password: 'hunter2' } },
			connectionString: 'postgres://ipai:s3cret@db.example.com:5432/postgres',
			note: 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
			tokenName: 'github_token',
			secretExpr: '={{ $json.secretName }}',
		};
		const problems = checkTemplates(manifest, files).join('\n');
		expect(problems).toMatch(/node "Start run"\.parameters\.apiToken holds a literal value/);
		expect(problems).toMatch(/parameters\.options\.headerAuth\.password holds a literal value/);
		expect(problems).toMatch(/parameters\.connectionString contains what looks like a URL with a password/);
		expect(problems).toMatch(/parameters\.note contains what looks like a GitHub token/);
		expect(problems).not.toMatch(/tokenName|secretExpr/);
	});

	it('checks ids, names, versions, listed credentials and cross references', () => {
		const { manifest, files, main } = fixture();
		manifest.templates[0].version = '1.2';
		manifest.templates[0].credentials = [{ type: 'ipaiOdooApi', name: 'IPAI Odoo' }];
		manifest.templates[1].name = 'test child';
		main.settings!.errorWorkflow = 'ipaiNoSuchWorkflow';
		main.nodes[2].id = main.nodes[1].id;
		const problems = checkTemplates(manifest, files, ['pipeline.json', 'child.json', 'error.json', 'stray.json']).join('\n');
		expect(problems).toMatch(/pipeline\.json: version "1\.2" is not a semantic version/);
		expect(problems).toMatch(/pipeline\.json: meta\.templateVersion is "1\.2\.0" but the manifest version is "1\.2"/);
		expect(problems).toMatch(/uses credential ipaiLakehouseApi "IPAI Lakehouse", which its manifest entry does not list/);
		expect(problems).toMatch(/manifest lists credential ipaiOdooApi "IPAI Odoo", which no node uses/);
		expect(problems).toMatch(/child\.json: name "test child" must start with "IPAI: "/);
		expect(problems).toMatch(/child\.json: "name" is "IPAI: test child" but the manifest says "test child"/);
		expect(problems).toMatch(/settings\.errorWorkflow is "ipaiNoSuchWorkflow", which is not the id of a template/);
		expect(problems).toMatch(/node "Run child" has id 00000000-0000-4000-8000-000000000002, which another node in this file has too/);
		expect(problems).toMatch(/stray\.json: not listed in manifest\.json/);
	});

	it('orders referenced templates first', () => {
		const { manifest, files } = fixture();
		const templates: Template[] = manifest.templates.map((e) => ({
			entry: e,
			slug: e.file.replace(/\.json$/, ''),
			workflow: files.get(e.file) as WorkflowJson,
		}));
		expect(orderTemplates(templates).map((t) => t.entry.id)).toEqual(['ipaiTestError', 'ipaiTestChild', 'ipaiTestPipeline']);
	});

	it('rewrites credential names and template ids for an instance, and names missing credentials', () => {
		const { manifest, files } = fixture();
		const template: Template = { entry: manifest.templates[0], slug: 'pipeline', workflow: files.get('pipeline.json') as WorkflowJson };
		const ids: Record<string, string> = { ipaiTestError: 'Err123', ipaiTestChild: 'Chi456' };
		const { workflow, unresolved } = rewriteForImport(
			template,
			{ workflowId: (id) => ids[id], credentials: [{ id: 'c1', name: 'IPAI Lakehouse', type: 'ipaiLakehouseApi' }] },
			['ipaiTestError', 'ipaiTestChild', 'ipaiTestPipeline'],
		);
		expect(unresolved).toEqual([]);
		expect(workflow.settings!.errorWorkflow).toBe('Err123');
		expect(workflow.nodes[1].credentials).toEqual({ ipaiLakehouseApi: { id: 'c1', name: 'IPAI Lakehouse' } });
		expect((workflow.nodes[2].parameters!.workflowId as { value: string }).value).toBe('Chi456');
		// the template itself is untouched
		expect((files.get('pipeline.json') as WorkflowJson).settings!.errorWorkflow).toBe('ipaiTestError');

		expect(() =>
			rewriteForImport(template, { workflowId: () => undefined, credentials: [{ id: 'c1', name: 'Lakehouse', type: 'ipaiLakehouseApi' }] }, []),
		).toThrow(MissingCredentialsError);
		expect(() => rewriteForImport(template, { workflowId: () => undefined, credentials: [] }, [])).toThrow(
			/"IPAI Lakehouse" of type ipaiLakehouseApi \(used by pipeline\.json\)[\s\S]*Create each one in n8n/,
		);
	});

	it('loadTemplates reads a directory and reports unlisted or unreadable files', () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipai-templates-'));
		try {
			const { manifest, files } = fixture();
			for (const [file, workflow] of files) fs.writeFileSync(path.join(dir, file), JSON.stringify(workflow));
			fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
			expect(loadTemplates(dir).templates.map((t) => t.slug)).toEqual(['error', 'child', 'pipeline']);
			fs.writeFileSync(path.join(dir, 'broken.json'), '{ nope');
			expect(() => loadTemplates(dir)).toThrow(/broken\.json: invalid JSON[\s\S]*broken\.json: not listed in manifest\.json/);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe('validation against node descriptions (synthetic templates)', () => {
	it('accepts the valid pipeline', () => {
		expect(messages(pipeline())).toEqual([]);
	});

	it('catches a renamed parameter and suggests the real one', () => {
		const workflow = pipeline();
		workflow.nodes[1].parameters = { ...workflow.nodes[1].parameters, connectorNme: 'x' };
		expect(messages(workflow)).toEqual([
			expect.stringMatching(/node "Start run": parameter "connectorNme" does not exist in ipaiConnectorRun v1 \(did you mean "connectorName"\?\)/),
		]);
	});

	it('catches a parameter that the other settings hide', () => {
		const workflow = pipeline();
		workflow.nodes[1].parameters = { operation: 'finish', runId: '={{ $json.runId }}', leaseTimeoutSeconds: 900 };
		expect(messages(workflow)).toEqual([
			expect.stringMatching(/node "Start run": parameter "leaseTimeoutSeconds" is set but not shown with these settings \(it needs operation is "start"\)/),
		]);
	});

	it('catches an option value that does not exist, but not an expression', () => {
		const workflow = pipeline();
		workflow.nodes[1].parameters = { ...workflow.nodes[1].parameters, operation: 'begin' };
		expect(messages(workflow).join('\n')).toMatch(/parameter "operation" has value "begin", which is not one of "dispatch", "fail"/);
		workflow.nodes[1].parameters.operation = 'start';
		workflow.nodes[0].parameters = { rule: { interval: [{ field: '={{ "minutes" }}', minutesInterval: 15 }] } };
		expect(messages(workflow)).toEqual([]);
	});

	it('catches an expression in a parameter that takes none (n8n reads it as text)', () => {
		const workflow = pipeline();
		workflow.nodes[1].parameters = { ...workflow.nodes[1].parameters, operation: '={{ "start" }}' };
		const found = messages(workflow).join('\n');
		expect(found).toMatch(/parameter "operation" takes no expression \(noDataExpression\): n8n reads it as the text "\{\{ \\"start\\" \}\}"/);
		// read as that text, the operation is not "start", so the start settings are hidden too
		expect(found).toMatch(/parameter "leaseTimeoutSeconds" is set but not shown with these settings/);
		// a lone $fromAI() placeholder keeps its "=" in a tool, for the agent to fill
		workflow.nodes[1].type = 'n8n-nodes-ipai-lakehouse.ipaiConnectorRunTool';
		workflow.nodes[1].parameters = { operation: "={{ $fromAI('operation') }}" };
		expect(messages(workflow).join('\n')).not.toMatch(/takes no expression/);
	});

	it('checks collection and fixedCollection keys recursively', () => {
		const workflow = pipeline();
		workflow.nodes[0].parameters = { rule: { intervals: [{ field: 'minutes' }] } };
		workflow.nodes[2].parameters = { ...workflow.nodes[2].parameters, options: { waitForSubWorkflw: true } };
		const found = messages(workflow).join('\n');
		expect(found).toMatch(/parameter "rule\.intervals" does not exist \(options: interval\) \(did you mean "interval"\?\)/);
		expect(found).toMatch(/parameter "options\.waitForSubWorkflw" does not exist .*did you mean "waitForSubWorkflow"/);
		workflow.nodes[0].parameters = { rule: { interval: [{ field: 'fortnights' }] } };
		expect(messages(workflow).join('\n')).toMatch(/parameter "rule\.interval\[0\]\.field" has value "fortnights"/);
	});

	it('evaluates @version conditions', () => {
		// Execute Workflow: "source" exists in every version; the "workflowInputs" mapper only from 1.2.
		const workflow = pipeline();
		workflow.nodes[2].typeVersion = 1;
		workflow.nodes[2].parameters = { workflowId: 'ipaiTestChild', workflowInputs: { value: {} } };
		expect(messages(workflow).join('\n')).toMatch(/parameter "workflowInputs" is set but not shown .*@version/);
		workflow.nodes[2].typeVersion = 1.2;
		workflow.nodes[2].parameters = { workflowId: { __rl: true, mode: 'id', value: 'x' }, workflowInputs: { value: {} } };
		expect(messages(workflow)).toEqual([]);
	});

	it('catches an unknown node type and a typeVersion the node does not declare', () => {
		const workflow = pipeline();
		workflow.nodes[1].type = 'n8n-nodes-ipai-lakehouse.ipaiConectorRun';
		workflow.nodes[2].typeVersion = 7;
		const found = messages(workflow).join('\n');
		expect(found).toMatch(/unknown node type "n8n-nodes-ipai-lakehouse\.ipaiConectorRun" \(did you mean "n8n-nodes-ipai-lakehouse\.ipaiConnectorRun"\?\)/);
		expect(found).toMatch(/node "Run child": typeVersion 7 is not a version of n8n-nodes-base\.executeWorkflow \(declared: 1, 1\.1, 1\.2, 1\.3\)/);
	});

	it('catches dangling connections, wrong connection types and output indexes', () => {
		const workflow = pipeline();
		workflow.connections['Start run'].main = [[{ node: 'Run chid', type: 'main', index: 0 }]];
		workflow.connections['Nowhere'] = { main: [[{ node: 'Start run', type: 'main', index: 0 }]] };
		workflow.connections['Every 15 minutes'].main.push([{ node: 'Run child', type: 'main', index: 0 }]);
		workflow.connections['Run child'] = { ai_tool: [[{ node: 'Start run', type: 'ai_tool', index: 0 }]] };
		const found = messages(workflow).join('\n');
		expect(found).toMatch(/node "Start run": connects to node "Run chid", which does not exist/);
		expect(found).toMatch(/connections start at node "Nowhere", which does not exist/);
		expect(found).toMatch(/node "Every 15 minutes": connects from main output 1, but n8n-nodes-base\.scheduleTrigger has 1 main output/);
		expect(found).toMatch(/node "Run child": has a "ai_tool" connection, but n8n-nodes-base\.executeWorkflow only has main outputs/);
	});

	it('knows the tool variant of a usableAsTool node and the AI connection types', () => {
		const workflow: WorkflowJson = {
			nodes: [
				{ id: 'a', name: 'Agent', type: '@n8n/n8n-nodes-langchain.agent', typeVersion: 1.7, parameters: { options: {} } },
				{
					id: 'b',
					name: 'Runs',
					type: 'n8n-nodes-ipai-lakehouse.ipaiConnectorRunTool',
					typeVersion: 1,
					parameters: { descriptionType: 'manual', toolDescription: 'Lists runs', operation: 'getRuns' },
					credentials: { ipaiLakehouseApi: { name: 'IPAI Lakehouse' } },
				},
			],
			connections: { Runs: { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] } },
		};
		expect(messages(workflow)).toEqual([]);
		workflow.connections.Runs = { ai_tool: [[{ node: 'Agent', type: 'ai_embedding', index: 0 }]] };
		expect(messages(workflow).join('\n')).toMatch(/listed under "ai_tool" but has type "ai_embedding"[\s\S]*takes only ai_languageModel, .*ai_tool, main inputs/);
	});

	it('catches unknown credential types and credentials the node does not take', () => {
		const workflow = pipeline();
		workflow.nodes[1].credentials = { ipaiLakehouseApi: { name: 'IPAI Lakehouse' }, ipaiLakehouseAPI: { name: 'x' }, githubApi: { name: 'gh' } };
		const found = messages(workflow).join('\n');
		expect(found).toMatch(/node "Start run": credential type "ipaiLakehouseAPI" does not exist/);
		expect(found).toMatch(/n8n-nodes-ipai-lakehouse\.ipaiConnectorRun does not take a "githubApi" credential \(it takes ipaiLakehouseApi, httpHeaderAuth\)/);
		workflow.nodes[1].credentials = {};
		expect(messages(workflow).join('\n')).toMatch(/node "Start run": needs a "ipaiLakehouseApi" credential/);
	});
});
