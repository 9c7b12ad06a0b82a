/** The Options collection: how files are read (format, compression, CSV dialect, types) and object-storage limits. */
import type { INodeProperties } from 'n8n-workflow';

export const optionsField: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Column Types',
			name: 'columnTypes',
			type: 'json',
			default: '{}',
			description: 'Column → type overrides, e.g. {"zip": "text", "amount": "numeric"}. Types: boolean, bigint, numeric, double, date, timestamp, timestamptz, jsonb, text.',
		},
		{
			displayName: 'Compression',
			name: 'compression',
			type: 'options',
			options: [
				{ name: 'Detect', value: 'auto' },
				{ name: 'Gzip', value: 'gzip' },
				{ name: 'None', value: 'none' },
			],
			default: 'auto',
		},
		{
			displayName: 'Delimiter',
			name: 'delimiter',
			type: 'string',
			default: '',
			description: 'CSV field delimiter; empty: detected (comma, tab, semicolon, pipe)',
		},
		{
			displayName: 'Encoding',
			name: 'encoding',
			type: 'options',
			options: [
				{ name: 'Detect', value: 'auto' },
				{ name: 'UTF-8', value: 'utf-8' },
				{ name: 'Latin-1 (ISO-8859-1)', value: 'latin1' },
			],
			default: 'auto',
		},
		{
			displayName: 'Format',
			name: 'format',
			type: 'options',
			options: [
				{ name: 'Arrow IPC / Feather', value: 'arrow' },
				{ name: 'CSV', value: 'csv' },
				{ name: 'Detect', value: 'auto' },
				{ name: 'JSON (Array, Object or Documents)', value: 'json' },
				{ name: 'NDJSON (JSON Lines)', value: 'ndjson' },
				{ name: 'Parquet', value: 'parquet' },
				{ name: 'TSV', value: 'tsv' },
			],
			default: 'auto',
		},
		{
			displayName: 'Header Row',
			name: 'header',
			type: 'options',
			options: [
				{ name: 'Detect', value: 'auto' },
				{ name: 'Yes', value: 'yes' },
				{ name: 'No', value: 'no' },
			],
			default: 'auto',
		},
		{
			displayName: 'Max Files per Run',
			name: 'maxFiles',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 1000,
			description: 'Object storage: load at most this many new files; the rest wait for the next run',
		},
		{
			displayName: 'Quote Character',
			name: 'quote',
			type: 'string',
			default: '',
			description: 'CSV quote character; empty: detected',
		},
		{
			displayName: 'Raw Record (CSV/TSV)',
			name: 'rawRecord',
			type: 'options',
			options: [
				{
					name: 'Only What the Columns Do Not Keep (Fast)',
					value: 'compact',
					description:
						'_ipai_raw holds the original text of values their typed column would print differently (+5, .5, 1e3, TRUE, timestamps with a zone), {} on most rows; the record is (to_jsonb(row) - the _ipai_ columns) || _ipai_raw. Lets the file go straight into COPY.',
				},
				{
					name: 'Whole Record on Every Row',
					value: 'full',
					description: '_ipai_raw holds every field of the row; the file is read row by row (several times slower)',
				},
			],
			default: 'compact',
		},
		{
			displayName: 'Records Path (JSON)',
			name: 'recordsPath',
			type: 'string',
			default: '',
			placeholder: 'features',
			description:
				'Where the records are in a JSON or NDJSON document, as dot-separated keys: features (GeoJSON), data.items (API dumps). One row per element of the array there. Empty: the elements of a top-level array, or a top-level object as one row.',
		},
		{
			displayName: 'Sample Rows',
			name: 'sampleRows',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 20480,
			description: 'Rows read to decide column types (CSV, JSON)',
		},
		{
			displayName: 'Stream',
			name: 'stream',
			type: 'string',
			default: '',
			description: 'Name of the connector stream whose state remembers loaded files (default: derived from bucket and prefix)',
		},
		{
			displayName: 'Strict Headers (CSV/TSV)',
			name: 'strictHeaders',
			type: 'boolean',
			default: false,
			description:
				'Whether a repeated header (also a and A, which become the same column name) fails the file with the file and header named. Off: repeats get numbered columns (a, a_2, …), listed in the output\'s repeatedHeaders.',
		},
	],
};
