import { describe, expect, it } from "vitest";

import { FeedTracker, parseSnapshot, type SnapshotEvent } from "./monitor";

const MS = 1e6;
const snap = (seq: number, createdMs: number): SnapshotEvent => ({
  seq,
  created_ns: createdMs * MS,
  data: { cpu_per_core: [1], cpu_total: 1, load: [0, 0, 0], memory_used_bytes: 1, memory_total_bytes: 2, swap_used_bytes: 0, swap_total_bytes: 0, net_rx_bytes_per_s: 0, net_tx_bytes_per_s: 0, disk_read_bytes_per_s: 0, disk_write_bytes_per_s: 0, top: [] },
});

describe("live monitor feeds", () => {
  it("parses snapshot events and refuses others", () => {
    const ev = parseSnapshot(JSON.stringify({ event: "snapshot", seq: 3, created_ns: 5, data: snap(3, 0).data }));
    expect(ev.seq).toBe(3);
    expect(() => parseSnapshot(JSON.stringify({ event: "tick", seq: 1, created_ns: 5 }))).toThrow(/not a snapshot/);
    expect(() => parseSnapshot("{")).toThrow();
  });

  it("counts new snapshots, repeats and misses, and ages what is on screen", () => {
    const poll = new FeedTracker("poll");
    const io = (shownMs: number) => ({ shownNs: shownMs * MS, bytesIn: 300, bytesOut: 100, handlerNs: 0.5 * MS });
    expect(poll.isNew(snap(1, 0))).toBe(true);
    poll.record(snap(1, 0), io(500));
    poll.record(snap(1, 0), io(1500)); // the same snapshot again: not news
    expect(poll.isNew(snap(1, 0))).toBe(false);
    poll.record(snap(4, 3000), io(3500)); // 2 and 3 never seen
    poll.record(null, io(3600)); // 204
    expect(poll.missed).toBe(2);
    expect(poll.shown?.seq).toBe(4);
    expect(poll.ageMs(4000 * MS)).toBe(1000);
    expect(poll.observations.map((o) => o.seq)).toEqual([1, 1, 4, null]);
    expect(poll.staleness).toEqual([500, 500]);
    const r = poll.rates(4000 * MS, 1);
    expect(r.perS).toBe(2); // 3500 and 3600 ms fall in the last second
    expect(r.bytesPerS).toBe(800);
    expect(r.cpuMsPerS).toBeCloseTo(1);
    expect(r.lastStalenessMs).toBe(500);
    poll.record(snap(4, 3000), io(3900)); // the same snapshot polled again: still 500 ms when first shown
    expect(poll.rates(4000 * MS, 1).lastStalenessMs).toBe(500);
  });
});
