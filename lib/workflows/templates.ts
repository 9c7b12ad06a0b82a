/**
 * The workflow templates in workflows/ and their manifest: loading (checked against the conventions,
 * templateChecks.ts) and dependency order. The rewrite applied on import is templateImport.ts.
 *
 * No n8n imports: the import command, tests and the demo all use this.
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkTemplates } from './templateChecks';
import { referencedTemplateIds, TemplateError, type Manifest, type Template } from './templateManifest';
import type { WorkflowJson } from './workflowTypes';

export function defaultWorkflowsDirectory(): string {
	// lib/workflows → <package>/workflows, from the sources and from dist/lib/workflows (dist/workflows).
	return path.resolve(__dirname, '..', '..', 'workflows');
}

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
