import type { IDataObject, IExecuteFunctions, INode, INodeExecutionData, NodeApiError } from 'n8n-workflow';
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
	/** The output item for a failed item under Continue On Fail (default `{ error }`). */
	failedItem: (safe: Error, error: unknown, i: number) => Promise<IDataObject> | IDataObject = (safe) => ({ error: safe.message }),
): Promise<INodeExecutionData[]> {
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const result = await each(i);
			for (const json of Array.isArray(result) ? result : [result]) out.push({ json: plain(json), pairedItem: { item: i } });
		} catch (error) {
			const safe = restoreHeadline(toError(error, i));
			if (fn.continueOnFail()) {
				out.push({ json: plain(await failedItem(safe, error, i)), pairedItem: { item: i } });
				continue;
			}
			throw safe;
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

/**
 * Puts the node's own message back as the error's headline. n8n's NodeError replaces any message
 * that mentions a Node.js error code it knows (ECONNREFUSED, ENOTFOUND, ETIMEDOUT, ENOENT, EACCES…,
 * matched case-insensitively anywhere in the text) with a generic sentence ("The service refused the
 * connection - perhaps it is offline") and keeps ours only in `messages[]`; the canvas, the
 * execution's error and the Error Trigger all show the headline. Our messages already name what
 * failed and what to do, so n8n's sentence is dropped rather than kept as a second message.
 */
export function keepHeadline<E extends NodeOperationError | NodeApiError>(error: E, message: string): E {
	if (error.message !== message) {
		error.message = message;
		error.messages = error.messages.filter((m) => m !== message);
	}
	return error;
}

/**
 * The error a node throws for a failure it understood: `message` is the headline everywhere n8n
 * shows it (never rewritten), `description` the hint underneath, attached to the item.
 */
export function actionableError(node: INode, message: string | Error, options: { itemIndex?: number; description?: string } = {}): NodeOperationError {
	const text = typeof message === 'string' ? message : message.message;
	return keepHeadline(new NodeOperationError(node, message, { itemIndex: options.itemIndex, description: options.description }), text);
}

/**
 * keepHeadline for an error raised with a plain text (`new NodeOperationError(node, text)`) that
 * n8n rewrote because the text happens to contain a code it knows (a schema or file name typed by
 * the user can): the text is its cause's message, and the rewrite pushed it onto `messages[]`.
 */
export function restoreHeadline<E>(error: E): E {
	if (error instanceof NodeOperationError && error.cause instanceof Error) {
		const original = error.cause.message;
		if (error.message !== original && error.messages[error.messages.length - 1] === original) keepHeadline(error, original);
	}
	return error;
}

/** The node's chosen operation from its router's table; an unknown value is an error, never a default. */
export function chosenOperation<T>(fn: IExecuteFunctions, operations: Record<string, T>): T {
	const operation = fn.getNodeParameter('operation', 0) as string;
	const run = operations[operation];
	if (!run) throw new NodeOperationError(fn.getNode(), `Unknown operation "${operation}"`);
	return run;
}
