import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// PRD R6.1: the Spec Kit must exist and say something. A missing or empty file fails CI by name.
const SPEC_DIR = join(__dirname, '..', '..', 'spec', 'ipai-databricks');
const REQUIRED = ['constitution.md', 'prd.md', 'plan.md', 'tasks.md'];

describe('Spec Kit', () => {
	it('has every required file, non-empty', () => {
		const problems = REQUIRED.flatMap((file) => {
			const path = join(SPEC_DIR, file);
			if (!existsSync(path)) return [`spec/ipai-databricks/${file} is missing`];
			if (readFileSync(path, 'utf8').replace(/^#.*$/gm, '').trim().length === 0) return [`spec/ipai-databricks/${file} is empty`];
			return [];
		});
		expect(problems).toEqual([]);
	});
});
