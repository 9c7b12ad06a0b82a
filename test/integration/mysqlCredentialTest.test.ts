/**
 * The IPAI MySQL Source credential's test button against the real server: it says what failed —
 * unreachable, login, database, a missing privilege, the binary log not capturable — never the
 * password, and OK with the database and user when all is well.
 */
import type { ICredentialsDecrypted } from 'n8n-workflow';
import { credentialTest } from '../../nodes/IpaiDatabaseSync/methods';
import { freePort, sharedServer, useScratchMariaDb } from '../helpers/mariadb';

jest.setTimeout(120_000);

const source = useScratchMariaDb();

async function press(data: Record<string, unknown>): Promise<{ status: string; message: string }> {
	const server = sharedServer();
	const credential = { id: '1', name: 'mysql', type: 'ipaiMySqlSourceApi', data: { host: server.host, port: server.port, database: source.database, user: server.user, password: server.password, ssl: 'disable', ...data } } as ICredentialsDecrypted;
	return (await credentialTest.mysqlSourceTest.call({} as never, credential)) as { status: string; message: string };
}

test('each failure is named with its fix, the password never shown', async () => {
	await source.admin.query("CREATE USER IF NOT EXISTS 'ipai_cred'@'%' IDENTIFIED BY 'cred-secret-77'");
	expect(await press({})).toEqual({ status: 'OK', message: expect.stringContaining(`"${source.database}"`) });

	const unreachable = await press({ port: await freePort() });
	expect(unreachable.status).toBe('Error');
	expect(unreachable.message).toMatch(/unreachable \(ECONNREFUSED\).*Check the host and port/);

	const login = await press({ user: 'ipai_cred', password: 'wrong-secret-99' });
	expect(login.message).toMatch(/refused the login of user "ipai_cred"/);
	expect(login.message).not.toContain('wrong-secret-99');

	const database = await press({ database: 'no_such_database_x' });
	expect(database.message).toMatch(/Database "no_such_database_x" does not exist/);

	const privilege = await press({ user: 'ipai_cred', password: 'cred-secret-77' });
	expect(privilege.message).toMatch(/may not use database.*GRANT SELECT/);

	// The shared server runs without a binary log: asked to, the test says so and how to fix it.
	const binlog = await press({ testBinlog: true });
	expect(binlog.status).toBe('Error');
	expect(binlog.message).toMatch(/binary log is off.*log_bin/);
	await source.admin.query("DROP USER 'ipai_cred'@'%'");
});
