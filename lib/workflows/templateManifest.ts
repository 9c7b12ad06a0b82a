/**
 * The template contract: the manifest's entries, the template conventions' constants, and what a
 * template uses (credentials by name, other templates by id). No n8n imports.
 */
import { isExpression, isPlainObject } from './workflowTypes';
import type { WorkflowJson } from './workflowTypes';

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
export const TEMPLATE_ID = /^[A-Za-z0-9]{1,21}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isSemver(version: unknown): boolean {
	return typeof version === 'string' && SEMVER.test(version);
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
export function workflowReferences(workflow: WorkflowJson): WorkflowReference[] {
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
