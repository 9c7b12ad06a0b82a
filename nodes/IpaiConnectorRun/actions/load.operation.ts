/**
 * Load Items: lands the incoming n8n items in a bronze table through the lakehouse loader, so any
 * node (HTTP Request, a SaaS node, a webhook) gets the same guarantees as the built-in sources:
 * pages committed whole, merge by key, schema evolution, a run row with counts.
 */
import type { IDataObject } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { isColumnType } from '../../../lib/lakehouse/columnTypes';
import { loadStream, type Page } from '../../../lib/lakehouse/loader';
import { failRun, finishRun, startRun } from '../../../lib/lakehouse/runs';
import type { ColumnSpec } from '../../../lib/lakehouse/tables';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, plain, type Operation } from '../../shared/items';

export const loadItems: Operation = async function (session, items) {
	const node = this.getNode();
	const schema = this.getNodeParameter('schema', 0) as string;
	const table = this.getNodeParameter('table', 0) as string;
	const options = this.getNodeParameter('loadOptions', 0, {}) as IDataObject;
	const key = (this.getNodeParameter('keyFields', 0, '') as string).split(',').map((k) => k.trim()).filter(Boolean);
	const pageSize = Math.max(1, Number(options.pageSize ?? 5000));
	const stream = (options.stream as string) || table;
	const paired = items.map((_, i) => ({ item: i }));

	try {
		if (!/^ipai_bronze_[a-z0-9_]+$/.test(schema)) {
			throw new NodeOperationError(node, `Load Items writes bronze schemas only (ipai_bronze_*), not "${schema}"`, { itemIndex: 0 });
		}
		const columns = columnTypes(objectParameter(this, 'columnTypes', 0), node);

		let runId = this.getNodeParameter('runId', 0, '') as string;
		let connectorId: string;
		let ownRun = false;
		if (runId) {
			const { rows } = await session.pool.query('select connector_id, status from public.ipai_connector_run where id = $1', [runId]);
			if (rows.length === 0) throw new NodeOperationError(node, `Run ${runId} does not exist`, { itemIndex: 0 });
			if (rows[0].status !== 'running') throw new NodeOperationError(node, `Run ${runId} is ${rows[0].status}, not running`, { itemIndex: 0 });
			connectorId = rows[0].connector_id;
		} else {
			const started = await startRun(session.pool, {
				connector: {
					connectorType: (this.getNodeParameter('connectorType', 0, '') as string) || 'n8n',
					name: (this.getNodeParameter('connectorName', 0, '') as string) || `${schema}.${table}`,
				},
				holder: `n8n execution ${this.getExecutionId()}`,
				metadata: { n8n_execution_id: this.getExecutionId(), n8n_workflow_id: this.getWorkflow().id },
			});
			if (started.status === 'skipped') return [{ json: plain(started as unknown as IDataObject), pairedItem: paired }];
			({ runId, connectorId } = started);
			ownRun = true;
		}

		function* pages(): Generator<Page> {
			for (let offset = 0; offset < items.length; offset += pageSize) {
				yield { records: items.slice(offset, offset + pageSize).map((item) => item.json as Record<string, unknown>) };
			}
		}
		try {
			const result = await loadStream(session.pool, pages(), {
				connectorId,
				runId,
				stream,
				table: { schema, name: table },
				key: key.length > 0 ? key : undefined,
				columns,
			});
			if (ownRun) await finishRun(session.pool, runId);
			const summary = { runId, connectorId, table: `${schema}.${table}`, ...result };
			return [{ json: plain(summary as unknown as IDataObject), pairedItem: paired }];
		} catch (error) {
			if (ownRun) await failRun(session.pool, runId, { error, secrets: session.secrets }).catch(() => undefined);
			throw error;
		}
	} catch (error) {
		const safe = error instanceof NodeOperationError ? error : nodeError(node, error, 0, session.secrets);
		if (this.continueOnFail()) return [{ json: { error: safe.message }, pairedItem: paired }];
		throw safe;
	}
};

function columnTypes(map: Record<string, unknown>, node: import('n8n-workflow').INode): ColumnSpec[] {
	return Object.entries(map).map(([field, type]) => {
		if (typeof type !== 'string' || !isColumnType(type)) {
			throw new NodeOperationError(node, `Column type "${String(type)}" for "${field}" is not one the lakehouse knows`, { itemIndex: 0 });
		}
		return { field, type };
	});
}

