import { SupervisorEvent } from "../../schemas/events.ts";
import type { GenerationRecord } from "../../schemas/generation-record.ts";
import { isVerificationRunning } from "../../schemas/verification.ts";
import { readSseEvents } from "../shared/http/sse-read.ts";
import { SupervisorError } from "./supervisor-error.ts";

/** Where a record is read and what wakes the reader: the Supervisor's GET /generations/:n and GET /logs. */
export interface RecordSource {
  readonly baseUrl: string;
  getGeneration(generation: number, signal?: AbortSignal): Promise<GenerationRecord>;
  /** GET /logs as an event stream. */
  logs(signal: AbortSignal): Promise<Response>;
}

export interface WaitOptions {
  /** Between polls (default 1 s). */
  readonly pollMs?: number;
  /** Give up after this long (default 1 h). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Each record seen while waiting (progress for people). */
  readonly onPoll?: (record: GenerationRecord) => void;
  /** A `/logs` frame that is not a SupervisorEvent: why, before it is skipped (the polls go on). */
  readonly onBadEvent?: (problem: string) => void;
}

const DEFAULT_WAIT_MS = 60 * 60_000;

/**
 * The one way a job of the Supervisor (a spawned Lab, a verification) is awaited: reads
 * GET /generations/:n until `done(record)` and returns that record. It reads again at once whenever
 * the Supervisor's event stream (GET /logs) names generation n, so the end is seen as it happens;
 * every `pollMs` otherwise (or when the stream is not there).
 */
export async function awaitRecord(
  source: RecordSource,
  generation: number,
  done: (record: GenerationRecord) => boolean,
  options: WaitOptions = {},
): Promise<GenerationRecord> {
  const pollMs = options.pollMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
  const deadline = Date.now() + timeoutMs;
  const stop = new AbortController();
  let wake: (() => void) | undefined;
  let woken = false;
  void followEvents(
    source,
    generation,
    () => {
      woken = true;
      wake?.();
    },
    options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal,
    options.onBadEvent,
  );
  try {
    for (;;) {
      woken = false;
      const record = await source.getGeneration(generation, options.signal);
      options.onPoll?.(record);
      if (done(record)) return record;
      if (Date.now() + pollMs > deadline) {
        throw new SupervisorError(
          "GENERATION_WAIT_TIMEOUT",
          `generation ${generation} is still ${record.outcome}${isVerificationRunning(record.verificationRun) ? " with its verification running" : ""} after ${timeoutMs} ms; GET /generations/${generation} shows it`,
        );
      }
      // An event that arrived while the record was being read is not lost: read again now.
      if (woken) continue;
      const cut = new AbortController();
      wake = () => cut.abort();
      await sleep(pollMs, options.signal, cut.signal);
      wake = undefined;
    }
  } finally {
    stop.abort();
  }
}

/** Calls `onEvent` for each event of GET /logs naming `generation`, until `signal`; failures end it quietly. */
async function followEvents(
  source: RecordSource,
  generation: number,
  onEvent: () => void,
  signal: AbortSignal,
  onBadEvent: ((problem: string) => void) | undefined,
): Promise<void> {
  try {
    const res = await source.logs(signal);
    if (!res.ok || !res.body) return;
    await readSseEvents(res.body as unknown as AsyncIterable<Uint8Array>, SupervisorEvent, {
      event: (e) => {
        if ("generation" in e && e.generation === generation) onEvent();
      },
      invalid: (problem) => onBadEvent?.(`GET ${source.baseUrl}/logs: ${problem}`),
    });
  } catch {
    // Aborted, or the stream went away: the polls go on.
  }
}

/** Waits `ms`; rejects when `signal` aborts; resolves early when `cut` does. */
function sleep(ms: number, signal: AbortSignal | undefined, cut?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new SupervisorError("SUPERVISOR_ABORTED", "waiting was aborted"));
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      cut?.removeEventListener("abort", done);
      resolve();
    };
    const onAbort = () => {
      clearTimeout(timer);
      cut?.removeEventListener("abort", done);
      reject(new SupervisorError("SUPERVISOR_ABORTED", "waiting was aborted"));
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
    cut?.addEventListener("abort", done, { once: true });
  });
}
