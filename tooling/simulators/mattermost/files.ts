/**
 * Mattermost's file API for the simulator, written from the API reference
 * (https://developers.mattermost.com/api-documentation/#/operations/UploadFile, CreatePost, GetFile):
 *
 *   POST /api/v4/files       multipart/form-data (RFC 7578) with `channel_id` and one or more
 *                            `files` parts (optional `client_ids`), or the raw body with
 *                            ?channel_id=&filename=. 201 {file_infos: [FileInfo], client_ids};
 *                            no token → 401; not a member of the channel → 403
 *                            api.context.permissions.app_error; no channel_id or no file → 400
 *                            api.context.invalid_body_param.app_error / api.file.upload_file.
 *                            incorrect_number_of_files.app_error; not multipart and no filename →
 *                            400; larger than MaxFileSize → 413
 *                            api.file.upload_file.too_large_detailed.app_error
 *   GET  /api/v4/files/{id}  the bytes (uploader or channel member), 404 otherwise
 *
 * A FileInfo is {id, user_id, channel_id, post_id, create_at, update_at, delete_at, name,
 * extension, size, mime_type, width, height, has_preview_image}; width/height come from the image
 * itself (PNG IHDR). CreatePost attaches `file_ids` (at most 5 per post) that the same user
 * uploaded to the same channel and that no post has yet; others are left out of the post.
 */
import type { IncomingMessage } from 'node:http';

export interface SimFile {
	id: string;
	userId: string;
	channelId: string;
	postId: string;
	name: string;
	extension: string;
	mimeType: string;
	size: number;
	width: number;
	height: number;
	data: Buffer;
	createAt: number;
}

export interface FilePart {
	name: string;
	filename?: string;
	contentType?: string;
	data: Buffer;
}

export const MAX_FILES_PER_POST = 5;
const MIME: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml', csv: 'text/csv', txt: 'text/plain', json: 'application/json', pdf: 'application/pdf' };

export class MultipartError extends Error {}

/** Parses a multipart/form-data body (RFC 7578 over RFC 2046 framing). */
export function parseMultipart(contentType: string, body: Buffer): FilePart[] {
	const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
	if (!/^multipart\/form-data/i.test(contentType) || !match) throw new MultipartError('not multipart/form-data with a boundary');
	const delimiter = Buffer.from(`--${match[1] ?? match[2]}`);
	const parts: FilePart[] = [];
	let at = body.indexOf(delimiter);
	if (at < 0) throw new MultipartError('the boundary does not occur in the body');
	for (;;) {
		at += delimiter.length;
		if (body.subarray(at, at + 2).toString() === '--') return parts; // close delimiter
		if (body.subarray(at, at + 2).toString() !== '\r\n') throw new MultipartError('a boundary is not followed by CRLF');
		at += 2;
		const headerEnd = body.indexOf('\r\n\r\n', at);
		if (headerEnd < 0) throw new MultipartError('a part has no end of headers');
		const headers = new Map<string, string>();
		for (const line of body.subarray(at, headerEnd).toString('utf8').split('\r\n')) {
			const colon = line.indexOf(':');
			if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
		}
		const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
		if (next < 0) throw new MultipartError('a part is not closed by the boundary');
		const disposition = headers.get('content-disposition') ?? '';
		const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
		if (!/^form-data/i.test(disposition) || name === undefined) throw new MultipartError('a part has no Content-Disposition: form-data; name=…');
		const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
		parts.push({ name, filename, contentType: headers.get('content-type'), data: body.subarray(headerEnd + 4, next) });
		at = next + 2;
	}
}

