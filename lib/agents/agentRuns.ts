/**
 * The agent run ledger: every call, allowed or refused, is a row of public.ipai_agent_run with its
 * audit entry, written in one transaction that also settles the call's budget reservation.
 */
import type { Pool, PoolClient } from 'pg';
import { storable, storableDeep, writeAudit } from '../lakehouse/audit';
import { redact } from '../lakehouse/connection';
import { budgetMetadata, type BudgetFacts } from './budgets';
import type { AgentGuard, CallContext, RefusalCode } from './guard';
import type { Agent } from './registry';

export interface RunRecord {
	status: 'success' | 'failed' | 'refused' | 'running';
	startedAt: Date;
	endedAt?: Date;
	inputSummary?: Record<string, unknown>;
	outputSummary?: Record<string, unknown>;
	tokensUsed?: number | null;
	costUsd?: number | null;
	latencyMs?: number | null;
	errorMessage?: string | null;
	metadata?: Record<string, unknown>;
}

export async function insertRun(client: PoolClient, agentId: string | null, ctx: CallContext, run: RunRecord, reservationId: string | null): Promise<string> {
	const { rows } = await client.query<{ id: string }>(
		`insert into public.ipai_agent_run (agent_id, user_id, session_id, started_at, ended_at, status, input_summary,
		                                    output_summary, tokens_used, cost_usd, latency_ms, error_message, metadata)
		 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning id`,
		[
			agentId, ctx.userId ?? null, ctx.sessionId ?? null, run.startedAt, run.endedAt ?? new Date(), run.status,
			storableDeep(run.inputSummary ?? {}), storableDeep(run.outputSummary ?? {}), run.tokensUsed ?? null, run.costUsd ?? null,
			run.latencyMs ?? null, run.errorMessage == null ? null : storable(redact(run.errorMessage)).text,
			storableDeep({ ...(run.metadata ?? {}), ...(reservationId ? { reservation_id: reservationId } : {}) }),
		],
	);
	await settleAndAudit(client, rows[0].id, agentId, ctx, run, reservationId);
	return rows[0].id;
}

/**
 * The end of a run's transaction: its reservation settled (the usage trigger added the run's spend
 * in this transaction) and its audit entry written.
 */
async function settleAndAudit(client: PoolClient, runId: string, agentId: string | null, ctx: CallContext, run: RunRecord, reservationId: string | null): Promise<void> {
	if (reservationId) await client.query('select ipai_meta.agent_settle($1, $2)', [reservationId, runId]);
	await writeAudit(client, {
		eventType: 'agent_run',
		entityType: 'agent',
		entityId: agentId,
		userId: ctx.userId ?? null,
		action: `agent_${String(run.inputSummary?.tool ?? 'call')}_${run.status}`,
		details: storableDeep({ run_id: runId, session_id: ctx.sessionId ?? null, error: run.errorMessage ?? null, ...(run.metadata ?? {}) }),
	});
}

/**
 * Writes one finished run and its audit entry in one transaction, settling the run's reservation
 * (if any) in the same transaction; returns the run id.
 */
export async function recordRun(pool: Pool, agentId: string | null, ctx: CallContext, run: RunRecord, reservationId: string | null = null): Promise<string> {
	const client = await pool.connect();
	try {
		await client.query('begin');
		const id = await insertRun(client, agentId, ctx, run, reservationId);
		await client.query('commit');
		return id;
	} catch (error) {
		await client.query('rollback').catch(() => undefined);
		throw error;
	} finally {
		client.release();
	}
}

/** Inserts a `running` run (no end, no spend yet; the reservation stays held) and returns its id. */
export async function openRun(pool: Pool, agentId: string, ctx: CallContext, run: RunRecord, reservationId: string | null): Promise<string> {
	const { rows } = await pool.query<{ id: string }>(
		`insert into public.ipai_agent_run (agent_id, user_id, session_id, started_at, ended_at, status, input_summary, metadata)
		 values ($1, $2, $3, $4, null, 'running', $5, $6) returning id`,
		[
			agentId, ctx.userId ?? null, ctx.sessionId ?? null, run.startedAt, storableDeep(run.inputSummary ?? {}),
			storableDeep({ ...(run.metadata ?? {}), ...(reservationId ? { reservation_id: reservationId } : {}) }),
		],
	);
	return rows[0].id;
}

/**
 * Ends a run opened by openRun: its outcome, the spend (added by the usage trigger when the status
 * leaves `running`), the reservation settled and the audit entry, in one transaction.
 */
export async function closeRun(pool: Pool, runId: string, agentId: string, ctx: CallContext, run: RunRecord, reservationId: string | null): Promise<void> {
	const client = await pool.connect();
	try {
		await client.query('begin');
		await client.query(
			`update public.ipai_agent_run
			    set status = $2, ended_at = $3, output_summary = $4, tokens_used = $5, cost_usd = $6, latency_ms = $7,
			        error_message = $8, metadata = coalesce(metadata, '{}') || $9
			  where id = $1 and status = 'running'`,
			[
				runId, run.status, run.endedAt ?? new Date(), storableDeep(run.outputSummary ?? {}), run.tokensUsed ?? null, run.costUsd ?? null,
				run.latencyMs ?? null, run.errorMessage == null ? null : storable(redact(run.errorMessage)).text, storableDeep(run.metadata ?? {}),
			],
		);
		await settleAndAudit(client, runId, agentId, ctx, run, reservationId);
		await client.query('commit');
	} catch (error) {
		await client.query('rollback').catch(() => undefined);
		throw error;
	} finally {
		client.release();
	}
}

/** A refused call, recorded as a `refused` run; budget refusals carry what the budget said. */
export async function recordRefusal(
	guard: AgentGuard,
	agent: Agent | undefined,
	codeName: string,
	ctx: CallContext,
	startedAt: Date,
	inputSummary: Record<string, unknown>,
	refusal: { code: RefusalCode; reason: string; budget?: BudgetFacts },
): Promise<string> {
	const now = new Date();
	return recordRun(guard.pool, agent?.id ?? null, ctx, {
		status: 'refused', startedAt, endedAt: now, inputSummary, latencyMs: now.getTime() - startedAt.getTime(), costUsd: 0,
		errorMessage: refusal.reason,
		metadata: { refusal: refusal.code, code_name: codeName, ...budgetMetadata(refusal.budget ? [refusal.budget] : []) },
	});
}

