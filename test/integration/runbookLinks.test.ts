/**
 * Every alert this package can raise links a runbook that exists in docs/runbooks/:
 *  - every alert kind the engine can emit (the AlertName type's table, and every `alertname: '…'`
 *    written anywhere in lib/) has a runbook file;
 *  - every SLO the migrations seed (read from a migrated database, so a later migration's SLO is
 *    covered too) has a runbook file;
 *  - the links real evaluations put on their alerts (default base URL) point at files that exist,
 *    for each alert kind a scenario here raises;
 *  - the operations pages exist and every relative link between runbooks resolves.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ALERT_RUNBOOKS, DEFAULT_RUNBOOK_BASE_URL, SEEDED_SLO_RUNBOOKS, runEvaluation } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { addConnector, addRuns, DAY, HOUR, MINUTE } from './sloHelpers';

jest.setTimeout(300_000);

const db = useScratchDatabase();
const ROOT = join(__dirname, '..', '..');
const RUNBOOKS = join(ROOT, 'docs', 'runbooks');
const runbookFile = (name: string) => join(RUNBOOKS, `${name}.md`);

function sourceFiles(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const path = join(dir, name);
		return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
	});
}

/** A default runbook URL → the file it names in docs/runbooks (null when it points elsewhere). */
function fileOfUrl(url: string | null | undefined): string | null {
	if (!url || !url.startsWith(DEFAULT_RUNBOOK_BASE_URL)) return null;
	return join(RUNBOOKS, url.slice(DEFAULT_RUNBOOK_BASE_URL.length));
}

it('every alert kind written in lib/ has a runbook table entry and file', () => {
	const written = new Set<string>();
	for (const file of sourceFiles(join(ROOT, 'lib'))) {
		for (const m of readFileSync(file, 'utf8').matchAll(/alertname: '([A-Za-z]+)'/g)) written.add(`${m[1]} (${relative(ROOT, file)})`);
	}
	expect(written.size).toBeGreaterThan(0);
	for (const entry of written) {
		const kind = entry.split(' ')[0];
		expect(`${entry}: ${kind in ALERT_RUNBOOKS}`).toBe(`${entry}: true`);
	}
	for (const [kind, name] of Object.entries(ALERT_RUNBOOKS)) expect(`${kind} → ${name}.md: ${existsSync(runbookFile(name))}`).toBe(`${kind} → ${name}.md: true`);
});

it('every SLO the migrations seed has a runbook file', async () => {
	const { rows } = await db.pool.query<{ code_name: string; runbook_url: string | null }>('select code_name, runbook_url from public.ipai_slo order by code_name');
	expect(rows.length).toBeGreaterThan(0);
	for (const r of rows) {
		const ok = r.runbook_url !== null || (SEEDED_SLO_RUNBOOKS.includes(r.code_name) && existsSync(runbookFile(r.code_name)));
		expect(`${r.code_name}: ${ok}`).toBe(`${r.code_name}: true`);
	}
});

it('the links real evaluations put on their alerts resolve to runbook files, for every kind raised here', async () => {
	const now = Date.UTC(2026, 10, 20, 12, 0, 0);
	// Burn rate and staleness: a connector failing for its last hour.
	const failing = await addConnector(db.pool, { name: 'rb-failing', schedule: '*/5 * * * *', createdAt: new Date(now - 30 * DAY) });
	await addRuns(db.pool, failing, { from: now - 3 * DAY, to: now - HOUR, every: 5 * MINUTE });
	await addRuns(db.pool, failing, { from: now - HOUR, to: now, every: 5 * MINUTE, status: () => 'failed' });
	// Absent: a scheduled connector that stopped starting runs a day ago.
	const silent = await addConnector(db.pool, { name: 'rb-silent', schedule: '*/5 * * * *', createdAt: new Date(now - 30 * DAY) });
	await addRuns(db.pool, silent, { from: now - 3 * DAY, to: now - DAY, every: 5 * MINUTE });
	// Warnings: the last three successes each skipped something.
	const partial = await addConnector(db.pool, { name: 'rb-partial', type: 'github', schedule: '*/5 * * * *', createdAt: new Date(now - 30 * DAY) });
	await addRuns(db.pool, partial, { from: now - 2 * HOUR, to: now, every: 5 * MINUTE, metadata: { warnings: ['repository acme/gone: 404'] } });
	// An SLO whose params break the rules: a row from before the params check (the constraint is NOT VALID).
	await db.pool.query('alter table public.ipai_slo drop constraint ipai_slo_params_valid_check');
	try {
		await db.pool.query(
			`insert into public.ipai_slo (code_name, sli_type, objective, period, params) values ('rb-invalid', 'connector_success', 0.99, '7 days', '{"min_events": -3}')`,
		);
	} finally {
		await db.pool.query('alter table public.ipai_slo add constraint ipai_slo_params_valid_check check (ipai_meta.slo_params_problem(params) is null) not valid');
	}
	const result = await runEvaluation(db.pool, { now: new Date(now) });
	const kinds = new Set(result.candidates.map((c) => c.alertname));
	expect([...kinds].sort()).toEqual(expect.arrayContaining(['ConnectorAbsent', 'ConnectorStale', 'ConnectorWarnings', 'SLOBurnRate', 'SLODefinitionInvalid']));
	for (const c of result.candidates) {
		const alertFile = fileOfUrl(c.annotations.alertRunbookUrl);
		expect(`${c.alertname}: ${alertFile !== null && existsSync(alertFile)}`).toBe(`${c.alertname}: true`);
		expect(alertFile).toBe(runbookFile(ALERT_RUNBOOKS[c.alertname]));
		if (c.annotations.runbookUrl) {
			const sloFile = fileOfUrl(c.annotations.runbookUrl);
			expect(`${c.labels.slo}: ${sloFile !== null && existsSync(sloFile)}`).toBe(`${c.labels.slo}: true`);
		}
	}
	// What the alert table stores (and the notifier sends) carries the same links.
	const { rows } = await db.pool.query<{ annotations: { alertRunbookUrl?: string } }>(`select annotations from public.ipai_alert`);
	expect(rows.length).toBeGreaterThan(0);
	for (const r of rows) expect(existsSync(fileOfUrl(r.annotations.alertRunbookUrl) ?? '/nonexistent')).toBe(true);
});

it('the operations runbooks exist, and every relative link between runbooks resolves', () => {
	for (const name of ['resync-connector-from-date', 'rotate-credential', 'recover-replication-slot', 'silence-during-maintenance', 'replay-failed-file']) {
		expect(`${name}: ${existsSync(runbookFile(name))}`).toBe(`${name}: true`);
	}
	for (const file of readdirSync(RUNBOOKS).filter((f) => f.endsWith('.md'))) {
		const text = readFileSync(join(RUNBOOKS, file), 'utf8');
		for (const m of text.matchAll(/\]\((?!https?:|#)([^)#\s]+)(#[^)]*)?\)/g)) {
			const target = join(RUNBOOKS, m[1]);
			expect(`${file} → ${m[1]}: ${existsSync(target)}`).toBe(`${file} → ${m[1]}: true`);
		}
	}
});
