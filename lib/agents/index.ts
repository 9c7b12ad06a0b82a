/** Agent governance: registry, authorization, guarded queries and the run ledger (no n8n imports). */
export * from './registry';
export * from './guard';
export * from './budgets';
export * from './agentRuns';
export * from './agentQuery';
export * from './agentPools';
export * from './semantic';
export * from './modelTools';
export * from './mcpServer';
