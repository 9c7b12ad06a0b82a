/**
 * Files on Mattermost (bot mode only; an incoming webhook cannot upload): `POST /api/v4/files`
 * as multipart/form-data with `channel_id` and one `files` part per file (201 with `file_infos`),
 * then one post whose `file_ids` attach them (Mattermost attaches at most 5 files to a post).
 * Same retry policy and redaction as postToMattermost: 429 waits for the reset, 5xx and network
 * errors back off, other 4xx are reported at once with what to fix.
 */
import { redact } from '../lakehouse/connection';
import { apiBase, MattermostError, postToMattermost, secretsOfTarget, sendWithRetries, type Delivered, type DeliveryOptions, type MattermostTarget } from './mattermost';
import { type PostBody } from './mattermostPosts';

export const MAX_FILES_PER_POST = 5;

export interface OutgoingFile {
	name: string;
	data: Buffer;
	contentType: string;
}

export interface UploadedFile {
	id: string;
	name: string;
	size: number;
	mimeType: string;
}

type BotTarget = Extract<MattermostTarget, { mode: 'bot' }>;

const sleepReal = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const FILE_HINTS: Record<number, string> = {
	403: 'the bot may not upload files in that channel: add it to the channel and check that its role has the upload_file permission',
	413: 'a file is larger than the server allows (System Console › Environment › File Storage › Maximum File Size)',
	501: 'file attachments are disabled on this server (System Console › Site Configuration › File Sharing and Downloads)',
};

/** Uploads files to the target's channel in one request; returns them in the order given. */
export async function uploadFiles(target: BotTarget, files: readonly OutgoingFile[], options: DeliveryOptions = {}): Promise<{ files: UploadedFile[]; attempts: number }> {
	if (!target.channelId) throw new MattermostError('The IPAI Mattermost credential has no channel ID', null, false);
	if (!files.length) return { files: [], attempts: 0 };
	const secrets = [...secretsOfTarget(target), ...(options.secrets ?? [])];
	const url = `${apiBase(target.serverUrl)}/api/v4/files`;
	const doFetch = options.fetchImpl ?? fetch;
	const sleep = options.sleep ?? sleepReal;
	const maxAttempts = options.maxAttempts ?? 4;
	const baseDelay = options.baseDelayMs ?? 500;
	const { text, attempts } = await sendWithRetries(
		() => {
			const form = new FormData();
			form.append('channel_id', target.channelId);
			for (const file of files) form.append('files', new Blob([file.data], { type: file.contentType }), file.name);
			return doFetch(url, { method: 'POST', headers: { Authorization: `Bearer ${target.token}` }, body: form, signal: AbortSignal.timeout(options.timeoutMs ?? 60_000) });
		},
		{ maxAttempts, baseDelay, maxWait: options.maxWaitMs ?? 60_000, sleep, secrets, what: 'the file upload', hints: FILE_HINTS },
	);
	return { files: uploadedFrom(text, files, secrets), attempts };
}

function uploadedFrom(text: string, files: readonly OutgoingFile[], secrets: string[]): UploadedFile[] {
	let infos: Array<{ id?: string; name?: string; size?: number; mime_type?: string }> = [];
	try {
		infos = (JSON.parse(text) as { file_infos?: typeof infos }).file_infos ?? [];
	} catch {
		// handled below: the upload cannot be attached without ids
	}
	const uploaded = infos.filter((f) => typeof f.id === 'string' && f.id).map((f) => ({ id: f.id!, name: f.name ?? '', size: Number(f.size ?? 0), mimeType: f.mime_type ?? '' }));
	if (uploaded.length !== files.length) {
		throw new MattermostError(redact(`Mattermost accepted the upload but returned ${uploaded.length} file ids for ${files.length} files`, secrets), null, false);
	}
	return uploaded;
}

export interface DeliveredWithFiles extends Delivered {
	files: UploadedFile[];
}

/** Uploads the files and posts them with the message, all in one post. */
export async function postWithFiles(target: MattermostTarget, body: PostBody, files: readonly OutgoingFile[], options: DeliveryOptions = {}): Promise<DeliveredWithFiles> {
	if (target.mode !== 'bot') {
		throw new MattermostError('Posting files needs the IPAI Mattermost credential in bot mode (an incoming webhook cannot upload files)', null, false);
	}
	if (files.length > MAX_FILES_PER_POST) throw new MattermostError(`Mattermost attaches at most ${MAX_FILES_PER_POST} files to a post (got ${files.length})`, null, false);
	const uploaded = await uploadFiles(target, files, options);
	const delivered = await postToMattermost(target, body, { ...options, fileIds: uploaded.files.map((f) => f.id) });
	return { ...delivered, attempts: delivered.attempts + uploaded.attempts, files: uploaded.files };
}
