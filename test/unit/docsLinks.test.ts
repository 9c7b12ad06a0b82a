/**
 * What n8n's node panel and credential dialogs link to: every node has a codex file with
 * categories and documentation, and every documentation URL of a node or credential names a page
 * (and heading) that this package ships in docs/.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const REPO_DOCS = 'https://github.com/ipai/n8n-nodes-ipai-lakehouse/blob/main/';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
	const out = new Set<string>();
	let inCode = false;
	for (const line of markdown.split('\n')) {
		if (line.startsWith('```')) inCode = !inCode;
		const heading = !inCode && /^#{1,6} (.*)$/.exec(line);
		if (heading) out.add(heading[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
	}
	return out;
}

function expectShippedPage(url: string): void {
	expect(url.startsWith(REPO_DOCS)).toBe(true);
	const [file, anchor] = url.slice(REPO_DOCS.length).split('#');
	expect(pkg.files).toContain(file.split('/')[0]);
	const page = join(ROOT, file);
	expect(existsSync(page)).toBe(true);
	if (anchor) expect([...anchors(readFileSync(page, 'utf8'))]).toContain(anchor);
}

const nodeFiles: string[] = pkg.n8n.nodes.map((f: string) => f.replace(/^dist\//, '').replace(/\.js$/, '.ts'));

it.each(nodeFiles)('%s has a codex with categories, aliases and shipped documentation links', (nodeFile) => {
	const codexPath = join(ROOT, nodeFile.replace(/\.ts$/, '.json'));
	expect(existsSync(codexPath)).toBe(true);
	const codex = JSON.parse(readFileSync(codexPath, 'utf8'));
	const source = readFileSync(join(ROOT, nodeFile), 'utf8');
	expect(codex.node).toBe(`${pkg.name}.${/\bname: '([^']+)'/.exec(source)![1]}`);
	expect(codex.categories.length).toBeGreaterThan(0);
	expect(codex.alias.length).toBeGreaterThan(0);
	for (const key of ['primaryDocumentation', 'credentialDocumentation']) {
		for (const { url } of codex.resources[key]) expectShippedPage(url);
	}
});

it.each(readdirSync(join(ROOT, 'credentials')).filter((f) => f.endsWith('.credentials.ts')))(
	'%s links a shipped documentation page',
	(file) => {
		const url = /documentationUrl = '([^']+)'/.exec(readFileSync(join(ROOT, 'credentials', file), 'utf8'))?.[1];
		expect(url).toBeDefined();
		expectShippedPage(url!);
	},
);

it('every relative link in README and docs points to a file that exists', () => {
	const pages = ['README.md', ...walk('docs')];
	const broken: string[] = [];
	for (const page of pages) {
		const text = readFileSync(join(ROOT, page), 'utf8');
		for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
			if (/^[a-z]+:/.test(target)) continue;
			if (!existsSync(join(ROOT, page, '..', target))) broken.push(`${page} → ${target}`);
		}
	}
	expect(broken).toEqual([]);
});

function walk(dir: string): string[] {
	return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
		e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
	);
}
