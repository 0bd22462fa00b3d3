// The live monitor in the page: snapshot events as the server sends them, and what each feed
// (WebSocket push, AJAX poll, long-poll) received and showed, for the live numbers and the
// session summary (computed by the engine: src-tauri's summarize_monitor).
import type { Feed, Observation, Snapshot } from "./bindings";

export type { Feed, Observation, Snapshot };

export interface SnapshotEvent {
  seq: number;
  created_ns: number;
  data: Snapshot;
}

/** A snapshot event from `/ws/monitor` or `/monitor/latest`; throws on anything else. */
export function parseSnapshot(text: string): SnapshotEvent {
  const v = JSON.parse(text) as { event?: unknown; seq?: unknown; created_ns?: unknown; data?: unknown };
  if (v.event !== "snapshot" || typeof v.seq !== "number" || typeof v.created_ns !== "number" || typeof v.data !== "object" || v.data === null) {
    throw new Error(`not a snapshot event: ${text.slice(0, 80)}`);
  }
  return v as SnapshotEvent;
}

/** What one feed received and showed. */
export class FeedTracker {
  readonly observations: Observation[] = [];
  /** Age of each new snapshot when it went on screen, ms. */
  readonly staleness: number[] = [];
  shown: SnapshotEvent | null = null;
  missed = 0;

  constructor(readonly feed: Feed) {}

  /** Whether `event` is news for this feed (a newer snapshot than the one on screen). */
  isNew(event: SnapshotEvent | null): boolean {
    return event !== null && (this.shown === null || event.seq > this.shown.seq);
  }

  /** Records an answer; a new snapshot goes on screen at `shownNs`. */
  record(event: SnapshotEvent | null, o: { shownNs: number; bytesIn: number; bytesOut: number; handlerNs: number }): void {
    if (event && this.isNew(event)) {
      if (this.shown) this.missed += event.seq - this.shown.seq - 1;
      this.shown = event;
      this.staleness.push((o.shownNs - event.created_ns) / 1e6);
    }
    this.observations.push({
      feed: this.feed,
      seq: event?.seq ?? null,
      created_ns: event?.created_ns ?? null,
      shown_ns: Math.round(o.shownNs),
      bytes_out: o.bytesOut,
      bytes_in: o.bytesIn,
      handler_ns: Math.round(o.handlerNs),
    });
  }

  /** Age of what is on screen at `nowNs`, ms. */
  ageMs(nowNs: number): number | null {
    return this.shown ? (nowNs - this.shown.created_ns) / 1e6 : null;
  }

  /** Messages, bytes and handler time per second over the last `windowS` seconds before `nowNs`. */
  rates(nowNs: number, windowS: number): { perS: number; bytesPerS: number; cpuMsPerS: number; lastStalenessMs: number | null } {
    const since = nowNs - windowS * 1e9;
    let n = 0;
    let bytes = 0;
    let handler = 0;
    for (let i = this.observations.length - 1; i >= 0 && this.observations[i].shown_ns >= since; i--) {
      const o = this.observations[i];
      n++;
      bytes += o.bytes_in + o.bytes_out;
      handler += o.handler_ns;
    }
    return {
      perS: n / windowS,
      bytesPerS: bytes / windowS,
      cpuMsPerS: handler / 1e6 / windowS,
      // When the newest snapshot first went on screen (a repeated poll answer does not count).
      lastStalenessMs: this.staleness.length ? this.staleness[this.staleness.length - 1] : null,
    };
  }
}
