import { z } from "zod";
import { GenerationDiff } from "../../schemas/generation-diff.ts";
import { GenerationRecord } from "../../schemas/generation-record.ts";
import {
  ErrorBody,
  PromoteResponse,
  RollbackResponse,
  SpawnResponse,
  SupervisorStats,
} from "../../schemas/supervisor.ts";
import { MechanicalVerification, type ReviewRequest, Verification } from "../../schemas/verification.ts";
import { LoomError } from "../shared/errors.ts";

/**
 * A failure talking to the Supervisor. For a non-2xx answer `code` and `message` are the ErrorBody's
 * (e.g. GENERATION_NOT_FOUND, NOT_VERIFYING); otherwise one of SUPERVISOR_UNREACHABLE,
 * SUPERVISOR_TIMEOUT, SUPERVISOR_ABORTED, SUPERVISOR_BAD_RESPONSE, GENERATION_WAIT_TIMEOUT.
 */
export class SupervisorError extends LoomError {
  /** The HTTP status when the Supervisor answered. */
  readonly status: number | undefined;
  constructor(code: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.status = options.status;
  }
}

export interface SupervisorClientOptions {
  /** e.g. http://127.0.0.1:8400 (LOOM_SUPERVISOR_URL). */
  readonly baseUrl: string;
  /** LOOM_SUPERVISOR_TOKEN, sent as a bearer token when set. */
  readonly token?: string | undefined;
  /** Limit for one request (default 30 s). */
  readonly timeoutMs?: number;
  /** Limit for POST /verify, which runs the tests in a fresh container (default 30 min). */
  readonly verifyTimeoutMs?: number;
  readonly fetch?: typeof globalThis.fetch;
}

export interface WaitOptions {
  /** Between polls (default 1 s). */
  readonly pollMs?: number;
  /** Give up after this long (default 1 h). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Each record seen while waiting (progress for people). */
  readonly onPoll?: (record: GenerationRecord) => void;
}

/** Outcomes a generation passes through while its Lab works; anything else means the Lab is done. */
const IN_PROGRESS = new Set(["pending", "running"]);

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_VERIFY_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_WAIT_MS = 60 * 60_000;

interface Call<S extends z.ZodType> {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: unknown;
  readonly schema: S;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** A typed client of the Supervisor's HTTP API: every answer parsed with its schema from `schemas/`. */
/** Between looks at the record while a verification started elsewhere finishes. */
const VERIFY_POLL_MS = 1000;

export class SupervisorClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #verifyTimeoutMs: number;
  readonly #fetch: typeof globalThis.fetch;

