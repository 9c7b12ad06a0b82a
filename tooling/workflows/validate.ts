/**
 * Checks a workflow JSON against node type descriptions, the way n8n reads it: node types and
 * typeVersions, parameters (existence per version, visibility through displayOptions, option
 * values, collection keys), credential types and connections.
 *
 * Which parameters and credentials count is n8n's own decision (n8n-workflow's NodeHelpers:
 * getNodeParameters for defaults, displayParameter for displayOptions, getActiveCredentialTypes),
 * so `@version`, `@tool`, `@feature`, `/root` paths and `_cnd` conditions mean what they mean to n8n.
 * Descriptions are our node classes' `description` and n8n's `dist/types/nodes.json` and
 * `credentials.json` (nodeDescriptions.ts).
 */
import { isDeepStrictEqual } from 'util';
import { isFromAIOnlyExpression, NodeHelpers, type IDisplayOptions, type INode, type INodeParameters, type INodeProperties, type INodeTypeDescription } from 'n8n-workflow';
import type { NodeTypeRegistry, RegisteredType } from './nodeTypes';
import { isExpression, isPlainObject, type WorkflowJson, type WorkflowNode } from '../../lib/workflows/workflowTypes';

export interface ValidationProblem {
	/** Node name, when the problem belongs to one node. */
	node?: string;
	message: string;
}

interface Context {
	node: Pick<INode, 'typeVersion'>;
	description: INodeTypeDescription;
	/** The top level's display values, which `/path` conditions read. */
	root: INodeParameters;
}

/**
 * The values n8n decides visibility by at one level of parameters: getNodeParameters' own first
 * pass (simple-typed values with their defaults; inside a collection, only the values set).
 */
function displayValues(
	properties: INodeProperties[],
	values: Record<string, unknown>,
	context: Omit<Context, 'root'> & { root?: INodeParameters },
	parentType?: 'collection' | 'fixedCollection',
): INodeParameters {
	return (
		NodeHelpers.getNodeParameters(properties, values as INodeParameters, true, true, context.node, context.description, {
			onlySimpleTypes: true,
			dataIsResolved: true,
			nodeValuesRoot: context.root,
			parentType,
		}) ?? {}
	);
}

function shown(property: INodeProperties, values: INodeParameters, context: Context): boolean {
	return NodeHelpers.displayParameter(values, property, context.node, context.description, context.root);
}

function describeConditions(options: IDisplayOptions | undefined): string {
	const parts: string[] = [];
	for (const [name, values] of Object.entries(options?.show ?? {})) parts.push(`${name} is ${formatValues(values)}`);
	for (const [name, values] of Object.entries(options?.hide ?? {})) parts.push(`${name} is not ${formatValues(values)}`);
	return parts.join(' and ');
}

function formatValues(values: readonly unknown[] = []): string {
	return values.map((value) => JSON.stringify(isPlainObject(value) && value._cnd ? value._cnd : value)).join(' or ');
}

function closest(name: string, candidates: string[]): string | undefined {
	let best: { candidate: string; distance: number } | undefined;
	for (const candidate of candidates) {
		const distance = levenshtein(name.toLowerCase(), candidate.toLowerCase());
		if (!best || distance < best.distance) best = { candidate, distance };
	}
	return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.candidate : undefined;
}

function levenshtein(a: string, b: string): number {
	const row = Array.from({ length: b.length + 1 }, (_, i) => i);
	for (let i = 1; i <= a.length; i++) {
		let previous = row[0];
		row[0] = i;
		for (let j = 1; j <= b.length; j++) {
			const current = row[j];
			row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
			previous = current;
		}
	}
	return row[b.length];
}

// ---------------------------------------------------------------------------------------------
// Parameters

function hasDynamicOptions(property: INodeProperties): boolean {
	const typeOptions = property.typeOptions ?? {};
	return Boolean(typeOptions.loadOptionsMethod || typeOptions.loadOptions);
}

