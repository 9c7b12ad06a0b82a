/**
 * Imports the workflow templates of workflows/manifest.json into an n8n, creating or updating
 * each one (never duplicating), with credential names mapped to that instance's credential ids
 * and template ids (error workflow, Execute Workflow targets) mapped to its workflow ids.
 *
 *   npm run workflows:import -- --n8n-url http://localhost:5678 --api-key <key> [--activate] [--only slug,slug] [--dry-run]
 *   npm run workflows:import -- --cli --user-folder <dir> [--n8n-bin n8n] [--activate] [--only …] [--dry-run]
 *
 * API mode uses n8n's public API (n8n 2.40: @n8n/api-types workflow DTOs): the workflow is found
 * by its exact name; create is POST /workflows (no `id`, `meta` or `tags`: read-only there),
 * update is PUT /workflows/{id} (which also takes `description`: we record the template id and
 * version there, since `meta.templateVersion` cannot be written through the API); activation is
 * POST /workflows/{id}/publish (`/activate` before n8n 2.x's publish/draft split).
 * CLI mode runs `n8n import:workflow` against the instance whose user folder (and environment:
 * DB_*, N8N_ENCRYPTION_KEY) it is given; there workflows keep the template ids and meta.
 *
 * The API key may also come from N8N_API_KEY (keeps it out of the process list); it is never
 * printed.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { type InstanceCredential, missingCredentials, MissingCredentialsError, rewriteForImport, templateDescription, versionFromDescription } from '../lib/workflows/templateImport';
import { referencedTemplateIds, type Template, TemplateError } from '../lib/workflows/templateManifest';
import { defaultWorkflowsDirectory, loadTemplates } from '../lib/workflows/templates';
import type { WorkflowJson } from '../lib/workflows/workflowTypes';
import { parseArgs } from './args';

const USAGE = `usage:
  n8n-nodes-ipai-lakehouse workflows import --n8n-url URL --api-key KEY [--activate] [--only slug,slug] [--dry-run] [--dir workflows]
  n8n-nodes-ipai-lakehouse workflows import --cli --user-folder DIR [--n8n-bin n8n] [--activate] [--only slug,slug] [--dry-run] [--dir workflows]
The API key may be given as N8N_API_KEY instead of --api-key. In a clone: npm run workflows:import -- …
`;

/** An error whose message tells the user what to do; printed without a stack. */
class ImportError extends Error {}

type Status = 'created' | 'updated' | 'unchanged';

interface Outcome {
	template: Template;
	status: Status;
	id: string;
	previousVersion?: string;
	active?: boolean;
}

function print(line: string): void {
	process.stdout.write(`${line}\n`);
}

function report(outcomes: Outcome[], dryRun: boolean): void {
	const width = Math.max(...outcomes.map((outcome) => outcome.template.slug.length));
	for (const outcome of outcomes) {
		const { entry } = outcome.template;
		const version =
			outcome.previousVersion && outcome.previousVersion !== entry.version
				? `${outcome.previousVersion} → ${entry.version}`
				: entry.version;
		const status = dryRun ? `would be ${outcome.status}` : outcome.status;
		print(
			`${status.padEnd(dryRun ? 20 : 9)}  ${outcome.template.slug.padEnd(width)}  id ${outcome.id.padEnd(21)}  version ${version}` +
				(outcome.active ? '  active' : ''),
		);
	}
}

function selectTemplates(templates: Template[], only: string | undefined): Template[] {
	if (!only) return templates;
	const slugs = only.split(',').map((slug) => slug.trim().replace(/\.json$/, '')).filter(Boolean);
	const unknown = slugs.filter((slug) => !templates.some((template) => template.slug === slug));
	if (unknown.length > 0) {
		throw new ImportError(`--only names unknown template(s) ${unknown.join(', ')}; templates: ${templates.map((t) => t.slug).join(', ')}`);
	}
	return templates.filter((template) => slugs.includes(template.slug));
}

/** Deep equality that ignores key order (n8n stores JSON columns; key order is not kept everywhere). */
function sameJson(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
	if (Array.isArray(a) !== Array.isArray(b)) return false;
	if (Array.isArray(a)) {
		const other = b as unknown[];
		return a.length === other.length && a.every((item, index) => sameJson(item, other[index]));
	}
	const aKeys = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined);
	const bKeys = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined);
	return (
		aKeys.length === bKeys.length &&
		aKeys.every((key) => sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
	);
}