  constructor(options: SupervisorClientOptions) {
    if (!URL.canParse(options.baseUrl)) {
      throw new LoomError(
        "CONFIG_INVALID",
        `the Supervisor URL ${JSON.stringify(options.baseUrl)} is not a URL; expected e.g. http://127.0.0.1:8400 (LOOM_SUPERVISOR_URL)`,
      );
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#token = options.token || undefined;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#verifyTimeoutMs = options.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  listGenerations(signal?: AbortSignal): Promise<GenerationRecord[]> {
    return this.#call({ method: "GET", path: "/generations", schema: z.array(GenerationRecord), signal });
  }

  getGeneration(generation: number, signal?: AbortSignal): Promise<GenerationRecord> {
    return this.#call({
      method: "GET",
      path: `/generations/${generation}`,
      schema: GenerationRecord,
      signal,
    });
  }

  diff(generation: number, signal?: AbortSignal): Promise<GenerationDiff> {
    return this.#call({
      method: "GET",
      path: `/generations/${generation}/diff`,
      schema: GenerationDiff,
      signal,
    });
  }

  stats(signal?: AbortSignal): Promise<SupervisorStats> {
    return this.#call({ method: "GET", path: "/stats", schema: SupervisorStats, signal });
  }

  /** Starts a generation (202); its Lab runs asynchronously: follow it with waitForGeneration. */
  spawn(program: string, signal?: AbortSignal): Promise<SpawnResponse> {
    return this.#call({ method: "POST", path: "/spawn", body: { program }, schema: SpawnResponse, signal });
  }

  /**
   * Stage 1 in a fresh container; may take many minutes. A long stage 1 can outlive one HTTP exchange
   * (fetch gives up waiting for headers after 300 s), and a restarted Prime may find its earlier request
   * still running (409 VERIFY_RUNNING): the Supervisor goes on either way and stores the result on the
   * record, so then the record is polled until the new result is there.
   */
  async verify(generation: number, signal?: AbortSignal): Promise<MechanicalVerification> {
    const before = JSON.stringify(
      (await this.getGeneration(generation, signal)).verification?.mechanical ?? null,
    );
    try {
      return await this.#call({
        method: "POST",
        path: "/verify",
        body: { generation },
        schema: MechanicalVerification,
        timeoutMs: this.#verifyTimeoutMs,
        signal,
      });
    } catch (err) {
      const recoverable =
        err instanceof SupervisorError &&
        (err.code === "VERIFY_RUNNING" || err.code === "SUPERVISOR_UNREACHABLE");
      if (!recoverable) throw err;
      return this.#awaitVerification(generation, before, signal);
    }
  }

  async #awaitVerification(
    generation: number,
    before: string,
    signal: AbortSignal | undefined,
  ): Promise<MechanicalVerification> {
    const deadline = Date.now() + this.#verifyTimeoutMs;
    for (;;) {
      const record = await this.getGeneration(generation, signal);
      const mechanical = record.verification?.mechanical;
      if (mechanical && JSON.stringify(mechanical) !== before) return mechanical;
      if (record.outcome !== "verifying") {
        throw new SupervisorError(
          "NOT_VERIFYING",
          `generation ${generation} became ${record.outcome} while its verification was awaited; GET /generations/${generation} shows why`,
        );
      }
      if (Date.now() > deadline) {
        throw new SupervisorError(
          "SUPERVISOR_TIMEOUT",
          `no verification of generation ${generation} was recorded within ${this.#verifyTimeoutMs} ms`,
        );
      }
      await sleep(VERIFY_POLL_MS, signal);
    }
  }

  /** Records stage 2 (the review, or why there is none); answers the whole Verification. */
  review(body: ReviewRequest, signal?: AbortSignal): Promise<Verification> {
    return this.#call({ method: "POST", path: "/review", body, schema: Verification, signal });
  }

  promote(generation: number, signal?: AbortSignal): Promise<PromoteResponse> {
    return this.#call({
      method: "POST",
      path: "/promote",
      body: { generation },
      schema: PromoteResponse,
      signal,
    });
  }

  rollback(generation: number, reason: string | undefined, signal?: AbortSignal): Promise<RollbackResponse> {
    return this.#call({
      method: "POST",
      path: "/rollback",
      body: { generation, ...(reason ? { reason } : {}) },
      schema: RollbackResponse,
      signal,
    });
  }

  /**
   * Reads GET /generations/:n until the outcome leaves pending/running; returns that record. It reads
   * again at once whenever the Supervisor's event stream (GET /logs) says something of generation n,
   * so the Lab's end is seen as it happens; every `pollMs` otherwise (or when the stream is not there).
   */
  async waitForGeneration(generation: number, options: WaitOptions = {}): Promise<GenerationRecord> {
    const pollMs = options.pollMs ?? 1000;
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_WAIT_MS);
    const stop = new AbortController();
    let wake: (() => void) | undefined;
    let woken = false;
    void this.#followEvents(
      generation,
      () => {
        woken = true;
        wake?.();
      },
      options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal,
    );
    try {
      for (;;) {
        woken = false;
        const record = await this.getGeneration(generation, options.signal);
        options.onPoll?.(record);
        if (!IN_PROGRESS.has(record.outcome)) return record;
        if (Date.now() + pollMs > deadline) {
          throw new SupervisorError(
            "GENERATION_WAIT_TIMEOUT",
            `generation ${generation} is still ${record.outcome} after ${options.timeoutMs ?? DEFAULT_WAIT_MS} ms; GET /generations/${generation} shows it`,
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
  async #followEvents(generation: number, onEvent: () => void, signal: AbortSignal): Promise<void> {
    try {
      const res = await this.#fetch(`${this.baseUrl}/logs`, {
        headers: { accept: "text/event-stream" },
        signal,
      });
      if (!res.ok || !res.body) return;
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        const frames = buffered.split("\n\n");
        buffered = frames.pop() ?? "";
        for (const frame of frames) {
          const data = frame
            .split("\n")
            .filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6))
            .join("\n");
          if (data === "") continue;
          try {
            if ((JSON.parse(data) as { generation?: unknown }).generation === generation) onEvent();
          } catch {
            // Not JSON: not an event this client knows.
          }
        }
      }
    } catch {
      // Aborted, or the stream went away: the polls go on.
    }
  }

  async #call<S extends z.ZodType>(call: Call<S>): Promise<z.infer<S>> {
    const url = `${this.baseUrl}${call.path}`;
    const what = `${call.method} ${call.path}`;
    const timeoutMs = call.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: "application/json" };
    if (call.body !== undefined) headers["content-type"] = "application/json";
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(url, {
        method: call.method,
        headers,
        signal,
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      });
      text = await res.text();
    } catch (err) {
      if (call.signal?.aborted) {
        throw new SupervisorError("SUPERVISOR_ABORTED", `${what} was aborted`, { cause: err });
      }
      if (timeout.aborted) {
        throw new SupervisorError(
          "SUPERVISOR_TIMEOUT",
          `the Supervisor did not answer ${what} within ${timeoutMs} ms (${this.baseUrl})`,
          { cause: err },
        );
      }
      const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new SupervisorError(
        "SUPERVISOR_UNREACHABLE",
        `cannot reach the Supervisor at ${this.baseUrl} for ${what} (${reason}); is it running? LOOM_SUPERVISOR_URL says where it is`,
        { cause: err },
      );
    }
    const json = parseJson(text);
    if (!res.ok) {
      const body = ErrorBody.safeParse(json);
      if (body.success) {
        throw new SupervisorError(body.data.error.code, body.data.error.message, { status: res.status });
      }
      throw new SupervisorError(
        "SUPERVISOR_BAD_RESPONSE",
        `the Supervisor answered ${what} with ${res.status} and no error body: ${snippet(text)}`,
        { status: res.status },
      );
    }
    const parsed = call.schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`)
        .join("; ");
      throw new SupervisorError(
        "SUPERVISOR_BAD_RESPONSE",
        `the Supervisor's answer to ${what} does not match its schema: ${issues}`,
        { status: res.status },
      );
    }
    return parsed.data;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const snippet = (text: string): string => {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat === "" ? "(empty body)" : flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
};

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

/** The client for a loaded configuration (LOOM_SUPERVISOR_URL, LOOM_SUPERVISOR_TOKEN). */
export function supervisorClientFor(
  config: { readonly supervisorUrl: string; readonly supervisorToken: string | undefined },
  overrides: { url?: string } = {},
): SupervisorClient {
  return new SupervisorClient({
    baseUrl: overrides.url ?? config.supervisorUrl,
    token: config.supervisorToken,
  });
}
