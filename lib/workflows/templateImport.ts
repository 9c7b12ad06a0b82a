/**
 * The rewrite applied on import: template ids become the target instance's workflow ids, credential
 * names its credential ids.
 */
import { isExpression, isPlainObject } from './workflowTypes';
import { PACKAGE_NAME, TemplateError, usedCredentials, workflowReferences, type CredentialRef, type ManifestEntry, type Template } from './templateManifest';
import type { WorkflowJson } from './workflowTypes';


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