// ---------------------------------------------------------------------------------------------
// Public API mode

interface RemoteWorkflow {
	id: string;
	name: string;
	description?: string | null;
	active: boolean;
	activeVersionId?: string | null;
	versionId?: string;
	isArchived?: boolean;
	nodes: unknown[];
	connections: unknown;
	settings: Record<string, unknown> | null;
}

class PublicApi {
	private readonly base: string;

	constructor(
		n8nUrl: string,
		private readonly apiKey: string,
	) {
		let url: URL;
		try {
			url = new URL(n8nUrl);
		} catch {
			throw new ImportError(`--n8n-url "${n8nUrl}" is not a URL (e.g. http://localhost:5678)`);
		}
		this.base = url.toString().replace(/\/+$/, '').replace(/\/api\/v1$/, '');
	}

	async request<T>(method: string, route: string, body?: unknown): Promise<T> {
		const url = `${this.base}/api/v1${route}`;
		let response: Response;
		try {
			response = await fetch(url, {
				method,
				headers: {
					'x-n8n-api-key': this.apiKey,
					accept: 'application/json',
					...(body === undefined ? {} : { 'content-type': 'application/json' }),
				},
				body: body === undefined ? undefined : JSON.stringify(body),
				signal: AbortSignal.timeout(60_000),
			});
		} catch (error) {
			const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
			throw new ImportError(`cannot reach n8n at ${this.base} (${cause}): is it running, and is --n8n-url right?`);
		}
		const text = await response.text();
		if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
		let detail = text.slice(0, 500);
		try {
			const parsed = JSON.parse(text) as { message?: string };
			if (parsed.message) detail = parsed.message;
		} catch {
			// not JSON: keep the text
		}
		if (response.status === 401) {
			throw new ImportError(
				`the API key was refused by ${this.base} (HTTP 401: ${detail}). Create a key in n8n under Settings → n8n API ` +
					'and pass it with --api-key (or N8N_API_KEY); keys expire and are tied to the user who created them.',
			);
		}
		if (response.status === 403) {
			throw new ImportError(
				`n8n refused ${method} /api/v1${route.split('?')[0]} for this API key (HTTP 403: ${detail}). The import needs an ` +
					'owner or admin key with the credential:list, workflow:list, workflow:read, workflow:create, workflow:update ' +
					'(and, for --activate, workflow:activate) scopes.',
			);
		}
		if (response.status === 404 && method === 'GET' && !/\/workflows\/[^/?]+/.test(route)) {
			throw new ImportError(
				`${this.base}/api/v1${route.split('?')[0]} answered 404: is this n8n's URL, and is its public API enabled ` +
					'(N8N_PUBLIC_API_DISABLED must not be true)?',
			);
		}
		throw new ImportError(`${method} /api/v1${route.split('?')[0]} failed (HTTP ${response.status}): ${detail}`);
	}

