import { describe, expect, it } from "vitest";

import { parseHeaderBlock, responseHeadLength, utf8Length, wsFrameLength } from "./wire";

describe("bytes on the wire", () => {
  it("WebSocket frames follow RFC 6455 length encoding", () => {
    expect(wsFrameLength(0, false)).toBe(2);
    expect(wsFrameLength(125, true)).toBe(2 + 4 + 125);
    expect(wsFrameLength(126, false)).toBe(4 + 126);
    expect(wsFrameLength(65_535, true)).toBe(4 + 4 + 65_535);
    expect(wsFrameLength(65_536, false)).toBe(10 + 65_536);
  });
  it("counts UTF-8 bytes, not UTF-16 units", () => {
    expect(utf8Length("abc")).toBe(3);
    expect(utf8Length("µs")).toBe(3);
    expect(utf8Length("⇄")).toBe(3);
  });
  it("rebuilds a response head byte for byte", () => {
    const head =
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 71\r\ndate: Wed, 25 Nov 2026 04:00:00 GMT\r\n\r\n";
    const headers: [string, string][] = [
      ["content-type", "application/json"],
      ["content-length", "71"],
      ["date", "Wed, 25 Nov 2026 04:00:00 GMT"],
    ];
    expect(responseHeadLength(200, "OK", headers)).toBe(head.length);
    expect(responseHeadLength(200, "", headers)).toBe(head.length);
  });
  it("parses XMLHttpRequest's header block", () => {
    expect(parseHeaderBlock("Content-Type: application/json\r\nX-Duplex-Request-Bytes: 312\r\n")).toEqual([
      ["content-type", "application/json"],
      ["x-duplex-request-bytes", "312"],
    ]);
  });
});
