/**
 * Load Items names tables the way the file and source paths do (issue 16, security and records 8):
 * a name typed as `a.b` or `x"; drop …` becomes a snake_case table usable without quotes, and the
 * summary says what it became. The operation runs with a minimal stand-in for n8n's execute context
 * (parameters, node, execution id) and the real lakehouse.
 */
import fc from 'fast-check';
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { bronzeTableName } from '../../lib/lakehouse/tables';
import { execute as loadItems } from '../../nodes/IpaiConnectorRun/actions/loadItems.operation';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();

function context(parameters: Record<string, unknown>): IExecuteFunctions {
	return {
		getNode: () => ({ id: 'n', name: 'Load', type: 'n8n-nodes-ipai-lakehouse.ipaiConnectorRun', typeVersion: 1, position: [0, 0], parameters: {} }),
		getNodeParameter: (name: string, _i: number, fallback?: unknown) => (name in parameters ? parameters[name] : fallback),
		getExecutionId: () => 'exec-1',
		getWorkflow: () => ({ id: 'wf-1', name: 'names', active: false }),
		continueOnFail: () => false,
	} as unknown as IExecuteFunctions;
}

const items: INodeExecutionData[] = [{ json: { id: 1, name: 'a' } }, { json: { id: 2, name: 'b' } }];

describe('Load Items table names', () => {
	it.each([
		['a.b', 'a_b'],
		['x"; drop table ipai_connector_run; --', 'x_drop_table_ipai_connector_run'],
		['CrmContacts', 'crm_contacts'],
		['Año 2024', 'ano_2024'],
		['2024 sales', 't_2024_sales'],
		['order', 'order_'],
		['already_fine', 'already_fine'],
	])('loads %j into %j and says so', async (typed, expected) => {
		const session = { pool: db.pool, connection: { connectionString: db.url }, secrets: [], close: async () => undefined };
		const [out] = await loadItems.call(context({ schema: 'ipai_bronze_core', table: typed, keyFields: 'id', loadOptions: {}, columnTypes: '{}' }), session, items);
		expect(out.json).toMatchObject({ table: `ipai_bronze_core.${expected}`, rowsWritten: 2, status: 'success' });
		if (typed === expected) expect(out.json.notice).toBeUndefined();
		else expect(out.json).toMatchObject({ requestedTable: typed, notice: expect.stringContaining(`became "${expected}"`) });
		const { rows } = await db.pool.query(`select count(*)::int as n from ipai_bronze_core.${expected}`); // unquoted on purpose
		expect(rows[0].n).toBe(2);
	});

	it('refuses a name with nothing usable in it', async () => {
		const session = { pool: db.pool, connection: { connectionString: db.url }, secrets: [], close: async () => undefined };
		await expect(loadItems.call(context({ schema: 'ipai_bronze_core', table: '"; --', keyFields: 'id', loadOptions: {}, columnTypes: '{}' }), session, items)).rejects.toThrow(/has no letters or digits/);
	});

	it('bronzeTableName: always usable unquoted, within the identifier limit, stable, and keeps names that already follow the rules', () => {
		fc.assert(
			fc.property(fc.string({ unit: 'grapheme', maxLength: 120 }), (typed) => {
				let name: string;
				try {
					name = bronzeTableName(typed);
				} catch {
					expect(typed.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')).not.toMatch(/[A-Za-z0-9]/);
					return;
				}
				expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
				expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
				expect(bronzeTableName(name)).toBe(name);
			}),
			{ numRuns: 1000 },
		);
	});
});
