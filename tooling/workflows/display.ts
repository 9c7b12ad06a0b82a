/**
 * Parameter visibility as n8n-workflow's NodeHelpers.displayParameter / checkConditions decide it
 * (n8n-workflow 2.40, dist/cjs/node-helpers.js), including `@version`, `@tool`, `@feature`, `/root`
 * paths and `_cnd` conditions; unset parameters take their defaults first, as n8n's
 * getNodeParameters does. Replicated on plain objects so the validator needs no n8n import.
 */
import { isExpression, isPlainObject, type DisplayOptions, type NodeTypeDescription, type PropertyDescription } from '../../lib/workflows/workflowTypes';

export interface Context {
	version: number;
	isTool: boolean;
	description: NodeTypeDescription;
	/** Top-level parameter values with defaults applied. */
	root: Record<string, unknown>;
}

function getPath(values: unknown, path: string): unknown {
	let current = values;
	for (const segment of path.split('.')) {
		if (!isPlainObject(current) && !Array.isArray(current)) return undefined;
		current = (current as Record<string, unknown>)[segment];
	}
	return current;
}

function propertyValues(values: Record<string, unknown>, propertyName: string, context: Context): unknown[] {
	let value: unknown;
	if (propertyName.startsWith('/')) value = getPath(context.root, propertyName.slice(1));
	else if (propertyName === '@version') value = context.version || 0;
	else if (propertyName === '@tool') value = context.isTool;
	else if (propertyName === '@feature') {
		return Object.entries(context.description.features ?? {})
			.filter(([, condition]) => checkConditions(condition['@version'] ?? [], [context.version]))
			.map(([name]) => name);
	} else value = getPath(values, propertyName);
	if (isPlainObject(value) && value.__rl) value = value.value;
	return Array.isArray(value) ? value : [value];
}

export function deepEqual(a: unknown, b: unknown): boolean {
	if (a === b) return true;
	if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
	if (Array.isArray(a) !== Array.isArray(b)) return false;
	const aKeys = Object.keys(a as object);
	const bKeys = Object.keys(b as object);
	if (aKeys.length !== bKeys.length) return false;
	return aKeys.every((key) => deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

export function checkConditions(conditions: unknown[], actualValues: unknown[]): boolean {
	return conditions.some((condition) => {
		if (isPlainObject(condition) && isPlainObject(condition._cnd) && Object.keys(condition).length === 1) {
			const [key, target] = Object.entries(condition._cnd)[0] as [string, unknown];
			if (actualValues.length === 0) return key === 'not';
			return actualValues.every((actual) => {
				const a = actual as number;
				const t = target as number;
				switch (key) {
					case 'eq':
						return deepEqual(actual, target);
					case 'not':
						return !deepEqual(actual, target);
					case 'gte':
						return a >= t;
					case 'lte':
						return a <= t;
					case 'gt':
						return a > t;
					case 'lt':
						return a < t;
					case 'between': {
						const { from, to } = target as { from: number; to: number };
						return a >= from && a <= to;
					}
					case 'includes':
						return typeof actual === 'string' && actual.includes(target as string);
					case 'startsWith':
						return typeof actual === 'string' && actual.startsWith(target as string);
					case 'endsWith':
						return typeof actual === 'string' && actual.endsWith(target as string);
					case 'regex':
						return typeof actual === 'string' && new RegExp(target as string).test(actual);
					case 'exists':
						return actual !== null && actual !== undefined && actual !== '';
					default:
						return false;
				}
			});
		}
		return actualValues.includes(condition);
	});
}

export function displayed(
	options: DisplayOptions | undefined,
	values: Record<string, unknown>,
	context: Context,
): boolean {
	if (!options) return true;
	for (const [name, conditions] of Object.entries(options.show ?? {})) {
		const actual = propertyValues(values, name, context);
		// n8n shows a parameter whose controlling value is an expression (known only at run time).
		if (actual.some(isExpression)) return true;
		if (!checkConditions(conditions, actual)) return false;
	}
	for (const [name, conditions] of Object.entries(options.hide ?? {})) {
		const actual = propertyValues(values, name, context);
		if (actual.length !== 0 && checkConditions(conditions, actual)) return false;
	}
	return true;
}

/** Unset parameters take the default of their first visible definition (in description order). */
export function withDefaults(
	properties: PropertyDescription[],
	values: Record<string, unknown>,
	context: Omit<Context, 'root'>,
): Record<string, unknown> {
	const resolved: Record<string, unknown> = { ...values };
	// Two passes: a default set late (e.g. an operation) can reveal a parameter listed earlier.
	for (let pass = 0; pass < 2; pass++) {
		for (const property of properties) {
			if (property.name in resolved) continue;
			if (displayed(property.displayOptions, resolved, { ...context, root: resolved })) {
				resolved[property.name] = property.default;
			}
		}
	}
	return resolved;
}
