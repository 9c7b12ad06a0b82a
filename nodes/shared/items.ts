import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import type { LakehouseSession } from './lakehouse';

/** One operation of the node: given the items, returns output items (paired to their inputs). */
export type Operation = (this: IExecuteFunctions, session: LakehouseSession, items: INodeExecutionData[]) => Promise<INodeExecutionData[]>;

/** Runs fn per item, with continueOnFail and pairedItem handled the same way for every operation. */
export async function perItem(
	fn: IExecuteFunctions,
	items: INodeExecutionData[],
	each: (i: number) => Promise<IDataObject | IDataObject[]>,
	toError: (error: unknown, i: number) => Error,
): Promise<INodeExecutionData[]> {
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const result = await each(i);
			for (const json of Array.isArray(result) ? result : [result]) out.push({ json: plain(json), pairedItem: { item: i } });
		} catch (error) {
			if (fn.continueOnFail()) {
				out.push({ json: { error: toError(error, i).message }, pairedItem: { item: i } });
				continue;
			}
			throw toError(error, i);
		}
	}
	return out;
}

/** JSON-safe output: dates as ISO strings, bigints as strings. */
export function plain(value: IDataObject): IDataObject {
	return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))) as IDataObject;
}

export function jsonParameter(fn: IExecuteFunctions, name: string, i: number, fallback: unknown): unknown {
	const value = fn.getNodeParameter(name, i, fallback) as unknown;
	if (typeof value !== 'string') return value;
	if (value.trim() === '') return fallback;
	try {
		return JSON.parse(value);
	} catch {
		throw new NodeOperationError(fn.getNode(), `The parameter "${name}" is not valid JSON`, { itemIndex: i });
	}
}

export function objectParameter(fn: IExecuteFunctions, name: string, i: number): Record<string, unknown> {
	const value = jsonParameter(fn, name, i, {});
	if (value === null || typeof value !== 'object' || Array.isArray(value)) {
		throw new NodeOperationError(fn.getNode(), `The parameter "${name}" must be a JSON object`, { itemIndex: i });
	}
	return value as Record<string, unknown>;
}
