/**
 * The workflow templates in workflows/ and their manifest: loading, the template conventions
 * (README "Workflow templates"), dependency order, and the rewrite applied on import (template
 * ids → the target instance's workflow ids, credential names → its credential ids).
 *
 * No n8n imports: the import command, tests and the demo all use this.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { WorkflowJson, WorkflowNode } from './workflowTypes';
import { isSecretKeyName } from '../lakehouse/secrets';

export const PACKAGE_NAME = 'n8n-nodes-ipai-lakehouse';
export const TRIGGERS = ['dispatcher', 'schedule', 'webhook', 'error', 'chat', 'mcp'] as const;

/**
 * Settings keys n8n 2.40's public API accepts on create/update (@n8n/api-types
 * base-workflow-public.dto.js, a strict zod object). `binaryMode` and `credentialResolverId` are
 * accepted there but silently dropped, so a template carrying them could never compare equal
 * after import: they are left out on purpose.
 */
export const PUBLIC_API_SETTINGS = [
	'saveExecutionProgress',
	'saveManualExecutions',
	'saveDataErrorExecution',
	'saveDataSuccessExecution',
	'executionTimeout',
	'errorWorkflow',
	'timezone',
	'executionOrder',
	'callerPolicy',
	'callerIds',
	'timeSavedMode',
	'timeSavedPerExecution',
	'redactionPolicy',
	'availableInMCP',
	'customTelemetryTags',
];

export interface CredentialRef {
	type: string;
	name: string;
}

export interface ManifestEntry {
	file: string;
	id: string;
	name: string;
	version: string;
	description: string;
	trigger: (typeof TRIGGERS)[number];
	credentials: CredentialRef[];
	activate: boolean;
}

export interface Manifest {
	package: string;
	templates: ManifestEntry[];
}

export interface Template {
	entry: ManifestEntry;
	/** File name without `.json`, used by `--only`. */
	slug: string;
	workflow: WorkflowJson;
}

export class TemplateError extends Error {
	constructor(
		message: string,
		readonly problems: string[] = [],
	) {
		super(problems.length > 0 ? `${message}\n${problems.map((problem) => `  - ${problem}`).join('\n')}` : message);
		this.name = 'TemplateError';
	}
}

