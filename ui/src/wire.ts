// Bytes on the wire, counted the way the engine counts them for native clients, so web-view
// and native byte figures compare.

/** UTF-8 length of a string. */
export function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** Size of one unfragmented WebSocket frame (RFC 6455 §5.2): clients mask, servers do not. */
export function wsFrameLength(payloadBytes: number, masked: boolean): number {
  const ext = payloadBytes < 126 ? 0 : payloadBytes < 65_536 ? 2 : 8;
  return 2 + ext + (masked ? 4 : 0) + payloadBytes;
}

/**
 * Size of an HTTP/1.1 response head: status line, `name: value\r\n` per header, blank line.
 * `headers` are what the page can read: all of them when the server sends
 * `Access-Control-Expose-Headers: *`, as Duplex's does for the app.
 */
export function responseHeadLength(status: number, statusText: string, headers: Iterable<[string, string]>): number {
  let n = `HTTP/1.1 ${status} ${statusText || reasonPhrase(status)}\r\n`.length + 2;
  for (const [name, value] of headers) n += name.length + 2 + utf8Length(value) + 2;
  return n;
}

/** Parses `XMLHttpRequest.getAllResponseHeaders()` into pairs. */
export function parseHeaderBlock(block: string): [string, string][] {
  return block
    .split(/\r?\n/)
    .filter((line) => line.includes(":"))
    .map((line) => {
      const i = line.indexOf(":");
      return [line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()] as [string, string];
    });
}

function reasonPhrase(status: number): string {
  return ({ 200: "OK", 204: "No Content", 400: "Bad Request", 413: "Payload Too Large" } as Record<number, string>)[status] ?? "";
}
