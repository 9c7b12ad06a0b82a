/**
 * Webhook deliveries landing in ipai_bronze_devops.github_events (real PostgreSQL): a delivery id
 * lands once however often (and however concurrently) it arrives; the table is secured by layer.
 */
import { deliveryHeaders, eventRecord, landEvent, type DeliveryHeaders } from '../../lib/sources/github/webhooks';
import { asRole, useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();

// eslint-disable-next-line @typescript-eslint/no-require-imports
const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, unknown>> }>;

function delivery(event: string, id: string): DeliveryHeaders {
	const headers = deliveryHeaders({ 'x-github-event': event, 'x-github-delivery': id, 'x-github-hook-id': '42' });
	if ('error' in headers) throw new Error(headers.error);
	return headers;
}

it('lands each delivery once: redeliveries and concurrent copies are no-ops', async () => {
	const payload = examples.find((g) => g.name === 'pull_request')!.examples[0];
	const headers = delivery('pull_request', '72d3162e-cc78-11e3-81ab-4c9367dc0958');
	const event = eventRecord(headers, payload);
	const results = await Promise.all(Array.from({ length: 6 }, () => landEvent(db.pool, { name: 'hooks' }, event, headers)));
	expect(results.filter((r) => r.inserted)).toHaveLength(1);
	expect((await landEvent(db.pool, { name: 'hooks' }, event, headers)).inserted).toBe(false);
	const other = delivery('pull_request', 'another-delivery');
	expect((await landEvent(db.pool, { name: 'hooks' }, eventRecord(other, payload), other)).inserted).toBe(true);

	const { rows } = await db.pool.query(
		`select delivery_id, event, action, repository_id, sender_login, hook_id, payload, _ipai_raw, _ipai_connector_id
		   from ipai_bronze_devops.github_events order by delivery_id`,
	);
	expect(rows.map((r) => r.delivery_id)).toEqual(['72d3162e-cc78-11e3-81ab-4c9367dc0958', 'another-delivery']);
	expect(rows[0]).toMatchObject({ event: 'pull_request', action: payload.action, hook_id: '42', payload });
	expect(rows[0]._ipai_raw).toMatchObject({ event: 'pull_request', deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958', hookId: '42' });
	const connector = await db.pool.query('select connector_type, name from ipai_connector_config where id = $1', [rows[0]._ipai_connector_id]);
	expect(connector.rows[0]).toEqual({ connector_type: 'github_webhook', name: 'hooks' });
});

it('keeps U+0000 out of jsonb instead of failing the delivery', async () => {
	const headers = delivery('issues', 'nul-delivery');
	const landed = await landEvent(db.pool, { name: 'hooks' }, eventRecord(headers, { action: 'opened', issue: { title: 'a\u0000b' } }), headers);
	expect(landed.inserted).toBe(true);
	const { rows } = await db.pool.query("select payload->'issue'->>'title' as title from ipai_bronze_devops.github_events where delivery_id = 'nul-delivery'");
	expect(rows[0].title).toBe('a\uFFFDb');
});

it('is bronze: data engineers read it, anon and analysts do not', async () => {
	const count = (role: string, claims: Record<string, unknown> | null) =>
		asRole(db.pool, role, claims, async (c) => (await c.query('select count(*)::int as n from ipai_bronze_devops.github_events')).rows[0].n).catch(
			(e: Error) => e.message,
		);
	expect(await count('authenticated', { app_metadata: { ipai_role: 'data_engineer' } })).toBeGreaterThan(0);
	expect(await count('authenticated', { app_metadata: { ipai_role: 'analyst' } })).toBe(0);
	expect(await count('anon', null)).toMatch(/permission denied/);
});

it('an issues delivery with action deleted or transferred marks that issue deleted in bronze (real payloads)', async () => {
	const issues = examples.find((g) => g.name === 'issues')!.examples;
	const deleted = issues.find((e) => e.action === 'deleted')!;
	const transferred = issues.find((e) => e.action === 'transferred')!;
	const goneIds = [deleted, transferred].map((e) => (e.issue as { id: number }).id);
	const other = issues.find((e) => e.action !== 'deleted' && e.action !== 'transferred' && !goneIds.includes((e.issue as { id: number }).id))!; // e.g. milestoned
	const ids = [deleted, transferred, other].map((e) => (e.issue as { id: number }).id);
	expect(new Set(ids).size).toBe(3);
	const connector = '00000000-0000-4000-8000-000000000022';
	const run = '00000000-0000-4000-8000-000000000023';
	for (const id of ids) {
		await db.pool.query(
			`insert into ipai_bronze_devops.github_issues (_ipai_connector_id, _ipai_run_id, _ipai_extracted_at, _ipai_raw, id, number)
			 values ($1, $2, now(), '{}', $3, 1)`,
			[connector, run, id],
		);
	}
	for (const [i, payload] of [deleted, transferred, other].entries()) {
		const headers = delivery('issues', `issues-${i}`);
		const landed = await landEvent(db.pool, { name: 'hooks' }, eventRecord(headers, payload), headers);
		expect(landed.issuesMarkedDeleted ?? 0).toBe(payload === other ? 0 : 1);
	}
	const { rows } = await db.pool.query(`select id, _ipai_deleted_at is not null as gone from ipai_bronze_devops.github_issues order by id`);
	expect(Object.fromEntries(rows.map((r) => [String(r.id), r.gone]))).toEqual({ [ids[0]]: true, [ids[1]]: true, [ids[2]]: false });
});