const SEMVER =
	/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const TEMPLATE_ID = /^[A-Za-z0-9]{1,21}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isSemver(version: unknown): boolean {
	return typeof version === 'string' && SEMVER.test(version);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isExpression(value: unknown): boolean {
	return typeof value === 'string' && value.startsWith('=');
}

export function defaultWorkflowsDirectory(): string {
	// lib/workflows → <package>/workflows, from the sources and from dist/lib/workflows (dist/workflows).
	return path.resolve(__dirname, '..', '..', 'workflows');
}

// ---------------------------------------------------------------------------------------------
// What a template uses

/** Credentials the nodes reference, as {type, name}, deduplicated. */
export function usedCredentials(workflow: WorkflowJson): CredentialRef[] {
	const seen = new Map<string, CredentialRef>();
	for (const node of workflow.nodes ?? []) {
		for (const [type, ref] of Object.entries(isPlainObject(node.credentials) ? node.credentials : {})) {
			const name = isPlainObject(ref) ? ref.name : ref;
			if (typeof name !== 'string') continue;
			seen.set(`${type}\u0000${name}`, { type, name });
		}
	}
	return [...seen.values()];
}

/** A place in a workflow that holds another workflow's id. */
interface WorkflowReference {
	/** Where, for messages: `settings.errorWorkflow` or `node "X" parameter workflowId`. */
	where: string;
	value: string;
	set(value: string): void;
}

/**
 * Literal references to other workflows: `settings.errorWorkflow`, and `workflowId` parameters
 * (Execute Workflow, Call n8n Workflow Tool) as a resource locator or a plain string, unless the
 * node reads its workflow from somewhere other than the database (`source`) or the value is an
 * expression.
 */
function workflowReferences(workflow: WorkflowJson): WorkflowReference[] {
	const references: WorkflowReference[] = [];
	const settings = workflow.settings;
	if (isPlainObject(settings) && typeof settings.errorWorkflow === 'string' && settings.errorWorkflow !== '') {
		references.push({
			where: 'settings.errorWorkflow',
			value: settings.errorWorkflow,
			set: (value) => (settings.errorWorkflow = value),
		});
	}
	for (const node of workflow.nodes ?? []) {
		const parameters = node.parameters;
		if (!isPlainObject(parameters) || !('workflowId' in parameters)) continue;
		if (typeof parameters.source === 'string' && parameters.source !== 'database') continue;
		const where = `node "${node.name}" parameter workflowId`;
		const locator = parameters.workflowId;
		if (isPlainObject(locator)) {
			if (typeof locator.value === 'string' && locator.value !== '' && !isExpression(locator.value)) {
				references.push({ where, value: locator.value, set: (value) => (locator.value = value) });
			}
		} else if (typeof locator === 'string' && locator !== '' && !isExpression(locator)) {
			references.push({ where, value: locator, set: (value) => (parameters.workflowId = value) });
		}
	}
	return references;
}

/** Template ids this workflow refers to (literal references only). */
export function referencedTemplateIds(workflow: WorkflowJson): string[] {
	return [...new Set(workflowReferences(workflow).map((reference) => reference.value))];
}

const SECRET_VALUE = [
	{ pattern: /\bgh[pousr]_[A-Za-z0-9]{30,}/, what: 'a GitHub token' },
	{ pattern: /\bgithub_pat_[A-Za-z0-9_]{40,}/, what: 'a GitHub token' },
	{ pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/, what: 'a Slack token' },
	{ pattern: /\bAKIA[0-9A-Z]{16}\b/, what: 'an AWS access key id' },
	{ pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: 'a private key' },
	{ pattern: /\bsk-(ant-)?[A-Za-z0-9_-]{20,}/, what: 'an API key' },
	{ pattern: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, what: 'a JWT' },
	{ pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@'"]+:[^@\s'"/{]+@/i, what: 'a URL with a password' },
	{ pattern: /^Bearer\s+[A-Za-z0-9._~+/-]{8,}/, what: 'a bearer token' },
];

/** Places in a workflow that hold what looks like a secret (node credentials blocks excluded). */
export function findSecrets(workflow: WorkflowJson): string[] {
	const found: string[] = [];
	const visit = (value: unknown, where: string, key: string | undefined) => {
		if (typeof value === 'string') {
			if (value === '') return;
			if (key && !isExpression(value) && isSecretKeyName(key)) {
				found.push(`${where} holds a literal value; secrets belong in n8n credentials`);
				return;
			}
			// Also inside expressions: a token pasted into an expression is still a literal.
			for (const { pattern, what } of SECRET_VALUE) {
				if (pattern.test(value)) {
					found.push(`${where} contains what looks like ${what}`);
					return;
				}
			}
			return;
		}
		if (Array.isArray(value)) {
			value.forEach((item, index) => visit(item, `${where}[${index}]`, key));
			return;
		}
		if (isPlainObject(value)) {
			for (const [childKey, child] of Object.entries(value)) visit(child, `${where}.${childKey}`, childKey);
		}
	};
	(workflow.nodes ?? []).forEach((node) => {
		const { credentials: _credentials, ...rest } = node;
		visit(rest, `node "${node.name}"`, undefined);
	});
	for (const key of ['settings', 'pinData', 'staticData', 'meta']) {
		if (key in workflow) visit(workflow[key], key, undefined);
	}
	return found;
}

// ---------------------------------------------------------------------------------------------
// Checking

/** Problems of the manifest and its templates against the conventions (empty = fine). */
export function checkTemplates(manifest: unknown, workflows: Map<string, unknown>, extraFiles: string[] = []): string[] {
	const problems: string[] = [];
	if (!isPlainObject(manifest)) return ['manifest.json must be a JSON object'];
	if (manifest.package !== PACKAGE_NAME) problems.push(`manifest.json: "package" must be "${PACKAGE_NAME}"`);
	if (!Array.isArray(manifest.templates) || manifest.templates.length === 0) {
		problems.push('manifest.json: "templates" must be a non-empty list');
		return problems;
	}
	const entries = manifest.templates as unknown[];
	const ids = new Set<string>();
	const names = new Set<string>();
	const files = new Set<string>();
	const validIds = new Set(
		entries.filter(isPlainObject).map((entry) => entry.id).filter((id): id is string => typeof id === 'string'),
	);

	entries.forEach((raw, index) => {
		const where = isPlainObject(raw) && typeof raw.file === 'string' ? raw.file : `templates[${index}]`;
		const problem = (message: string) => problems.push(`${where}: ${message}`);
		if (!isPlainObject(raw)) {
			problem('must be an object');
			return;
		}
		const entry = raw as unknown as ManifestEntry;
		for (const key of ['file', 'id', 'name', 'version', 'description', 'trigger'] as const) {
			if (typeof entry[key] !== 'string' || entry[key] === '') problem(`manifest entry needs "${key}" (a non-empty string)`);
		}
		if (typeof entry.file === 'string') {
			if (!/^[a-z0-9]+(-[a-z0-9]+)*\.json$/.test(entry.file) || entry.file === 'manifest.json') {
				problem('"file" must be a lower-case slug ending in .json, e.g. odoo-finance-sync.json');
			}
			if (files.has(entry.file)) problem('listed twice in the manifest');
			files.add(entry.file);
		}
		if (typeof entry.id === 'string') {
			if (!TEMPLATE_ID.test(entry.id)) problem(`id "${entry.id}" must be 1–21 letters and digits (n8n workflow ids)`);
			if (ids.has(entry.id)) problem(`id "${entry.id}" is used by two templates`);
			ids.add(entry.id);
		}
		if (typeof entry.name === 'string') {
			if (!entry.name.startsWith('IPAI: ')) problem(`name "${entry.name}" must start with "IPAI: "`);
			if (names.has(entry.name)) problem(`name "${entry.name}" is used by two templates (the import finds workflows by name)`);
			names.add(entry.name);
		}
		if (!isSemver(entry.version)) problem(`version ${JSON.stringify(entry.version)} is not a semantic version (e.g. 1.0.0)`);
		if (!TRIGGERS.includes(entry.trigger)) problem(`trigger ${JSON.stringify(entry.trigger)} must be one of ${TRIGGERS.join(', ')}`);
		if (typeof entry.activate !== 'boolean') problem('"activate" must be true or false');
		const listed: CredentialRef[] = [];
		if (!Array.isArray(entry.credentials)) problem('"credentials" must be a list of {type, name}');
		else {
			for (const credential of entry.credentials as unknown[]) {
				if (!isPlainObject(credential) || typeof credential.type !== 'string' || typeof credential.name !== 'string') {
					problem(`credentials entry ${JSON.stringify(credential)} must be {"type": "…", "name": "…"}`);
				} else listed.push({ type: credential.type, name: credential.name });
			}
		}

		if (typeof entry.file !== 'string') return;
		const workflow = workflows.get(entry.file);
		if (workflow === undefined) {
			problem('file does not exist in workflows/');
			return;
		}
		for (const message of checkWorkflow(workflow, entry, listed, validIds)) problem(message);
	});

	for (const file of extraFiles) {
		if (!files.has(file)) problems.push(`${file}: not listed in manifest.json (every template needs an entry)`);
	}
	return problems;
}

function checkWorkflow(raw: unknown, entry: ManifestEntry, listed: CredentialRef[], templateIds: Set<string>): string[] {
	const problems: string[] = [];
	if (!isPlainObject(raw)) return ['must be a workflow JSON object'];
	const workflow = raw as WorkflowJson;
	if (workflow.id !== entry.id) problems.push(`"id" is ${JSON.stringify(workflow.id)} but the manifest says "${entry.id}"`);
	if (workflow.name !== entry.name) problems.push(`"name" is ${JSON.stringify(workflow.name)} but the manifest says "${entry.name}"`);
	const meta = isPlainObject(workflow.meta) ? workflow.meta : undefined;
	if (!meta) problems.push('needs "meta" with "templateVersion"');
	else if (meta.templateVersion !== entry.version) {
		problems.push(`meta.templateVersion is ${JSON.stringify(meta.templateVersion)} but the manifest version is "${entry.version}"`);
	}
	if (!Array.isArray(workflow.tags)) problems.push('needs "tags" (a list, may be empty)');
	if (!isPlainObject(workflow.connections)) problems.push('needs "connections" (an object)');
	if (!Array.isArray(workflow.nodes) || workflow.nodes.length === 0) {
		problems.push('needs "nodes" (a non-empty list)');
		return problems;
	}
	if (!isPlainObject(workflow.settings)) problems.push('needs "settings" (an object)');
	else {
		for (const key of Object.keys(workflow.settings)) {
			if (!PUBLIC_API_SETTINGS.includes(key)) {
				problems.push(`settings.${key} is not accepted by n8n's public API (allowed: ${PUBLIC_API_SETTINGS.join(', ')})`);
			}
		}
	}

	const nodeIds = new Set<string>();
	const nodeNames = new Set<string>();
	workflow.nodes.forEach((node: WorkflowNode, index) => {
		const label = `node "${node?.name ?? index}"`;
		if (!isPlainObject(node)) {
			problems.push(`nodes[${index}] must be an object`);
			return;
		}
		if (typeof node.id !== 'string' || !UUID.test(node.id)) problems.push(`${label} needs a stable "id" (a UUID)`);
		else if (nodeIds.has(node.id)) problems.push(`${label} has id ${node.id}, which another node in this file has too`);
		else nodeIds.add(node.id);
		if (typeof node.name !== 'string' || node.name === '') problems.push(`nodes[${index}] needs a "name"`);
		else if (nodeNames.has(node.name)) problems.push(`${label}: two nodes have this name`);
		else nodeNames.add(node.name);
		if (typeof node.type !== 'string' || !/^(n8n-nodes-base|@n8n\/n8n-nodes-langchain|n8n-nodes-ipai-lakehouse)\.[A-Za-z0-9]+$/.test(node.type)) {
			problems.push(`${label} has type ${JSON.stringify(node.type)}: use "${PACKAGE_NAME}.<name>", "n8n-nodes-base.<name>" or "@n8n/n8n-nodes-langchain.<name>"`);
		}
		if (typeof node.typeVersion !== 'number') problems.push(`${label} needs a numeric "typeVersion"`);
		if (node.credentials !== undefined) {
			if (!isPlainObject(node.credentials)) problems.push(`${label}: "credentials" must be an object`);
			else {
				for (const [type, ref] of Object.entries(node.credentials)) {
					if (!isPlainObject(ref) || typeof ref.name !== 'string' || ref.name === '') {
						problems.push(`${label}: credential ${type} must be {"name": "…"} (referenced by name only)`);
						continue;
					}
					const extra = Object.keys(ref).filter((key) => key !== 'name');
					if ('id' in ref) {
						problems.push(`${label}: credential ${type} "${ref.name}" has an "id"; reference credentials by name only (the import maps names to ids)`);
					} else if (extra.length > 0) {
						problems.push(`${label}: credential ${type} "${ref.name}" may only have "name" (found ${extra.join(', ')})`);
					}
				}
			}
		}
	});

	for (const secret of findSecrets(workflow)) problems.push(secret);

	const used = usedCredentials(workflow);
	const key = (ref: CredentialRef) => `${ref.type} "${ref.name}"`;
	const listedKeys = new Set(listed.map(key));
	const usedKeys = new Set(used.map(key));
	for (const ref of used) {
		if (!listedKeys.has(key(ref))) problems.push(`uses credential ${key(ref)}, which its manifest entry does not list`);
	}
	for (const ref of listed) {
		if (!usedKeys.has(key(ref))) problems.push(`manifest lists credential ${key(ref)}, which no node uses`);
	}

	for (const reference of workflowReferences(workflow)) {
		if (!templateIds.has(reference.value)) {
			problems.push(`${reference.where} is "${reference.value}", which is not the id of a template in manifest.json`);
		} else if (reference.value === workflow.id && reference.where === 'settings.errorWorkflow') {
			problems.push('settings.errorWorkflow names the workflow itself');
		}
	}
	return problems;
}

// ---------------------------------------------------------------------------------------------
// Loading and ordering

/**
 * Reads workflows/manifest.json and every template it lists, checks them (throws a TemplateError
 * listing every problem) and returns them so that a template comes after the templates it
 * refers to (error workflow, Execute Workflow targets). Reference cycles keep manifest order;
 * the import resolves them with a second pass.
 */
export function loadTemplates(directory = defaultWorkflowsDirectory()): { manifest: Manifest; templates: Template[] } {
	const manifestFile = path.join(directory, 'manifest.json');
	if (!fs.existsSync(manifestFile)) throw new TemplateError(`${manifestFile} does not exist`);
	const manifest = readJson(manifestFile);
	const jsonFiles = fs.readdirSync(directory).filter((file) => file.endsWith('.json') && file !== 'manifest.json');
	const workflows = new Map<string, unknown>();
	const parseProblems: string[] = [];
	for (const file of jsonFiles) {
		try {
			workflows.set(file, readJson(path.join(directory, file)));
		} catch (error) {
			parseProblems.push(`${file}: ${error instanceof Error ? error.message : String(error)}`);
		}
	}
	const problems = [...parseProblems, ...checkTemplates(manifest, workflows, jsonFiles)];
	if (problems.length > 0) throw new TemplateError(`workflow templates in ${directory} break the conventions:`, problems);
	const typed = manifest as Manifest;
	const templates = typed.templates.map((entry) => ({
		entry,
		slug: entry.file.replace(/\.json$/, ''),
		workflow: workflows.get(entry.file) as WorkflowJson,
	}));
	return { manifest: typed, templates: orderTemplates(templates) };
}

function readJson(file: string): unknown {
	const text = fs.readFileSync(file, 'utf8');
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new Error(`invalid JSON in ${path.basename(file)}: ${error instanceof Error ? error.message : String(error)}`);
	}
}

/** Referenced templates before their referrers; stable otherwise. */
export function orderTemplates(templates: Template[]): Template[] {
	const byId = new Map(templates.map((template) => [template.entry.id, template]));
	const ordered: Template[] = [];
	const state = new Map<string, 'visiting' | 'done'>();
	const visit = (template: Template) => {
		const id = template.entry.id;
		if (state.get(id)) return; // done, or a cycle: keep the order we have
		state.set(id, 'visiting');
		for (const reference of referencedTemplateIds(template.workflow)) {
			const target = byId.get(reference);
			if (target && target !== template) visit(target);
		}
		state.set(id, 'done');
		ordered.push(template);
	};
	templates.forEach(visit);
	return ordered;
}

// ---------------------------------------------------------------------------------------------
// Import rewrite

export interface InstanceCredential {
	id: string;
	name: string;
	type: string;
}

export class MissingCredentialsError extends Error {
	constructor(readonly missing: Array<CredentialRef & { templates: string[] }>) {
		super(
			`${missing.length} credential(s) the templates need do not exist in n8n:\n` +
				missing.map((ref) => `  - "${ref.name}" of type ${ref.type} (used by ${ref.templates.join(', ')})`).join('\n') +
				'\nCreate each one in n8n (Overview → Create → Credential, pick the type, and give it exactly this name),' +
				' or through the public API: POST /api/v1/credentials {"name", "type", "data"}' +
				' (GET /api/v1/credentials/schema/<type> lists the fields). Then run the import again.',
		);
		this.name = 'MissingCredentialsError';
	}
}

/** Credentials the templates need that the instance does not have (by exact name and type). */
export function missingCredentials(templates: Template[], available: InstanceCredential[]): Array<CredentialRef & { templates: string[] }> {
	const missing = new Map<string, CredentialRef & { templates: string[] }>();
	for (const template of templates) {
		for (const ref of usedCredentials(template.workflow)) {
			if (available.some((credential) => credential.name === ref.name && credential.type === ref.type)) continue;
			const key = `${ref.type}\u0000${ref.name}`;
			const item = missing.get(key) ?? { ...ref, templates: [] };
			item.templates.push(template.entry.file);
			missing.set(key, item);
		}
	}
	return [...missing.values()];
}

export interface RewriteOptions {
	/** The target instance's id for a template id, when known (undefined: not created yet). */
	workflowId(templateId: string): string | undefined;
	credentials: InstanceCredential[];
}

export interface RewriteResult {
	workflow: WorkflowJson;
	/** Template ids that could not be mapped yet (left as they are). */
	unresolved: string[];
}

/**
 * A copy of the template ready for one instance: credential references get that instance's ids
 * (an error names every credential that is missing or ambiguous), references to other templates
 * get its workflow ids. Template ids also inside expressions are replaced as whole words (a
 * dispatcher may pick its target with an expression).
 */
export function rewriteForImport(template: Template, options: RewriteOptions, allTemplateIds: string[]): RewriteResult {
	const workflow = structuredClone(template.workflow);
	const missing = missingCredentials([{ ...template, workflow }], options.credentials);
	if (missing.length > 0) throw new MissingCredentialsError(missing);
	for (const node of workflow.nodes) {
		if (!isPlainObject(node.credentials)) continue;
		for (const [type, ref] of Object.entries(node.credentials)) {
			const name = (ref as { name: string }).name;
			const matches = options.credentials.filter((credential) => credential.type === type && credential.name === name);
			if (matches.length > 1) {
				throw new TemplateError(
					`${matches.length} n8n credentials of type ${type} are named "${name}" (ids ${matches.map((m) => m.id).join(', ')}): ` +
						'rename or delete the extra ones so the import knows which one the templates mean',
				);
			}
			node.credentials[type] = { id: matches[0].id, name };
		}
	}
	const unresolved = new Set<string>();
	for (const reference of workflowReferences(workflow)) {
		const real = options.workflowId(reference.value);
		if (real === undefined) unresolved.add(reference.value);
		else reference.set(real);
	}
	const mapped = allTemplateIds.filter((id) => options.workflowId(id) !== undefined && options.workflowId(id) !== id);
	if (mapped.length > 0) {
		const pattern = new RegExp(`\\b(${mapped.map((id) => id.replace(/[^A-Za-z0-9]/g, '')).join('|')})\\b`, 'g');
		const replaceInExpressions = (value: unknown): unknown => {
			if (typeof value === 'string') {
				return isExpression(value) ? value.replace(pattern, (id) => options.workflowId(id) ?? id) : value;
			}
			if (Array.isArray(value)) return value.map(replaceInExpressions);
			if (isPlainObject(value)) {
				for (const [key, child] of Object.entries(value)) value[key] = replaceInExpressions(child);
			}
			return value;
		};
		for (const node of workflow.nodes) if (isPlainObject(node.parameters)) replaceInExpressions(node.parameters);
	}
	return { workflow, unresolved: [...unresolved] };
}

/** The line shown as the workflow's description in n8n: which template and version it came from. */
export function templateDescription(entry: ManifestEntry): string {
	return `${entry.description} (template ${entry.id} ${entry.version}, ${PACKAGE_NAME})`;
}

/** Reads the template version back from a description written by templateDescription(). */
export function versionFromDescription(description: unknown, templateId: string): string | undefined {
	if (typeof description !== 'string') return undefined;
	const match = new RegExp(`\\(template ${templateId} (\\S+), `).exec(description);
	return match?.[1];
}
