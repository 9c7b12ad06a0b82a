/**
 * The SLI types, by `sli_type` (the column of public.ipai_slo): each one is a file in this folder
 * exporting an SliEvaluator, registered here in the order its statuses and alerts are listed.
 *
 * Adding an SLI type:
 *   1. write lib/slo/sli/<type>.ts exporting `export const myType: SliEvaluator = { evaluate(ctx, slos) {…} }`:
 *      it receives the enabled, valid SLOs of its type and returns their statuses (start from
 *      `baseStatus`, pair SLOs with targets with `targetsOf`), the alerts that fire now and, for
 *      burn-rate alerts, the ones still burning. Use lib/slo/burnRate.ts for the arithmetic
 *      (`burnWindows`, `windowedStatus`, `ratioFigures` / `budgetFigures`, `firingSeverities`,
 *      `burningFingerprints`), lib/slo/params.ts to read params, lib/slo/alertText.ts for the
 *      alert's words, and the context's memo (`ctx.shared`) for facts other types read too;
 *   2. add one line to SLI_REGISTRY below (the key is the sli_type; SliType, the Set SLO
 *      operation's list and evaluateSlos follow from it).
 * The database refuses sli_type values its CHECK constraint (ipai_slo_sli_type_check) does not
 * list, so a new type also needs a migration that extends it, and the SLO Monitor node's SLI Type
 * dropdown (nodes/IpaiSloMonitor/description.ts) lists the types users pick from. New params go
 * into lib/slo/params.ts (and the database's ipai_meta.slo_params_problem).
 */
import type { SloDefinition } from '../types';
import { agentBudget } from './agentBudget';
import { agentFailures } from './agentFailures';
import { agentLatency } from './agentLatency';
import { connectorFreshness } from './connectorFreshness';
import { connectorSuccess } from './connectorSuccess';
import { connectorWarnings } from './connectorWarnings';
import { dataQuality } from './dataQuality';
import { replicationLag } from './replicationLag';
import type { EvaluationContext, SliPart } from './context';

export interface SliEvaluator {
	/** Statuses and alerts of `slos` (all of this type, enabled, params valid) at ctx.now. */
	evaluate(ctx: EvaluationContext, slos: SloDefinition[]): Promise<SliPart>;
}

export const SLI_REGISTRY = {
	connector_success: connectorSuccess,
	connector_freshness: connectorFreshness,
	connector_warnings: connectorWarnings,
	agent_failures: agentFailures,
	agent_latency: agentLatency,
	agent_budget: agentBudget,
	data_quality: dataQuality,
	replication_lag: replicationLag,
} satisfies Record<string, SliEvaluator>;

export type RegisteredSliType = keyof typeof SLI_REGISTRY;

export const REGISTERED_SLI_TYPES = Object.keys(SLI_REGISTRY) as RegisteredSliType[];
