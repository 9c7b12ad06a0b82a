/**
 * Property (issue 22, item 1): whatever records of whatever stream are edited between whatever
 * pages of a sync, against the documentation-written GitHub stand-in (tooling/standins/github),
 *   (a) no skip — every record that existed when the first sync started is in bronze after it;
 *   (b) convergence — after one more sync with nothing changing in between, bronze equals what
 *       GitHub lists, record for record and field for field (test/integration/githubTruth.ts).
 * Generated: the page size, how many records of each stream, whether records share timestamps
 * (bulk edits: one-timestamp groups in the issues listing), and a list of edits, each applied just
 * before the n-th request of the first sync reaches the stand-in.
 *
 * Edits are the changes GitHub makes: an issue, pull request, workflow, run, release or the
 * repository changes (its updated_at moves where it has one); a commit is pushed (commits never
 * change); a deployment gets a status (which moves its updated_at, as the stand-in's docs say).
 * A review submitted to a pull request and a job added to a run also touch their parent: the REST
 * docs do not say it, the stand-in leaves it to the caller, and the child streams rely on it (they
 * re-read the children of parents updated since their cursor) — stated here, not hidden.
 */
import fc from 'fast-check';
import { finishRun, startRun } from '../../lib/lakehouse/runs';
import { GitHubClient } from '../../lib/sources/github/client';
import { STREAMS, type StreamName } from '../../lib/sources/github/streams';
import { syncGitHub } from '../../lib/sources/github/sync';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { startGitHubStandin, type GitHubStandin } from '../../tooling/standins/github/server';
import { bronzeRows, differences, keyOf, truth } from './githubTruth';

jest.setTimeout(900_000);

const db = useScratchDatabase();
const TOKEN = 'ghp_property';
const REPO = 'acme/prop';
/** Scenarios per run (GITHUB_PROPERTY_RUNS); GITHUB_PROPERTY_SEED replays a reported seed. */
const RUNS = Number(process.env.GITHUB_PROPERTY_RUNS ?? 25);

const KINDS = ['issue', 'pull', 'review', 'commit', 'workflow', 'run', 'job', 'deployment', 'release', 'repo'] as const;
type EditKind = (typeof KINDS)[number];

interface Edit {
	at: number;
	kind: EditKind;
	pick: number;
	advance: boolean;
}

interface Scenario {
	perPage: number;
	sameTime: boolean;
	issues: number;
	pulls: number;
	reviews: number;
	commits: number;
	runs: number;
	jobsPerRun: number;
	deployments: number;
	releases: number;
	edits: Edit[];
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
	perPage: fc.integer({ min: 2, max: 5 }),
	sameTime: fc.boolean(),
	issues: fc.integer({ min: 0, max: 14 }),
	pulls: fc.integer({ min: 0, max: 12 }),
	reviews: fc.integer({ min: 0, max: 6 }),
	commits: fc.integer({ min: 0, max: 9 }),
	runs: fc.integer({ min: 0, max: 6 }),
	jobsPerRun: fc.integer({ min: 0, max: 2 }),
	deployments: fc.integer({ min: 0, max: 3 }),
	releases: fc.integer({ min: 0, max: 5 }),
	edits: fc.array(
		fc.record({ at: fc.nat({ max: 60 }), kind: fc.constantFrom(...KINDS), pick: fc.nat(), advance: fc.boolean() }),
		{ minLength: 1, maxLength: 12 },
	),
});

function seed(gh: GitHubStandin, s: Scenario): void {
	const tick = () => (s.sameTime ? undefined : gh.advance(1000));
	gh.addRepo({ owner: 'acme', name: 'prop', created_at: gh.now() });
	const wf = gh.addWorkflow({ repo: REPO, name: 'CI' });
	for (let i = 0; i < s.issues; i++) {
		tick();
		gh.addIssue({ repo: REPO, title: `issue ${i}` });
	}
	const pulls: number[] = [];
	for (let i = 0; i < s.pulls; i++) {
		tick();
		pulls.push(gh.addPull({ repo: REPO, title: `pr ${i}`, head: { ref: `b${i}` } }).number as number);
	}
	for (let i = 0; i < s.reviews && pulls.length > 0; i++) gh.addReview({ repo: REPO, pull: pulls[i % pulls.length], user: 'bob', state: 'APPROVED' });
	for (let i = 0; i < s.commits; i++) {
		tick();
		gh.addCommit({ repo: REPO, author: 'octo', message: `commit ${i}` });
	}
	for (let i = 0; i < s.runs; i++) {
		tick();
		const run = gh.addRun({ repo: REPO, workflow_id: wf.id as number });
		for (let j = 0; j < s.jobsPerRun; j++) gh.addJob({ run_id: run.id as number, name: `job ${j}` });
	}
	for (let i = 0; i < s.deployments; i++) {
		tick();
		const d = gh.addDeployment({ repo: REPO });
		gh.addDeploymentStatus({ deployment_id: d.id as number, state: 'in_progress' });
	}
	for (let i = 0; i < s.releases; i++) {
		tick();
		gh.addRelease({ repo: REPO, tag_name: `v${i}.0.0` });
	}
}

