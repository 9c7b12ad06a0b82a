import { redact, safeError, secretsOf, toPoolConfig } from '../../lib/lakehouse/connection';

describe('toPoolConfig', () => {
	it('maps libpq SSL modes, taking sslmode from the URL unless overridden', () => {
		expect(toPoolConfig({ connectionString: 'postgres://u:p@h/db?sslmode=require' }).ssl).toEqual({ rejectUnauthorized: false });
		expect(toPoolConfig({ connectionString: 'postgres://u:p@h/db?sslmode=require' }).connectionString).toBe('postgres://u:p@h/db');
		expect(toPoolConfig({ connectionString: 'postgres://u:p@h/db?sslmode=require', ssl: 'disable' }).ssl).toBe(false);
		expect(toPoolConfig({ host: 'h', ssl: 'verify-full', caCertificate: 'PEM' }).ssl).toEqual({ rejectUnauthorized: true, ca: 'PEM' });
		const verifyCa = toPoolConfig({ host: 'h', ssl: 'verify-ca' }).ssl as { checkServerIdentity: () => unknown };
		expect(verifyCa.checkServerIdentity()).toBeUndefined();
		expect(toPoolConfig({ host: 'h' }).ssl).toBe(false);
	});

	it('refuses an unknown SSL mode and a malformed URL without echoing it', () => {
		expect(() => toPoolConfig({ connectionString: 'postgres://u:p@h/db?sslmode=sometimes' })).toThrow(/Unknown SSL mode "sometimes"/);
		expect(() => toPoolConfig({ connectionString: 'not a url with hunter2' })).toThrow(/not a valid postgres:\/\/ URL/);
		try {
			toPoolConfig({ connectionString: 'not a url with hunter2' });
		} catch (error) {
			expect((error as Error).message).not.toContain('hunter2');
		}
	});
});

describe('redaction', () => {
	const options = { connectionString: 'postgres://ingest:p%40ss%2Fw0rd@db.example.com:5432/lake', password: 'other-secret' };

	it('lists the password in every form it can appear', () => {
		expect(secretsOf(options)).toEqual(expect.arrayContaining(['other-secret', 'p%40ss%2Fw0rd', 'p@ss/w0rd']));
	});

	it('removes secrets and passwords inside any URL', () => {
		const text = 'failed: postgres://ingest:p%40ss%2Fw0rd@db.example.com/lake and p@ss/w0rd and https://a:b@x.io/y';
		const out = redact(text, secretsOf(options));
		expect(out).not.toMatch(/p%40ss|p@ss\/w0rd|a:b@/);
		expect(out).toContain('postgres://ingest:***@db.example.com/lake');
	});

	it('keeps pg error fields but redacts their text', () => {
		const error = Object.assign(new Error('password authentication failed for p@ss/w0rd'), { code: '28P01', detail: 'p@ss/w0rd' });
		const safe = safeError(error, secretsOf(options)) as Error & { code: string; detail: string };
		expect(safe.code).toBe('28P01');
		expect(safe.message).not.toContain('p@ss/w0rd');
		expect(safe.detail).toBe('***');
	});
});