	/** All pages of a list endpoint. */
	async list<T>(route: string): Promise<T[]> {
		const items: T[] = [];
		let cursor: string | undefined;
		do {
			const separator = route.includes('?') ? '&' : '?';
			const page = await this.request<{ data: T[]; nextCursor?: string | null }>(
				'GET',
				`${route}${separator}limit=250${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
			);
			items.push(...page.data);
			cursor = page.nextCursor ?? undefined;
		} while (cursor);
		return items;
	}
}

/** The body n8n's public API takes for create (POST) and, with `description`, update (PUT). */
function apiBody(workflow: WorkflowJson, description?: string): Record<string, unknown> {
	return {
		name: workflow.name,
		...(description === undefined ? {} : { description }),
		nodes: workflow.nodes,
		connections: workflow.connections,
		settings: workflow.settings ?? {},
	};
}

function unchanged(remote: RemoteWorkflow, body: Record<string, unknown>): boolean {
	return (
		remote.name === body.name &&
		(remote.description ?? '') === (body.description ?? '') &&
		sameJson(remote.nodes, body.nodes) &&
		sameJson(remote.connections, body.connections) &&
		sameJson(remote.settings ?? {}, body.settings)
	);
}

async function importThroughApi(options: {
	n8nUrl: string;
	apiKey: string;
	templates: Template[];
	selected: Template[];
	activate: boolean;
	dryRun: boolean;
}): Promise<Outcome[]> {
	const api = new PublicApi(options.n8nUrl, options.apiKey);
	const credentials = (await api.list<InstanceCredential>('/credentials')).map(({ id, name, type }) => ({ id, name, type }));
	const missing = missingCredentials(options.selected, credentials);
	if (missing.length > 0) throw new MissingCredentialsError(missing);

	// Existing workflows by exact name (the API's name filter is a substring match).
	const existing = new Map<string, RemoteWorkflow>();
	for (const template of options.templates) {
		const name = template.entry.name;
		const found = (await api.list<RemoteWorkflow>(`/workflows?name=${encodeURIComponent(name)}&excludePinnedData=true`)).filter(
			(workflow) => workflow.name === name && !workflow.isArchived,
		);
		if (found.length > 1) {
			throw new ImportError(
				`${found.length} workflows in n8n are named "${name}" (ids ${found.map((w) => w.id).join(', ')}): ` +
					'archive or rename the extra ones so the import knows which one to update',
			);
		}
		if (found.length === 1) {
			// The list omits `description`; read the workflow itself.
			existing.set(template.entry.id, await api.request<RemoteWorkflow>('GET', `/workflows/${found[0].id}?excludePinnedData=true`));
		}
	}
	const selectedIds = new Set(options.selected.map((template) => template.entry.id));
	for (const template of options.selected) {
		for (const reference of referencedTemplateIds(template.workflow)) {
			if (!selectedIds.has(reference) && !existing.has(reference)) {
				const target = options.templates.find((t) => t.entry.id === reference);
				throw new ImportError(
					`${template.entry.file} refers to ${target ? `${target.slug} ("${target.entry.name}")` : reference}, which is not in n8n ` +
						'yet: import it too (add it to --only, or leave --only out)',
				);
			}
		}
	}

	const realIds = new Map<string, string>([...existing].map(([templateId, workflow]) => [templateId, workflow.id]));
	const allIds = options.templates.map((template) => template.entry.id);
	const rewrite = (template: Template) =>
		rewriteForImport(template, { workflowId: (id) => realIds.get(id), credentials }, allIds);

	const outcomes: Outcome[] = [];
	if (options.dryRun) {
		for (const template of options.selected) {
			const remote = existing.get(template.entry.id);
			const body = apiBody(rewrite(template).workflow, templateDescription(template.entry));
			outcomes.push({
				template,
				status: !remote ? 'created' : unchanged(remote, body) ? 'unchanged' : 'updated',
				id: remote?.id ?? '(new)',
				previousVersion: remote ? versionFromDescription(remote.description, template.entry.id) : undefined,
			});
		}
		return outcomes;
	}

	// Pass 1: create what is missing, referenced templates first (the order of loadTemplates),
	// so most references resolve at once; a reference to a template created later (a cycle)
	// keeps its template id until pass 2.
	const created = new Set<string>();
	const current = new Map(existing);
	for (const template of options.selected) {
		if (existing.has(template.entry.id)) continue;
		const workflow = await api.request<RemoteWorkflow>('POST', '/workflows', apiBody(rewrite(template).workflow));
		realIds.set(template.entry.id, workflow.id);
		current.set(template.entry.id, workflow);
		created.add(template.entry.id);
	}
	// Pass 2: every reference resolves now; update what differs (a new workflow always gets its
	// description, which create does not accept).
	for (const template of options.selected) {
		const { workflow, unresolved } = rewrite(template);
		if (unresolved.length > 0) throw new ImportError(`${template.entry.file}: could not resolve ${unresolved.join(', ')}`);
		const body = apiBody(workflow, templateDescription(template.entry));
		let remote = current.get(template.entry.id)!;
		const wasCreated = created.has(template.entry.id);
		let status: Status = wasCreated ? 'created' : 'unchanged';
		if (!unchanged(remote, body)) {
			remote = await api.request<RemoteWorkflow>('PUT', `/workflows/${remote.id}`, body);
			if (!wasCreated) status = 'updated';
		}
		const outcome: Outcome = {
			template,
			status,
			id: remote.id,
			previousVersion: wasCreated ? undefined : versionFromDescription(existing.get(template.entry.id)?.description, template.entry.id),
			active: remote.active,
		};
		if (options.activate && template.entry.activate && !(remote.active && remote.activeVersionId === remote.versionId)) {
			try {
				await api.request('POST', `/workflows/${remote.id}/publish`, {});
			} catch (error) {
				// n8n before the publish/draft split only has /activate.
				if (!(error instanceof ImportError) || !/HTTP 404/.test(error.message)) throw error;
				await api.request('POST', `/workflows/${remote.id}/activate`, {});
			}
			outcome.active = true;
		}
		outcomes.push(outcome);
	}
	return outcomes;
}

// ---------------------------------------------------------------------------------------------
// CLI mode (`n8n import:workflow` for an instance on this machine)

interface ExportedWorkflow extends RemoteWorkflow {
	meta?: Record<string, unknown> | null;
}

function runN8n(n8nBin: string, userFolder: string, args: string[]): { ok: boolean; output: string } {
	const result = spawnSync(n8nBin, args, {
		env: { ...process.env, N8N_USER_FOLDER: userFolder },
		encoding: 'utf8',
		timeout: 300_000,
	});
	if (result.error) {
		throw new ImportError(
			`cannot run "${n8nBin}" (${result.error.message}): pass the n8n executable with --n8n-bin, e.g. --n8n-bin ~/.npm-global/bin/n8n`,
		);
	}
	return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** `n8n export:<kind> --all`; an instance with none exits 1 with "No … found", which means []. */
function exportAll<T>(n8nBin: string, userFolder: string, kind: 'credentials' | 'workflow', tmp: string): T[] {
	const file = path.join(tmp, `${kind}.json`);
	const { ok, output } = runN8n(n8nBin, userFolder, [`export:${kind}`, '--all', `--output=${file}`]);
	if (!ok) {
		if (/No (credentials|workflows) found/.test(output)) return [];
		throw new ImportError(`n8n export:${kind} failed:\n${output.split('\n').slice(-15).join('\n')}`);
	}
	const items = JSON.parse(fs.readFileSync(file, 'utf8')) as T[];
	fs.rmSync(file, { force: true }); // credentials export holds encrypted secrets: don't leave it around
	return items;
}

function importThroughCli(options: {
	userFolder: string;
	n8nBin: string;
	templates: Template[];
	selected: Template[];
	activate: boolean;
	dryRun: boolean;
}): { outcomes: Outcome[]; notes: string[] } {
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ipai-workflows-import-'));
	try {
		const credentials = exportAll<InstanceCredential>(options.n8nBin, options.userFolder, 'credentials', tmp).map(({ id, name, type }) => ({
			id,
			name,
			type,
		}));
		const missing = missingCredentials(options.selected, credentials);
		if (missing.length > 0) throw new MissingCredentialsError(missing);
		const exported = exportAll<ExportedWorkflow>(options.n8nBin, options.userFolder, 'workflow', tmp);
		const existing = new Map(exported.map((workflow) => [workflow.id, workflow]));
		// A same-named workflow under another id was imported through the API (ids assigned by n8n):
		// importing by template id would make a second one — a second dispatcher, clashing webhooks.
		const clashes = options.selected.flatMap((template) =>
			exported.filter((w) => w.name === template.entry.name && w.id !== template.entry.id).map((w) => `"${w.name}" (id ${w.id})`),
		);
		if (clashes.length > 0) {
			throw new ImportError(
				`This n8n already has ${clashes.join(', ')} under other ids, probably imported through the public API; ` +
					'import into it with --n8n-url and --api-key instead (it updates them by name), or rename or delete those workflows.',
			);
		}
		const allIds = options.templates.map((template) => template.entry.id);
		const outcomes: Outcome[] = [];
		const toImport: WorkflowJson[] = [];
		const toPublish: string[] = [];
		for (const template of options.selected) {
			// Template ids are kept as the workflow ids, so references need no rewriting.
			const { workflow } = rewriteForImport(template, { workflowId: (id) => id, credentials }, allIds);
			const remote = existing.get(template.entry.id);
			const same =
				remote !== undefined &&
				remote.name === workflow.name &&
				remote.meta?.templateVersion === template.entry.version &&
				sameJson(remote.nodes, workflow.nodes) &&
				sameJson(remote.connections, workflow.connections) &&
				sameJson(remote.settings ?? {}, workflow.settings ?? {});
			const wantActive = (options.activate && template.entry.activate) || Boolean(remote?.active);
			outcomes.push({
				template,
				status: !remote ? 'created' : same ? 'unchanged' : 'updated',
				id: template.entry.id,
				previousVersion: typeof remote?.meta?.templateVersion === 'string' ? remote.meta.templateVersion : undefined,
				active: wantActive,
			});
			if (!same) {
				const { tags: _tags, active: _active, ...rest } = workflow;
				toImport.push({ ...rest, pinData: {} } as WorkflowJson);
			}
			// import:workflow deactivates what it imports; re-publish what was or should be active.
			if (wantActive && (!same || !remote?.active)) toPublish.push(template.entry.id);
		}
		if (options.dryRun) return { outcomes, notes: [] };
		if (toImport.length > 0) {
			const file = path.join(tmp, 'templates.json');
			fs.writeFileSync(file, JSON.stringify(toImport));
			const { ok, output } = runN8n(options.n8nBin, options.userFolder, ['import:workflow', `--input=${file}`]);
			if (!ok) throw new ImportError(`n8n import:workflow failed:\n${output.split('\n').slice(-15).join('\n')}`);
		}
		for (const id of toPublish) {
			const { ok, output } = runN8n(options.n8nBin, options.userFolder, ['publish:workflow', `--id=${id}`]);
			if (!ok) throw new ImportError(`n8n publish:workflow --id=${id} failed:\n${output.split('\n').slice(-15).join('\n')}`);
		}
		const notes =
			toPublish.length > 0 || toImport.length > 0
				? ['restart n8n (main and workers) so it loads the imported workflows and their activation']
				: [];
		return { outcomes, notes };
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
	}
}

// ---------------------------------------------------------------------------------------------

export async function workflowsImportCli(argv: string[]): Promise<void> {
	const args = parseArgs(
		argv,
		['n8n-url', 'api-key', 'only', 'dir', 'user-folder', 'n8n-bin'],
		['activate', 'dry-run', 'cli', 'help'],
	);
	if (args.flags.has('help')) {
		process.stdout.write(USAGE);
		return;
	}
	const { templates } = loadTemplates(args.values.dir ? path.resolve(args.values.dir) : defaultWorkflowsDirectory());
	const selected = selectTemplates(templates, args.values.only);
	const common = { templates, selected, activate: args.flags.has('activate'), dryRun: args.flags.has('dry-run') };
	if (args.flags.has('cli')) {
		const userFolder = args.values['user-folder'];
		if (!userFolder) throw new ImportError(`--cli needs --user-folder (the N8N_USER_FOLDER of the instance)\n${USAGE}`);
		const { outcomes, notes } = importThroughCli({
			...common,
			userFolder: path.resolve(userFolder),
			n8nBin: args.values['n8n-bin'] ?? 'n8n',
		});
		report(outcomes, common.dryRun);
		for (const note of notes) print(`note: ${note}`);
		return;
	}
	const n8nUrl = args.values['n8n-url'];
	const apiKey = args.values['api-key'] ?? process.env.N8N_API_KEY;
	if (!n8nUrl || !apiKey) {
		throw new ImportError(`give --n8n-url and --api-key (or N8N_API_KEY), or --cli --user-folder DIR\n${USAGE}`);
	}
	report(await importThroughApi({ ...common, n8nUrl, apiKey }), common.dryRun);
}

function apiKeyFromArgv(): string | undefined {
	const argv = process.argv;
	const inline = argv.find((arg) => arg.startsWith('--api-key='));
	if (inline) return inline.slice('--api-key='.length);
	const index = argv.indexOf('--api-key');
	return index >= 0 ? argv[index + 1] : undefined;
}

export function workflowsImportFailed(error: unknown): never {
	const known = error instanceof ImportError || error instanceof TemplateError || error instanceof MissingCredentialsError;
	const message = error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : String(error);
	// Belt and braces: whatever went wrong, the key never reaches the terminal or a CI log.
	let safe = message;
	for (const secret of [apiKeyFromArgv(), process.env.N8N_API_KEY]) {
		if (secret && secret.length >= 8) safe = safe.split(secret).join('***');
	}
	process.stderr.write(`workflows import: ${safe}\n`);
	process.exit(1);
}

if (require.main === module) workflowsImportCli(process.argv.slice(2)).catch(workflowsImportFailed);
