/** The guard's pure helpers: the leading keyword behind "not a query" refusals, pooler user names. */
import { leadingKeyword, poolerUser } from '../../lib/agents/guard';

describe('leadingKeyword', () => {
	it.each([
		['select 1', 'select'],
		['  (( WITH x as (select 1) select * from x))', 'with'],
		['/* a */ -- b\n /* c */ set role postgres', 'set'],
		['--only a comment', ''],
		['/* unterminated select 1', ''],
		['VALUES (1)', 'values'],
		['reset all', 'reset'],
		['', ''],
	])('%j → %j', (sql, keyword) => {
		expect(leadingKeyword(sql)).toBe(keyword);
	});
});

describe('poolerUser', () => {
	it('keeps the Supavisor project suffix of the guard login for the agent login', () => {
		expect(poolerUser({ user: 'n8n_guard.abcdefghijklmnop' }, 'ipai_agent_fin')).toBe('ipai_agent_fin.abcdefghijklmnop');
		expect(poolerUser({ connectionString: 'postgres://n8n_guard.abcdef:pw@pooler.supabase.com:5432/postgres' }, 'ipai_agent_fin')).toBe('ipai_agent_fin.abcdef');
		expect(poolerUser({ user: 'n8n_guard' }, 'ipai_agent_fin')).toBe('ipai_agent_fin');
		expect(poolerUser({ connectionString: 'postgres://postgres@127.0.0.1/db' }, 'ipai_agent_fin')).toBe('ipai_agent_fin');
	});
});
