/**
 * The template conventions (README "Workflow templates"): manifest entries, workflow settings the
 * public API accepts, stable node ids, credentials by name, no literal secrets.
 */
import { isSecretKeyName } from '../lakehouse/secrets';
import { isExpression, isPlainObject } from './workflowTypes';
import { isSemver, PACKAGE_NAME, PUBLIC_API_SETTINGS, TEMPLATE_ID, TRIGGERS, usedCredentials, UUID, workflowReferences, type CredentialRef, type ManifestEntry } from './templateManifest';
import type { WorkflowJson, WorkflowNode } from './workflowTypes';

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