function pickOf<T>(list: T[], n: number): T | undefined {
	return list.length > 0 ? list[n % list.length] : undefined;
}

/** Applies one edit; false when there is nothing of that kind to edit. */
function apply(gh: GitHubStandin, edit: Edit): boolean {
	if (edit.advance) gh.advance(1000);
	const st = gh.store;
	const issues = [...st.issues.values()].filter((i) => !i.isPull && !i.deleted);
	const pulls = [...st.issues.values()].filter((i) => i.isPull);
	const title = `edited at ${edit.at}`;
	switch (edit.kind) {
		case 'issue': {
			const issue = pickOf(issues, edit.pick);
			if (issue) gh.update('issue', issue.id, { title, state: issue.state === 'open' ? 'closed' : 'open' });
			return !!issue;
		}
		case 'pull': {
			const pull = pickOf(pulls, edit.pick);
			if (pull) gh.update('pull', pull.pullId!, { title });
			return !!pull;
		}
		case 'review': {
			const pull = pickOf(pulls, edit.pick);
			if (pull) {
				gh.addReview({ repo: REPO, pull: pull.number, user: 'carol', state: 'CHANGES_REQUESTED' });
				gh.update('pull', pull.pullId!, {});
			}
			return !!pull;
		}
		case 'commit':
			gh.addCommit({ repo: REPO, author: 'octo', message: title });
			return true;
		case 'workflow': {
			const wf = pickOf([...st.workflows.values()], edit.pick);
			if (wf) gh.update('workflow', wf.id, { name: title });
			return !!wf;
		}
		case 'run': {
			const run = pickOf([...st.runs.values()], edit.pick);
			if (run) gh.update('run', run.id, { display_title: title, conclusion: 'failure' });
			return !!run;
		}
		case 'job': {
			const run = pickOf([...st.runs.values()], edit.pick);
			if (run) {
				gh.addJob({ run_id: run.id, name: title });
				gh.update('run', run.id, {});
			}
			return !!run;
		}
		case 'deployment': {
			const d = pickOf([...st.deployments.values()], edit.pick);
			if (d) gh.addDeploymentStatus({ deployment_id: d.id, state: 'success', description: title });
			return !!d;
		}
		case 'release': {
			const r = pickOf([...st.releases.values()], edit.pick);
			if (r) gh.update('release', r.id, { name: title });
			return !!r;
		}
		case 'repo':
			gh.update('repo', REPO, { description: title });
			return true;
	}
}

let connectors = 0;

async function runSync(gh: GitHubStandin, name: string, perPage: number) {
	const started = await startRun(db.pool, { connector: { connectorType: 'github', name } });
	if (started.status !== 'running') throw new Error('run not started');
	const client = new GitHubClient({ auth: { type: 'token', token: TOKEN }, baseUrl: gh.url, retryBaseMs: 10 });
	const result = await syncGitHub(db.pool, client, {
		connectorId: started.connectorId,
		runId: started.runId,
		selection: { mode: 'list', repositories: [REPO] },
		streams: [...STREAMS],
		perPage,
		now: () => gh.now().getTime(),
	});
	await finishRun(db.pool, started.runId);
	return { ...result, connectorId: started.connectorId };
}

it('no record of any stream is skipped when records change between pages, and a second sync converges to GitHub', async () => {
	let checked = 0;
	let editsApplied = 0;
	await fc.assert(
		fc.asyncProperty(scenario, async (s) => {
			const gh = await startGitHubStandin({ startTime: new Date(Date.now() - 5 * 86_400_000) });
			try {
				gh.addToken({ token: TOKEN, user: 'octo' });
				seed(gh, s);
				gh.advance(1000);
				const before = await truth(gh, TOKEN, REPO);
				const repoId = Number(before.repositories[0].id);

				const pending = [...s.edits].sort((a, b) => a.at - b.at);
				gh.resetRequests();
				const stop = gh.onRequest((_req, info) => {
					while (pending.length > 0 && pending[0].at <= info.index) if (apply(gh, pending.shift()!)) editsApplied++;
				});
				const name = `prop-${++connectors}`;
				const first = await runSync(gh, name, s.perPage);
				stop();

				// (a) no skip: every record that existed at the start is in bronze.
				for (const stream of STREAMS as readonly StreamName[]) {
					const rows = await bronzeRows(db.pool, first.connectorId, stream, repoId);
					const missing = before[stream].map((o) => keyOf(stream, o)).filter((k) => !rows.has(k));
					expect({ stream, missing }).toEqual({ stream, missing: [] });
				}
				// (b) convergence after one more sync.
				gh.advance(1000);
				await runSync(gh, name, s.perPage);
				expect(await differences(db.pool, first.connectorId, await truth(gh, TOKEN, REPO), repoId)).toEqual([]);
				checked++;
			} finally {
				await gh.close();
			}
		}),
		{ numRuns: RUNS, ...(process.env.GITHUB_PROPERTY_SEED ? { seed: Number(process.env.GITHUB_PROPERTY_SEED) } : {}) },
	);
	process.stdout.write(`github no-skip property: ${checked} scenarios, ${editsApplied} edits applied mid-sync\n`);
	expect(checked).toBe(RUNS);
});
