/**
 * The node parameters (or a dispatched connector's config) as the engine's ingest options: the
 * target table, key, bad-row handling and the file-format options.
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { isColumnType, type ColumnType } from '../../../lib/lakehouse/columnTypes';
import type { IngestOptions } from '../../../lib/sources/files';
import { dispatchedConnector } from '../../shared/connectorRun';

type Base = Omit<IngestOptions, 'connectorId' | 'runId'>;

/**
 * Item i's value of a setting the dispatched connector's config may carry (Connector From:
 * Dispatched Item), else the node parameter's. With a config, merging is on when it names key columns.
 */
export function settingsOf(fn: IExecuteFunctions, i: number) {
	const config = dispatchedConnector(fn, i, 'file')?.config;
	const setting = (name: string, fallback: string): string => String(config?.[name] ?? fn.getNodeParameter(name, i, fallback) ?? '');
	return {
		setting,
		writeMode: config ? (config.keyColumns ? 'merge' : 'append') : setting('writeMode', 'append'),
	};
}

export function readOptions(fn: IExecuteFunctions, i: number, { setting, writeMode }: ReturnType<typeof settingsOf>): Base {
	const node = fn.getNode();
	const schema = setting('schema', 'ipai_bronze_core');
	const table = setting('table', '').trim();
	if (!/^ipai_bronze_[a-z0-9_]+$/.test(schema)) throw new NodeOperationError(node, `File Ingest writes bronze schemas only (ipai_bronze_*), not "${schema}"`, { itemIndex: i });
	if (!table) throw new NodeOperationError(node, 'Name the target table', { itemIndex: i });
	const options = fn.getNodeParameter('options', i, {}) as IDataObject;
	const key = writeMode === 'merge' ? setting('keyColumns', '').split(',').map((k) => k.trim()).filter(Boolean) : undefined;
	if (writeMode === 'merge' && (!key || key.length === 0)) throw new NodeOperationError(node, 'Merge by key needs at least one key column', { itemIndex: i });
	let columnTypes: Record<string, ColumnType> | undefined;
	const rawTypes = options.columnTypes;
	if (rawTypes !== undefined && rawTypes !== '' && rawTypes !== '{}') {
		let parsed: unknown = rawTypes;
		if (typeof rawTypes === 'string') {
			try {
				parsed = JSON.parse(rawTypes);
			} catch {
				throw new NodeOperationError(node, 'Column Types is not valid JSON', { itemIndex: i });
			}
		}
		columnTypes = {};
		for (const [column, type] of Object.entries(parsed as Record<string, unknown>)) {
			if (typeof type !== 'string' || !isColumnType(type)) throw new NodeOperationError(node, `Column type "${String(type)}" for "${column}" is not one the lakehouse knows`, { itemIndex: i });
			columnTypes[column] = type;
		}
	}
	const header = options.header === 'yes' ? true : options.header === 'no' ? false : undefined;
	return {
		table: { schema, name: table },
		key,
		format: (options.format as Base['format']) ?? 'auto',
		compression: (options.compression as Base['compression']) ?? 'auto',
		onBadRow: setting('onBadRow', 'fail') === 'skip' ? 'skip' : 'fail',
		columnTypes,
		sampleRows: options.sampleRows ? Number(options.sampleRows) : undefined,
		rawRecord: options.rawRecord === 'full' ? 'full' : 'compact',
		recordsPath: (options.recordsPath as string) || undefined,
		csv: {
			strictHeaders: options.strictHeaders === true,
			delimiter: (options.delimiter as string) || undefined,
			quote: (options.quote as string) || undefined,
			header,
			encoding: options.encoding === 'utf-8' || options.encoding === 'latin1' ? options.encoding : undefined,
		},
	};
}
