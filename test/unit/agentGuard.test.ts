/** The guard's pure helpers (leading keyword, pooler user names) and the words of budget alerts. */
import { leadingKeyword, poolerUser } from '../../lib/agents/agentQuery';
import { describeBudget } from '../../lib/slo/evaluate';
import { buildPost } from '../../lib/slo/mattermostPosts';
import type { AgentBudgetState, DueNotification } from '../../lib/slo/types';

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

describe('budget alert messages', () => {
	const daily: AgentBudgetState = {
		kind: 'daily_cost', unit: 'usd', limit: 1, used: 1.1, events: 3, lastEventAt: '2026-11-30T10:02:00.000Z', state: 'exhausted', severities: ['page', 'ticket'], day: '2026-11-30',
	};

	it('names the agent, the budget, used vs limit, and what to do', () => {
		expect(describeBudget('fin_bot', daily)).toEqual({
			title: 'agent fin_bot: daily cost budget spent, calls refused',
			summary: 'Agent fin_bot has used $1.1 of its daily cost budget of $1 (UTC day 2026-11-30); 3 calls refused today, the last at 2026-11-30T10:02:00.000Z. The Agent Guard refuses its calls until 00:00 UTC or until the budget is raised.',
			action: expect.stringMatching(/^Look at its recent runs \(ipai_agent_run, newest first\) for a loop .* raise the daily cost budget \(cost_budget_usd\) with IPAI Agent Guard › Register or Update; this alert resolves once the limit is above what was spent\.$/),
		});
		const latency = describeBudget('fin_bot', { ...daily, kind: 'daily_latency', unit: 'ms', limit: 60_000, used: 45_500, events: 0, state: 'warning', severities: ['ticket'] });
		expect(latency.title).toBe('agent fin_bot: 75% of its daily latency budget used');
		expect(latency.summary).toContain('has used 45,500 ms of its daily latency budget of 60,000 ms');
		expect(latency.action).toContain('config.daily_latency_budget_ms');
		const run = describeBudget('fin_bot', { kind: 'run_latency', unit: 'ms', limit: 5000, used: 9120, events: 4, lastEventAt: null, state: 'breaking', severities: ['ticket'], windowSeconds: 3600 });
		expect(run.title).toBe('agent fin_bot: 4 calls over its per-run latency budget in 1h');
		expect(run.summary).toContain('the largest took 9,120 ms');
		expect(run.action).toContain('input_summary.sql');
	});

	it('puts the budget and the action into the Mattermost post instead of a burn rate', () => {
		const text = describeBudget('fin_bot', daily);
		const due: DueNotification = {
			id: 'n1', fingerprint: 'f'.repeat(32), kind: 'firing', severity: 'page', episode: '1', dedupKey: 'firing:1', attempts: 0, lastError: null, createdAt: daily.lastEventAt!,
			payload: {
				...text, budget: daily, slo: 'agent-budget', sloDescription: null, objective: 0.99, periodSeconds: 7 * 86400,
				target: { kind: 'agent', id: 'a1', name: 'fin_bot', type: 'claude' }, burnRate: null, firingWindows: [], errorBudgetRemaining: 0.2,
				failingConnectors: [], runbookUrl: null, executionUrl: null, labels: { agent: 'fin_bot', budget: 'daily_cost' },
			},
		};
		const post = buildPost(due);
		expect(post.text.split('\n')[0]).toBe(':rotating_light: **[PAGE]** agent fin_bot: daily cost budget spent, calls refused');
		const fields = Object.fromEntries(post.attachments[0].fields.map((f) => [f.title, f.value]));
		expect(fields).toMatchObject({ Budget: 'daily cost: $1.1 of $1 (UTC 2026-11-30)', 'What to do': text.action });
		expect(fields['Burn rate']).toBeUndefined();
		const resolved = buildPost({ ...due, kind: 'resolved', payload: { ...due.payload, resolvedAt: '2026-12-01T00:00:00.000Z' } });
		// A resolve points to follow-ups, not to the firing alert's action.
		const resolvedFields = Object.fromEntries(resolved.attachments[0].fields.map((f) => [f.title, f.value]));
		expect(resolvedFields['What to do']).not.toBe(text.action);
		expect(resolvedFields['What to do']).toMatch(/runbook/);
	});
});
