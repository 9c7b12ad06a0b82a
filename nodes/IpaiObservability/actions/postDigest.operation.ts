/**
 * Post Chart Digest: the digest's charts from gold to Mattermost. Bot mode uploads the PNGs and
 * posts them in one message; webhook mode (which cannot upload) posts the same data as compact
 * Markdown tables.
 */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { DIGEST_SECTIONS, type DigestSection } from '../../../lib/observability/charts/catalogue';
import { buildDigest, digestMessage, DigestError } from '../../../lib/observability/charts/digest';
import { postToMattermost, secretsOfTarget, type Delivered } from '../../../lib/slo/mattermost';
import { postWithFiles, type UploadedFile } from '../../../lib/slo/mattermostFiles';
import { MATTERMOST_CREDENTIAL, mattermostTarget } from '../../shared/mattermost';
import { actionableError, perItem, type Operation } from '../../shared/items';
import { nodeError } from '../../shared/lakehouse';
import { forOperations } from '../../shared/resources';

interface DigestParameters {
	months?: number;
	weeks?: number;
	days?: number;
	maxSeries?: number;
	scale?: number;
}

export const description: INodeProperties[] = forOperations(['postDigest'], [
	{
		displayName: 'Sections',
		name: 'sections',
		type: 'multiOptions',
		options: [
			{ name: 'Finance', value: 'finance', description: 'Net profit by month; open receivables and payables by aging bucket' },
			{ name: 'DevOps Health', value: 'devops', description: 'DORA metrics by week; CI status per repository' },
			{ name: 'Operations', value: 'operations', description: 'Connector success rate per day and hours since the last success' },
		],
		default: ['finance', 'devops', 'operations'],
		description: 'Which charts the digest holds (at most five charts, one PNG each)',
	},
	{
		displayName: 'Title',
		name: 'title',
		type: 'string',
		default: 'IPAI lakehouse digest',
		description: 'Headline of the Mattermost post',
	},
	{
		displayName: 'Options',
		name: 'digestOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{ displayName: 'Days of Connector Runs', name: 'days', type: 'number', typeOptions: { minValue: 1, maxValue: 31 }, default: 7, description: 'Ending today (UTC)' },
			{ displayName: 'Max Series per Chart', name: 'maxSeries', type: 'number', typeOptions: { minValue: 1, maxValue: 40 }, default: 12, description: 'Most repositories per chart (connectors: twice as many), the busiest or worst first' },
			{ displayName: 'Months of Net Profit', name: 'months', type: 'number', typeOptions: { minValue: 1, maxValue: 60 }, default: 12, description: 'Ending with the newest month in gold' },
			{ displayName: 'Pixel Scale', name: 'scale', type: 'number', typeOptions: { minValue: 1, maxValue: 4 }, default: 2, description: 'Pixels per chart unit: 2 is sharp on high-density screens' },
			{ displayName: 'Weeks of DORA Metrics', name: 'weeks', type: 'number', typeOptions: { minValue: 1, maxValue: 104 }, default: 12, description: 'Ending with the newest week in gold' },
		],
	},
]);

export const execute: Operation = async function (session, items) {
	const target = mattermostTarget(await this.getCredentials(MATTERMOST_CREDENTIAL));
	const secrets = [...session.secrets, ...secretsOfTarget(target)];
	return perItem(
		this,
		items,
		async (i) => {
			const chosen = this.getNodeParameter('sections', i, [...DIGEST_SECTIONS]) as DigestSection[];
			const title = this.getNodeParameter('title', i, '') as string;
			const options = this.getNodeParameter('digestOptions', i, {}) as DigestParameters;
			const bot = target.mode === 'bot';
			const digest = await buildDigest(session.pool, {
				sections: chosen,
				window: { months: options.months, weeks: options.weeks, days: options.days, maxSeries: options.maxSeries },
				render: bot,
				scale: options.scale,
			});
			const body = { text: digestMessage(digest, { title, tables: !bot }), attachments: [] };
			let delivered: Delivered;
			let files: UploadedFile[] = [];
			if (bot && digest.charts.length) {
				const sent = await postWithFiles(target, body, digest.charts.map((c) => ({ name: c.filename, data: c.png!, contentType: 'image/png' })), { secrets });
				delivered = sent;
				files = sent.files;
			} else {
				delivered = await postToMattermost(target, body, { secrets });
			}
			return {
				posted: true,
				mode: target.mode,
				postId: delivered.postId,
				channelId: delivered.channelId,
				attempts: delivered.attempts,
				generatedAt: digest.generatedAt,
				window: { ...digest.window },
				files: files.map((f) => ({ id: f.id, name: f.name, size: f.size })),
				charts: digest.charts.map((c) => ({
					id: c.id,
					section: c.section,
					title: c.title,
					...(c.png ? { width: c.width, height: c.height, bytes: c.png.length } : {}),
					data: c.data,
				})),
				empty: digest.empty,
			} as IDataObject;
		},
		(e, i) =>
			e instanceof DigestError
				? actionableError(this.getNode(), e.message, { itemIndex: i, description: 'The digest reads the gold tables that the transforms refresh builds (IPAI: transforms refresh).' })
				: nodeError(this.getNode(), e, i, secrets),
	);
};
