import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

/** One Resource of a node's version 2, and the operations (by value) it groups. */
export interface ResourceGroup {
	name: string;
	value: string;
	description: string;
	operations: string[];
}

/**
 * From version 2 a node with many operations picks a Resource, then one of its operations, as n8n's
 * own nodes do; version 1 keeps its flat Operation list, so workflows saved with it still open and
 * run unchanged. Operation values stay the same in both versions (every other parameter shows by
 * `operation` alone), and each operation belongs to exactly one resource.
 */
export function resourceOperations(flat: INodeProperties, groups: ResourceGroup[]): INodeProperties[] {
	const options = flat.options as INodePropertyOptions[];
	const grouped = groups.flatMap((g) => g.operations);
	const missing = options.map((o) => String(o.value)).filter((v) => !grouped.includes(v));
	const unknown = grouped.filter((v) => !options.some((o) => o.value === v));
	if (missing.length || unknown.length || new Set(grouped).size !== grouped.length) {
		throw new Error(`Resources must group each operation once (missing: ${missing.join(', ') || 'none'}; unknown: ${unknown.join(', ') || 'none'})`);
	}
	const v2 = { '@version': [{ _cnd: { gte: 2 } }] };
	// New nodes open on the resource of the operation version 1 opened on.
	const resourceDefault = (groups.find((g) => g.operations.includes(String(flat.default))) ?? groups[0]).value;
	return [
		{ ...flat, default: flat.default, displayOptions: { show: { '@version': [1] } } },
		{
			displayName: 'Resource',
			name: 'resource',
			type: 'options',
			noDataExpression: true,
			options: groups.map(({ name, value, description }) => ({ name, value, description })).sort((a, b) => a.name.localeCompare(b.name)),
			default: resourceDefault,
			displayOptions: { show: v2 },
		},
		...groups.map(
			(g): INodeProperties => ({
				...flat,
				options: options.filter((o) => g.operations.includes(String(o.value))),
				default: g.operations.includes(String(flat.default)) ? flat.default : g.operations[0],
				displayOptions: { show: { ...v2, resource: [g.value] } },
			}),
		),
	];
}

/**
 * The fields of one or more operations, shown for those operations (as n8n's updateDisplayOptions
 * does for its operation files); a field's own conditions stay, after the operation.
 */
export function forOperations(operation: string[], fields: INodeProperties[]): INodeProperties[] {
	return fields.map((field) => ({ ...field, displayOptions: { ...field.displayOptions, show: { operation, ...field.displayOptions?.show } } }));
}

/** The Limit field of the operations that return a bounded list. */
export const LIMIT_FIELD: INodeProperties = {
	displayName: 'Limit',
	name: 'limit',
	type: 'number',
	typeOptions: { minValue: 1 },
	default: 50,
	description: 'Max number of results to return',
};