function pngSize(data: Buffer): { width: number; height: number } {
	const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
	if (data.length < 24 || !data.subarray(0, 8).equals(signature) || data.subarray(12, 16).toString() !== 'IHDR') return { width: 0, height: 0 };
	return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

export type FileAnswer = { status: number; json?: unknown; error?: { id: string; message: string }; bytes?: { data: Buffer; type: string; name: string } };

export class SimFileStore {
	readonly files = new Map<string, SimFile>();

	constructor(
		private readonly newId: () => string,
		readonly maxFileBytes = 104_857_600,
	) {}

	info(f: SimFile): Record<string, unknown> {
		return {
			id: f.id, user_id: f.userId, channel_id: f.channelId, post_id: f.postId, create_at: f.createAt, update_at: f.createAt, delete_at: 0,
			name: f.name, extension: f.extension, size: f.size, mime_type: f.mimeType, width: f.width, height: f.height, has_preview_image: f.width > 0,
		};
	}

	/** POST /api/v4/files for a user allowed in `canPost` channels. */
	upload(req: IncomingMessage, url: URL, raw: Buffer, userId: string, canPost: (channelId: string) => boolean): FileAnswer {
		const contentType = req.headers['content-type'] ?? '';
		let channelId = url.searchParams.get('channel_id') ?? '';
		let uploads: Array<{ name: string; data: Buffer }> = [];
		let clientIds: string[] = [];
		if (/^multipart\/form-data/i.test(contentType)) {
			let parts: FilePart[];
			try {
				parts = parseMultipart(contentType, raw);
			} catch (error) {
				return { status: 400, error: { id: 'api.file.upload_file.read_request.app_error', message: `Unable to read the request: ${(error as Error).message}.` } };
			}
			channelId = parts.find((p) => p.name === 'channel_id')?.data.toString('utf8') ?? channelId;
			uploads = parts.filter((p) => p.name === 'files').map((p) => ({ name: p.filename ?? '', data: p.data }));
			clientIds = parts.filter((p) => p.name === 'client_ids').map((p) => p.data.toString('utf8'));
		} else {
			const filename = url.searchParams.get('filename');
			if (!filename) return { status: 400, error: { id: 'api.context.invalid_url_param.app_error', message: 'Invalid or missing filename parameter in request URL.' } };
			uploads = [{ name: filename, data: raw }];
		}
		if (!channelId) return { status: 400, error: { id: 'api.context.invalid_body_param.app_error', message: 'Invalid or missing channel_id in request body.' } };
		if (!canPost(channelId)) return { status: 403, error: { id: 'api.context.permissions.app_error', message: 'You do not have the appropriate permissions.' } };
		if (!uploads.length || uploads.some((u) => !u.name)) return { status: 400, error: { id: 'api.file.upload_file.incorrect_number_of_files.app_error', message: 'Unable to upload files. Incorrect number of files specified.' } };
		const tooLarge = uploads.find((u) => u.data.length > this.maxFileBytes);
		if (tooLarge) return { status: 413, error: { id: 'api.file.upload_file.too_large_detailed.app_error', message: `Unable to upload file ${tooLarge.name}. ${tooLarge.data.length} bytes exceeds the maximum allowed ${this.maxFileBytes} bytes.` } };
		const infos = uploads.map((u) => {
			const extension = /\.([A-Za-z0-9]+)$/.exec(u.name)?.[1].toLowerCase() ?? '';
			const file: SimFile = {
				id: this.newId(), userId, channelId, postId: '', name: u.name, extension, mimeType: MIME[extension] ?? 'application/octet-stream',
				size: u.data.length, ...(extension === 'png' ? pngSize(u.data) : { width: 0, height: 0 }), data: Buffer.from(u.data), createAt: Date.now(),
			};
			this.files.set(file.id, file);
			return this.info(file);
		});
		return { status: 201, json: { file_infos: infos, client_ids: clientIds } };
	}

	/** GET /api/v4/files/{id}. */
	get(id: string, userId: string, canRead: (channelId: string) => boolean): FileAnswer {
		const file = this.files.get(id);
		if (!file || (file.userId !== userId && !canRead(file.channelId))) return { status: 404, error: { id: 'app.file_info.get.app_error', message: 'Unable to get the file info.' } };
		return { status: 200, bytes: { data: file.data, type: file.mimeType, name: file.name } };
	}

	/** The ids CreatePost may attach: the user's own uploads to this channel, not on a post yet. */
	attach(ids: unknown, userId: string, channelId: string, postId: string): string[] {
		if (!Array.isArray(ids)) return [];
		const attached: string[] = [];
		for (const id of ids) {
			const file = typeof id === 'string' ? this.files.get(id) : undefined;
			if (!file || file.userId !== userId || file.channelId !== channelId || file.postId) continue;
			file.postId = postId;
			attached.push(file.id);
		}
		return attached;
	}
}
