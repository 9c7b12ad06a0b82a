/**
 * What every SLI evaluator is given: the pool, the evaluation instant, the options, the SLOs being
 * evaluated, and a per-evaluation memo so SLI types that read the same facts (the connector list,
 * the latest runs) read them once even when they are evaluated side by side.
 */
import type { Pool } from 'pg';
import { redact } from '../../lakehouse/connection';
import { maxCronGapSeconds } from '../../lakehouse/cron';
import { runbookFor, sloRunbook, type RunbookOptions } from '../runbooks';
import type { AlertCandidate, EvaluationResult, SliType, SloDefinition, SloStatus, SloTarget } from '../types';

export interface EvaluateOptions extends RunbookOptions {
	/** The evaluation instant (default: the database clock). */
	now?: Date;
	/** Only these SLOs (code names); default every enabled SLO. */
	slos?: string[];
	/** Base URL of the n8n editor, for links to the executions that failed (e.g. https://n8n.example.com). */
	n8nBaseUrl?: string;
	/** Secrets to scrub from run errors before they enter a status or message. */
	secrets?: string[];
}

/** What one SLI type contributes to an evaluation. */
export interface SliPart {
	statuses: SloStatus[];
	candidates: AlertCandidate[];
	/** Fingerprints of firing-capable alerts whose condition is off but whose windows still burn. */
	burning?: EvaluationResult['burning'];
}

export class EvaluationContext {
	private readonly gaps = new Map<string, number | null>();
	private readonly memo = new Map<string, Promise<unknown>>();

	constructor(
		readonly pool: Pool,
		readonly now: Date,
		readonly options: EvaluateOptions,
		/** Every SLO of this evaluation whose params are valid, of every type. */
		readonly slos: readonly SloDefinition[],
	) {}

	at(secondsAgo: number): Date {
		return new Date(this.now.getTime() - secondsAgo * 1000);
	}

	/** The SLOs of this evaluation of the given types. */
	slosOf(...types: SliType[]): SloDefinition[] {
		return this.slos.filter((s) => types.includes(s.sliType));
	}

	/** `load()` once per evaluation and key; every caller shares its promise. */
	shared<T>(key: string, load: () => Promise<T>): Promise<T> {
		let promise = this.memo.get(key) as Promise<T> | undefined;
		if (!promise) {
			promise = load();
			promise.catch(() => undefined); // the callers see the failure; an unawaited copy must not be unhandled
			this.memo.set(key, promise);
		}
		return promise;
	}

	scheduleGap(schedule: string | null): number | null {
		if (!schedule?.trim()) return null;
		if (!this.gaps.has(schedule)) {
			let gap: number | null;
			try {
				gap = maxCronGapSeconds(schedule);
			} catch {
				gap = null; // an unparseable schedule is the dispatcher's problem; no schedule-based SLO for it
			}
			this.gaps.set(schedule, gap);
		}
		return this.gaps.get(schedule) ?? null;
	}

	executionUrl(executionId: string | null, workflowId: string | null): string | null {
		const base = this.options.n8nBaseUrl?.replace(/\/+$/, '');
		if (!base || !executionId) return null;
		return workflowId ? `${base}/workflow/${encodeURIComponent(workflowId)}/executions/${encodeURIComponent(executionId)}` : `${base}/executions/${encodeURIComponent(executionId)}`;
	}

	clean(text: string | null): string | null {
		return text === null ? null : redact(text, this.options.secrets ?? []);
	}

	runbook(name: string): string | null {
		return runbookFor(this.options, name);
	}

	sloRunbook(slo: SloDefinition): string | null {
		return sloRunbook(this.options, slo);
	}
}

/** A status before its SLI has measured anything. */
export function baseStatus(ctx: EvaluationContext, slo: SloDefinition, target: SloTarget): SloStatus {
	return {
		slo: slo.codeName,
		sloId: slo.id,
		sliType: slo.sliType,
		description: slo.description,
		target,
		objective: slo.objective,
		periodSeconds: slo.periodSeconds,
		status: 'no_data',
		events: 0,
		badEvents: 0,
		sli: null,
		errorBudgetRemaining: null,
		periodBurnRate: null,
		windows: [],
		runbookUrl: ctx.sloRunbook(slo),
	};
}

/**
 * (SLO, target) pairs: an SLO naming a target applies to it alone and overrides the templates of
 * its type for that target; a template (no target) applies to every other target.
 */
export function targetsOf<T extends { id: string }>(slos: SloDefinition[], type: SliType, all: T[], specificId: (s: SloDefinition) => string | null): Array<[SloDefinition, T]> {
	const ofType = slos.filter((s) => s.sliType === type);
	const overridden = new Set(ofType.map(specificId).filter((id): id is string => id !== null));
	const pairs: Array<[SloDefinition, T]> = [];
	for (const slo of ofType) {
		const only = specificId(slo);
		for (const target of all) {
			if (only !== null ? target.id === only : !overridden.has(target.id)) pairs.push([slo, target]);
		}
	}
	return pairs;
}
