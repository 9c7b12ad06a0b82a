/** Define Expectation: the arguments of the chosen kind, written once the database accepts them. */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { defineExpectation, ExpectationRefusedError } from '../../../lib/dq/definitions';
import type { ExpectationAction, ExpectationKind } from '../../../lib/dq/types';
import { nodeError } from '../../shared/lakehouse';
import { actionableError, perItem, type Operation } from '../../shared/items';

const list = (text: string): string[] => text.split(',').map((v) => v.trim()).filter((v) => v.length > 0);

function numberOrText(value: string): number | string {
	return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value.trim();
}

/** The args object of one kind, from the node's fields. */
export function argsFor(fn: IExecuteFunctions, i: number, kind: ExpectationKind): Record<string, unknown> {
	const get = <T>(name: string, fallback: T): T => fn.getNodeParameter(name, i, fallback) as T;
	const bounds = (): Record<string, unknown> => {
		const out: Record<string, unknown> = {};
		const min = String(get('min', '')).trim();
		const max = String(get('max', '')).trim();
		if (min !== '') out.min = numberOrText(min);
		if (max !== '') out.max = numberOrText(max);
		return out;
	};
	switch (kind) {
		case 'not_null':
		case 'unique':
			return { columns: get<string[]>('columns', []) };
		case 'accepted_values':
			return { column: get('column', ''), values: list(get('values', '')) };
		case 'range': {
			const inclusive = get('inclusive', true);
			return { column: get('column', ''), ...bounds(), min_inclusive: inclusive, max_inclusive: inclusive };
		}
		case 'regex':
			return { column: get('column', ''), pattern: get('pattern', '') };
		case 'relationship':
			return { columns: get<string[]>('columns', []), to_table: get('toTable', ''), to_columns: get<string[]>('toColumns', []) };
		case 'expression':
			return { expression: get('expression', '') };
		case 'custom_sql':
			return { query: get('query', '') };
		case 'row_count':
			return bounds();
		case 'freshness': {
			const column = get('column', '');
			return { ...(column ? { column } : {}), max_age: get('maxAge', '6 hours') };
		}
		case 'volume_anomaly':
			return { threshold: get('threshold', 3.5), min_history: get('minHistory', 5) };
		default:
			return {};
	}
}

export const defineOperation: Operation = async function (this: IExecuteFunctions, session, items) {
	return perItem(
		this,
		items,
		async (i) => {
			const kind = this.getNodeParameter('kind', i) as ExpectationKind;
			const options = this.getNodeParameter('defineOptions', i, {}) as IDataObject;
			const args = argsFor(this, i, kind);
			const key = list(String(options.key ?? ''));
			if (key.length > 0) args.key = key;
			const expectation = await defineExpectation(session.pool, {
				targetTable: this.getNodeParameter('targetTable', i) as string,
				name: this.getNodeParameter('name', i) as string,
				kind,
				args,
				action: this.getNodeParameter('onFailure', i) as ExpectationAction,
				enabled: options.enabled === undefined ? true : Boolean(options.enabled),
				owner: options.owner ? String(options.owner) : null,
				runbookUrl: options.runbookUrl ? String(options.runbookUrl) : null,
				description: options.description ? String(options.description) : null,
			});
			return expectation as unknown as IDataObject;
		},
		(e, i) =>
			e instanceof ExpectationRefusedError
				? actionableError(this.getNode(), e.message, { itemIndex: i, description: 'Nothing was stored. Fix the definition and run the node again.' })
				: nodeError(this.getNode(), e, i, session.secrets),
	);
};
