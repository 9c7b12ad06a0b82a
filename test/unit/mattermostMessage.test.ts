/** Plain messages (error workflow, dispatcher) share the alerts' look, redaction and size limits. */
import { buildMessagePost, MAX_POST_RUNES } from '../../lib/slo/mattermostPosts';

describe('plain Mattermost messages', () => {
	it('a failed pipeline: headline, link, fields without empty values, urgent for pages', () => {
		const post = buildMessagePost({
			title: 'Pipeline failed: IPAI: Odoo finance sync',
			text: 'Odoo refused the login (password pw-SECRET-1)',
			severity: 'page',
			link: 'http://n8n.local/workflow/1/executions/9',
			fields: [
				{ title: 'Connector', value: 'odoo/finance' },
				{ title: 'Run', value: '' },
			],
		}, ['pw-SECRET-1']);
		expect(post.text).toBe(':rotating_light: **[PAGE]** Pipeline failed: IPAI: Odoo finance sync\nOdoo refused the login (password ***)');
		expect(post.priority).toEqual({ priority: 'urgent', requested_ack: true });
		expect(post.attachments[0]).toMatchObject({ title_link: 'http://n8n.local/workflow/1/executions/9', color: '#d0021b' });
		expect(post.attachments[0].fields).toEqual([{ title: 'Connector', value: 'odoo/finance', short: true }]);
	});

	it('tickets are not urgent, info has no tag, and long text is cut to the post limit', () => {
		const ticket = buildMessagePost({ title: 'x', text: 'y'.repeat(MAX_POST_RUNES + 10), severity: 'ticket' });
		expect(ticket.priority).toBeUndefined();
		expect(Array.from(ticket.text)).toHaveLength(MAX_POST_RUNES);
		expect(buildMessagePost({ title: 'Dispatcher', text: 'ok', severity: 'info' }).text).toBe(':information_source: Dispatcher\nok');
	});
});
