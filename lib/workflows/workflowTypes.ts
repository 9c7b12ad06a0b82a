/** Workflow JSON and the plain-object node and credential descriptions the validator reads. */

/** n8n evaluates a parameter value that starts with "=" as an expression. */
export function isExpression(value: unknown): boolean {
	return typeof value === 'string' && value.startsWith('=');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
	return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export interface DisplayOptions {
	show?: Record<string, unknown[]>;
	hide?: Record<string, unknown[]>;
}

/** One entry of `properties` (INodeProperties), or of a collection's `options`. */
export interface PropertyDescription {
	name: string;
	displayName?: string;
	type: string;
	default?: unknown;
	displayOptions?: DisplayOptions;
	/** options/multiOptions: {name, value}; collection: properties; fixedCollection: {name, values}. */
	options?: Array<Record<string, unknown>>;
	typeOptions?: Record<string, unknown>;
	/** resourceLocator modes. */
	modes?: Array<{ name: string }>;
}

export interface NodeCredentialDescription {
	name: string;
	required?: boolean;
	displayOptions?: DisplayOptions;
}

/** The parts of an INodeTypeDescription the validator reads. */
export interface NodeTypeDescription {
	name: string;
	displayName?: string;
	description?: string;
	version: number | number[];
	properties: PropertyDescription[];
	credentials?: NodeCredentialDescription[];
	/** Array of connection types (strings or {type}), or an n8n expression string. */
	inputs?: unknown;
	outputs?: unknown;
	usableAsTool?: boolean | { replacements?: Record<string, unknown> };
	features?: Record<string, { '@version'?: unknown[] }>;
}

export interface CredentialTypeDescription {
	name: string;
	displayName?: string;
}

export interface WorkflowNode {
	id?: string;
	name: string;
	type: string;
	typeVersion: number;
	parameters?: Record<string, unknown>;
	credentials?: Record<string, unknown>;
	disabled?: boolean;
	onError?: string;
	[key: string]: unknown;
}

export interface WorkflowConnection {
	node: string;
	type: string;
	index: number;
}

export interface WorkflowJson {
	id?: string;
	name?: string;
	nodes: WorkflowNode[];
	connections: Record<string, Record<string, Array<WorkflowConnection[] | null>>>;
	settings?: Record<string, unknown>;
	meta?: Record<string, unknown>;
	[key: string]: unknown;
}

export interface ValidationProblem {
	/** Node name, when the problem belongs to one node. */
	node?: string;
	message: string;
}
