/** The IPAI Mattermost credential as the engine's delivery target, and its test button. */
import type { ICredentialDataDecryptedObject, ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { testMattermost, type MattermostTarget } from '../../lib/slo/mattermost';

export const MATTERMOST_CREDENTIAL = 'ipaiMattermostApi';

export function mattermostTarget(data: ICredentialDataDecryptedObject): MattermostTarget {
	if (data.mode === 'bot') {
		return {
			mode: 'bot',
			serverUrl: String(data.serverUrl ?? '').trim(),
			token: String(data.accessToken ?? '').trim(),
			channelId: String(data.channelId ?? '').trim(),
		};
	}
	return {
		mode: 'webhook',
		webhookUrl: String(data.webhookUrl ?? '').trim(),
		channel: String(data.channel ?? '').trim() || undefined,
		username: String(data.username ?? '').trim() || undefined,
	};
}

export async function testMattermostCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const result = await testMattermost(mattermostTarget(credential.data ?? {}));
	return { status: result.ok ? 'OK' : 'Error', message: result.message };
}
