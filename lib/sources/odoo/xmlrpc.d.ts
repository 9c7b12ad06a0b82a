// The xmlrpc package's serializer and deserializer, used directly so the transport owns the HTTP
// request (timeouts, status codes), which the package's own client does not handle.
declare module 'xmlrpc/lib/serializer' {
	export function serializeMethodCall(method: string, params: unknown[], encoding?: string): string;
}
declare module 'xmlrpc/lib/deserializer' {
	import type { Readable } from 'node:stream';
	class Deserializer {
		constructor(encoding?: string);
		deserializeMethodResponse(stream: Readable, callback: (error: (Error & { faultCode?: number | string; faultString?: string }) | null, result: unknown) => void): void;
	}
	export = Deserializer;
}
