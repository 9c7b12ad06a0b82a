import type { ICredentialDataDecryptedObject, ICredentialTestFunctions } from 'n8n-workflow';
import { listMigrations } from '../../lib/lakehouse/migrate';
import { testLakehouseCredential } from '../../nodes/shared/lakehouse';
import { createScratchDatabase, useScratchDatabase, type ScratchDatabase } from '../../tooling/helpers/database';

const migrated = useScratchDatabase();
let empty: ScratchDatabase;

beforeAll(async () => {
	empty = await createScratchDatabase();
});
afterAll(async () => {
	await empty.drop();
});

const test = (data: ICredentialDataDecryptedObject) =>
	testLakehouseCredential.call({} as ICredentialTestFunctions, { id: 'c', name: 'lakehouse', type: 'ipaiLakehouseApi', data });

describe('the IPAI Lakehouse credential test', () => {
	it('says OK on a migrated database', async () => {
		await expect(test({ connectionMode: 'connectionString', connectionString: migrated.url, ssl: 'disable' })).resolves.toEqual({
			status: 'OK',
			message: 'Connected; all lakehouse migrations are applied',
		});
	});

	it('names the missing migrations on a database that has none', async () => {
		const url = new URL(empty.url);
		const result = await test({
			connectionMode: 'fields', host: url.hostname, port: Number(url.port), database: empty.name, user: 'postgres', password: '', ssl: 'disable',
		});
		expect(result.status).toBe('Error');
		const files = listMigrations().map((m) => m.file);
		expect(result.message).toBe(`Connected, but ${files.length} migration(s) are not applied: ${files.join(', ')}. Run npm run migrate against this database.`);
	});

	it('explains a wrong database without showing the password', async () => {
		const url = new URL(migrated.url);
		url.pathname = '/no_such_lakehouse';
		url.password = 'Sup3r-Secret';
		const result = await test({ connectionMode: 'connectionString', connectionString: url.toString(), ssl: 'disable' });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/database "no_such_lakehouse" does not exist — The database does not exist/);
		expect(result.message).not.toContain('Sup3r-Secret');
	});

	it('explains an unreachable server', async () => {
		const result = await test({ connectionMode: 'fields', host: '127.0.0.1', port: 1, database: 'x', user: 'x', password: 'pw-123456', ssl: 'disable' });
		expect(result).toMatchObject({ status: 'Error' });
		expect(result.message).toMatch(/ECONNREFUSED.*Nothing answers at the lakehouse host and port/);
		expect(result.message).not.toContain('pw-123456');
	});
});