function checkParameters(
	properties: INodeProperties[],
	values: Record<string, unknown>,
	visibilityValues: INodeParameters,
	context: Context,
	path: string,
	report: (message: string) => void,
): void {
	for (const [key, value] of Object.entries(values)) {
		const label = `${path}${key}`;
		const definitions = properties.filter((property) => property.name === key);
		if (definitions.length === 0) {
			const suggestion = closest(key, [...new Set(properties.map((property) => property.name))]);
			report(
				`parameter "${label}" does not exist in ${context.description.name} v${context.node.typeVersion}` +
					(suggestion ? ` (did you mean "${suggestion}"?)` : ''),
			);
			continue;
		}
		const visible = definitions.filter((property) => shown(property, visibilityValues, context));
		if (visible.length === 0) {
			report(
				`parameter "${label}" is set but not shown with these settings (it needs ${definitions
					.map((property) => describeConditions(property.displayOptions))
					.join('; or ')}): n8n ignores it`,
			);
			continue;
		}
		checkValue(visible, value, label, context, report);
	}
}

function checkValue(
	definitions: INodeProperties[],
	value: unknown,
	label: string,
	context: Context,
	report: (message: string) => void,
): void {
	const property = definitions[0];
	if (isExpression(value) && property.noDataExpression && !isFromAIOnlyExpression(value as string)) {
		// n8n strips the "=" of such a parameter (getNodeParameters) and reads the rest as text;
		// only a lone $fromAI() placeholder keeps it, for an AI agent to fill.
		report(`parameter "${label}" takes no expression (noDataExpression): n8n reads it as the text ${JSON.stringify((value as string).slice(1))}`);
		return;
	}
	if (isExpression(value) || value === undefined || value === null) return;
	switch (property.type) {
		case 'options':
		case 'multiOptions': {
			if (definitions.some(hasDynamicOptions)) return;
			const allowed = [
				...new Set(definitions.flatMap((definition) => ((definition.options ?? []) as Array<{ value?: unknown }>).map((option) => option.value))),
			];
			const given = property.type === 'multiOptions' ? value : [value];
			if (!Array.isArray(given)) {
				report(`parameter "${label}" must be a list of values (multiOptions), got ${JSON.stringify(value)}`);
				return;
			}
			for (const item of given) {
				if (isExpression(item)) continue;
				if (!allowed.some((option) => isDeepStrictEqual(option, item))) {
					report(`parameter "${label}" has value ${JSON.stringify(item)}, which is not one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
				}
			}
			return;
		}
		case 'boolean':
			if (typeof value !== 'boolean') report(`parameter "${label}" must be true or false, got ${JSON.stringify(value)}`);
			return;
		case 'number':
			if (typeof value !== 'number') report(`parameter "${label}" must be a number, got ${JSON.stringify(value)}`);
			return;
		case 'collection': {
			if (!isPlainObject(value)) {
				report(`parameter "${label}" must be an object (collection), got ${JSON.stringify(value)}`);
				return;
			}
			const options = definitions.flatMap((definition) => (definition.options ?? []) as INodeProperties[]);
			checkParameters(options, value, displayValues(options, value, context, 'collection'), context, `${label}.`, report);
			return;
		}
		case 'fixedCollection': {
			if (!isPlainObject(value)) {
				report(`parameter "${label}" must be an object (fixedCollection), got ${JSON.stringify(value)}`);
				return;
			}
			const groups = definitions.flatMap((definition) => (definition.options ?? []) as Array<{ name: string; values?: INodeProperties[] }>);
			const multiple = definitions.some((definition) => definition.typeOptions?.multipleValues === true);
			for (const [groupName, groupValue] of Object.entries(value)) {
				const group = groups.find((candidate) => candidate.name === groupName);
				if (!group) {
					const suggestion = closest(groupName, groups.map((candidate) => candidate.name));
					report(
						`parameter "${label}.${groupName}" does not exist (options: ${groups.map((g) => g.name).join(', ')})` +
							(suggestion ? ` (did you mean "${suggestion}"?)` : ''),
					);
					continue;
				}
				if (isExpression(groupValue)) continue;
				const entries = multiple ? groupValue : [groupValue];
				if (!Array.isArray(entries)) {
					report(`parameter "${label}.${groupName}" must be a list (the collection takes multiple values)`);
					continue;
				}
				entries.forEach((entry, index) => {
					if (!isPlainObject(entry)) {
						report(`parameter "${label}.${groupName}${multiple ? `[${index}]` : ''}" must be an object`);
						return;
					}
					const groupProperties = group.values ?? [];
					const visibility = displayValues(groupProperties, entry, context, 'fixedCollection');
					checkParameters(groupProperties, entry, visibility, context, `${label}.${groupName}${multiple ? `[${index}]` : ''}.`, report);
				});
			}
			return;
		}
		case 'resourceLocator': {
			if (!isPlainObject(value)) return; // a plain string is the pre-resource-locator format, still accepted
			const modes = definitions.flatMap((definition) => (definition.modes ?? []).map((mode) => mode.name));
			if (value.__rl !== true) report(`parameter "${label}" is a resource locator and needs "__rl": true`);
			if (modes.length > 0 && typeof value.mode === 'string' && !modes.includes(value.mode)) {
				report(`parameter "${label}" has mode "${value.mode}", which is not one of ${modes.join(', ')}`);
			}
			return;
		}
		default:
			return;
	}
}

// ---------------------------------------------------------------------------------------------
// Connections

interface ConnectionSpec {
	/** Connection types the node may have on this side. */
	types: Set<string>;
	/** How many of each type, when the description lists them literally. */
	counts?: Map<string, number>;
}

function connectionSpec(spec: unknown): ConnectionSpec | undefined {
	if (Array.isArray(spec)) {
		const counts = new Map<string, number>();
		for (const entry of spec) {
			const type = typeof entry === 'string' ? entry : isPlainObject(entry) ? String(entry.type) : undefined;
			if (type) counts.set(type, (counts.get(type) ?? 0) + 1);
		}
		return { types: new Set(counts.keys()), counts };
	}
	if (typeof spec === 'string') {
		// An expression computed from the parameters: the types it can produce are the literals
		// it mentions; how many of each is only known at run time.
		const types = new Set<string>();
		for (const match of spec.matchAll(/['"](main|ai_[A-Za-z]+)['"]/g)) types.add(match[1]);
		if (/NodeConnectionTypes\.Main|type:\s*['"]main['"]/.test(spec)) types.add('main');
		return types.size > 0 ? { types } : undefined;
	}
	return undefined;
}

// ---------------------------------------------------------------------------------------------

/**
 * Problems of one workflow against the registry. An empty list means n8n will read every node,
 * parameter, credential reference and connection the way the template intends.
 */
export function validateWorkflow(workflow: WorkflowJson, registry: NodeTypeRegistry): ValidationProblem[] {
	const problems: ValidationProblem[] = [];
	const nodes = Array.isArray(workflow.nodes) ? workflow.nodes : [];
	const byName = new Map<string, { node: WorkflowNode; type?: RegisteredType }>();

	for (const node of nodes) {
		const report = (message: string) => problems.push({ node: node.name, message });
		if (byName.has(node.name)) {
			report(`two nodes are named "${node.name}": connections address nodes by name`);
			continue;
		}
		const versions = registry.versionsOf(node.type);
		if (versions.length === 0) {
			const suggestion = closest(node.type, registry.nodeTypeNames());
			report(`unknown node type "${node.type}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`);
			byName.set(node.name, { node });
			continue;
		}
		const type = registry.find(node.type, node.typeVersion);
		byName.set(node.name, { node, type });
		if (!type) {
			report(`typeVersion ${node.typeVersion} is not a version of ${node.type} (declared: ${versions.join(', ')})`);
			continue;
		}
		const { properties } = type.description;
		const parameters = isPlainObject(node.parameters) ? node.parameters : {};
		const base = { node: { typeVersion: node.typeVersion }, description: type.description };
		const root = displayValues(properties, parameters, base);
		const context: Context = { ...base, root };
		checkParameters(properties, parameters, root, context, '', report);
		checkCredentials(node, parameters, context, registry, report);
	}

	for (const [sourceName, byType] of Object.entries(workflow.connections ?? {})) {
		const source = byName.get(sourceName);
		if (!source) {
			problems.push({ message: `connections start at node "${sourceName}", which does not exist` });
			continue;
		}
		const report = (message: string) => problems.push({ node: sourceName, message });
		const outputs = source.type ? connectionSpec(source.type.description.outputs) : undefined;
		for (const [type, outputList] of Object.entries(byType ?? {})) {
			if (outputs && !outputs.types.has(type)) {
				report(`has a "${type}" connection, but ${source.node.type} only has ${[...outputs.types].join(', ')} outputs`);
				continue;
			}
			let outputCount = outputs?.counts?.get(type);
			// "On Error: Continue (using error output)" adds one main output.
			if (outputCount !== undefined && type === 'main' && source.node.onError === 'continueErrorOutput') outputCount += 1;
			(outputList ?? []).forEach((targets, outputIndex) => {
				if (!targets || targets.length === 0) return;
				if (outputCount !== undefined && outputIndex >= outputCount) {
					report(`connects from ${type} output ${outputIndex}, but ${source.node.type} has ${outputCount} ${type} output(s)`);
				}
				for (const connection of targets) {
					const target = byName.get(connection.node);
					if (!target) {
						report(`connects to node "${connection.node}", which does not exist`);
						continue;
					}
					if (connection.type !== type) {
						report(`connection to "${connection.node}" is listed under "${type}" but has type "${connection.type}"`);
					}
					const inputs = target.type ? connectionSpec(target.type.description.inputs) : undefined;
					if (!inputs) continue;
					if (!inputs.types.has(connection.type)) {
						report(
							`connects to "${connection.node}" as ${connection.type}, but ${target.node.type} takes ` +
								(inputs.types.size > 0 ? `only ${[...inputs.types].join(', ')} inputs` : 'no inputs'),
						);
						continue;
					}
					const inputCount = inputs.counts?.get(connection.type);
					if (inputCount !== undefined && connection.index >= inputCount) {
						report(`connects to "${connection.node}" ${connection.type} input ${connection.index}, but it has ${inputCount}`);
					}
				}
			});
		}
	}
	return problems;
}

function checkCredentials(
	node: WorkflowNode,
	parameters: Record<string, unknown>,
	context: Context,
	registry: NodeTypeRegistry,
	report: (message: string) => void,
): void {
	const { description } = context;
	let executed: INodeParameters;
	try {
		// The parameters n8n runs the node with (its Workflow applies these defaults on load).
		executed = NodeHelpers.getNodeParameters(description.properties, parameters as INodeParameters, true, false, context.node, description) ?? {};
	} catch (error) {
		report(`n8n cannot read the parameters of this node: ${error instanceof Error ? error.message : String(error)}`);
		return;
	}
	// null: an expression picks the credential type (HTTP Request's nodeCredentialType), known only at run time.
	const active = NodeHelpers.getActiveCredentialTypes({ ...node, parameters: executed } as unknown as INode, description);
	const declared = description.credentials ?? [];
	const given = isPlainObject(node.credentials) ? node.credentials : {};
	for (const credentialType of Object.keys(given)) {
		if (!registry.hasCredentialType(credentialType)) {
			report(`credential type "${credentialType}" does not exist`);
			continue;
		}
		if (active === null || active.has(credentialType)) continue;
		const definitions = declared.filter((credential) => credential.name === credentialType);
		if (definitions.length === 0) {
			report(
				`${node.type} does not take a "${credentialType}" credential` +
					(declared.length > 0 ? ` (it takes ${[...new Set(declared.map((c) => c.name))].join(', ')})` : ' (it takes none)'),
			);
			continue;
		}
		report(`credential "${credentialType}" is not used with these settings (it needs ${describeConditions(definitions[0].displayOptions)})`);
	}
	for (const credential of declared) {
		if (!credential.required || credential.name in given) continue;
		if (NodeHelpers.displayParameter(executed, credential, context.node, description)) {
			report(`needs a "${credential.name}" credential`);
		}
	}
}
