/**
 * The connections the guard runs agents' queries on: one small pool per process and agent login.
 *
 * Why pooled: logging in (a backend started, SCRAM, the login's role settings applied) cost more
 * than a model query itself; a pooled session of the same login holds no more than a fresh one.
 * Why this stays as safe as a fresh connection per call:
 * - PostgreSQL checks privileges and row-level security policies at every statement, so a revoked
 *   grant or a changed company scope binds pooled sessions at once.
 * - A pool belongs to one version of the agent: its login, its password and its registry row
 *   (`updated_at`, bumped by every Register/Update/Deactivate). The guard reads all three at every
 *   call; when any differs, the old pool is ended and the call connects anew. A login that can no
 *   longer log in (NOLOGIN, expired) is seen by the same read and ends its pools, so the call fails
 *   to connect as it would without a pool. Tampered role settings end the login's pools too.
 * - A call is one READ ONLY transaction that is rolled back, so whatever a query sets with
 *   set_config is undone; session-level advisory locks, which a rollback keeps, are released with
 *   it. A session whose call failed is destroyed, never reused.
 * - Sessions are closed after POOL_IDLE_MS unused and after MAX_SESSION_SECONDS in any case (role
 *   settings are read at login), and never keep a process alive; closeAgentPools ends them all.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { openPool, toPoolConfig, type ConnectionOptions } from '../lakehouse/connection';

/** Per process and agent: the agent login allows 8 connections, shared by every n8n process. */
export const AGENT_POOL_SIZE = 4;
const MAX_SESSION_SECONDS = 300;

interface AgentPool {
	/** Digest of everything the sessions were opened with, plus the agent row's version. */
	version: string;
	pool: Pool;
}

/** login name → its pool (one server and database per guard; the version covers both). */
const POOLS = new Map<string, AgentPool>();

function digest(options: ConnectionOptions, agentVersion: string): string {
	const config = JSON.stringify(toPoolConfig(options), (_k, v) => (typeof v === 'function' ? undefined : v));
	return createHash('sha256').update(config).update('\u0000').update(agentVersion).digest('hex');
}

/**
 * A session of the agent's login for one call, from the pool of exactly this login, password and
 * agent version (a pool of an earlier version is ended first). Release it with releaseAgentSession.
 */
export async function agentSession(login: string, options: ConnectionOptions, agentVersion: string): Promise<PoolClient> {
	const version = digest(options, agentVersion);
	let entry = POOLS.get(login);
	if (entry && entry.version !== version) {
		endAgentPools(login);
		entry = undefined;
	}
	if (!entry) {
		entry = {
			version,
			pool: openPool({ ...options, maxConnections: AGENT_POOL_SIZE }, { maxLifetimeSeconds: MAX_SESSION_SECONDS, allowExitOnIdle: true }),
		};
		POOLS.set(login, entry);
	}
	return entry.pool.connect();
}

/** Back to the pool after a clean rollback; destroyed after anything else. */
export function releaseAgentSession(client: PoolClient, reusable: boolean): void {
	client.release(reusable ? undefined : true);
}

/** Ends the login's pooled sessions (a session in use is closed when its call releases it). */
export function endAgentPools(login: string): void {
	const entry = POOLS.get(login);
	if (!entry) return;
	POOLS.delete(login);
	void entry.pool.end().catch(() => undefined);
}

/** Ends every agent pool of this process (shutdown). */
export async function closeAgentPools(): Promise<void> {
	const entries = [...POOLS.values()];
	POOLS.clear();
	await Promise.all(entries.map((e) => e.pool.end().catch(() => undefined)));
}

/** The agent logins with a pool open in this process (tests and diagnostics). */
export function agentPoolLogins(): string[] {
	return [...POOLS.keys()];
}

/** Open sessions of the login's pool in this process (tests and diagnostics). */
export function agentPoolSessions(login: string): number {
	return POOLS.get(login)?.pool.totalCount ?? 0;
}
