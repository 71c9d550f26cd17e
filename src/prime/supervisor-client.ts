import { z } from "zod";
import { isLabInProgress } from "../../schemas/generation.ts";
import { GenerationDiff } from "../../schemas/generation-diff.ts";
import { GenerationRecord } from "../../schemas/generation-record.ts";
import {
  ArchiveResponse,
  ErrorBody,
  PromoteResponse,
  RollbackResponse,
  type SpawnRequest,
  SpawnResponse,
  SupervisorStats,
} from "../../schemas/supervisor.ts";
import {
  isVerificationRunning,
  type MechanicalVerification,
  type ReviewRequest,
  Verification,
  type VerifyThrough,
} from "../../schemas/verification.ts";
import { LoomError } from "../shared/errors.ts";
import { formatIssues } from "../shared/zod-issues.ts";
import { awaitRecord, type WaitOptions } from "./await-record.ts";
import { fetchText } from "./fetch-text.ts";
import { SupervisorError } from "./supervisor-error.ts";

export interface SupervisorClientOptions {
  /** e.g. http://127.0.0.1:8400 (LOOM_SUPERVISOR_URL). */
  readonly baseUrl: string;
  /** LOOM_SUPERVISOR_TOKEN, sent as a bearer token when set. */
  readonly token?: string | undefined;
  /** Limit for one request (default 30 s). */
  readonly timeoutMs?: number;
  /** How long a verification (the tests in a fresh container) is awaited (default 30 min). */
  readonly verifyTimeoutMs?: number;
  readonly fetch?: typeof globalThis.fetch;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_VERIFY_TIMEOUT_MS = 30 * 60_000;

interface Call<S extends z.ZodType> {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: unknown;
  readonly schema: S;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** A typed client of the Supervisor's HTTP API: every answer parsed with its schema from `schemas/`. */
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

  /**
   * Starts a round (202): `candidates` Labs (absent: the Supervisor's LOOM_CANDIDATES) on one
   * program.md, each its own generation, listed in the answer's `generations`; they run
   * asynchronously: follow them with waitForRound (or one with waitForGeneration).
   */
  spawn(request: SpawnRequest, signal?: AbortSignal): Promise<SpawnResponse> {
    return this.#call({ method: "POST", path: "/spawn", body: request, schema: SpawnResponse, signal });
  }

  /** Awaits every candidate of a spawned round: their records, in candidate order, once each Lab is over. */
  waitForRound(
    spawned: Pick<SpawnResponse, "generations">,
    options: WaitOptions = {},
  ): Promise<GenerationRecord[]> {
    return Promise.all(spawned.generations.map((g) => this.waitForGeneration(g.generation, options)));
  }

  /**
   * Stage 1 in a fresh container, a job like spawn: POST /verify answers 202 with the record showing
   * the run, which is then awaited like a Lab (awaitRecord). One already running — a restarted Prime's
   * earlier request — answers 409 VERIFY_RUNNING and is joined the same way. A run stopped by a
   * shutdown or that could not run throws its error (SHUTTING_DOWN, SUPERVISOR_RESTARTED, ...).
   * `through: "reachable"` stops after the tests the change can reach: cheap to reject a loser, but
   * not complete (`complete: false`), so not promotable until verified again in full (the default).
   */
  async verify(
    generation: number,
    signal?: AbortSignal,
    options: { readonly through?: VerifyThrough } = {},
  ): Promise<MechanicalVerification> {
    try {
      await this.#call({
        method: "POST",
        path: "/verify",
        body: { generation, ...(options.through ? { through: options.through } : {}) },
        schema: GenerationRecord,
        signal,
      });
    } catch (err) {
      if (!(err instanceof SupervisorError && err.code === "VERIFY_RUNNING")) throw err;
    }
    const record = await this.awaitRecord(
      generation,
      (r) =>
        (r.outcome !== "verifying" && r.outcome !== "screened") || !isVerificationRunning(r.verificationRun),
      { timeoutMs: this.#verifyTimeoutMs, ...(signal ? { signal } : {}) },
    );
    return verificationOf(record);
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

  /** Keeps a candidate that passed what it ran but was not promoted (refs/loom/archive/gen-N, outcome archived). */
  archive(generation: number, reason: string, signal?: AbortSignal): Promise<ArchiveResponse> {
    return this.#call({
      method: "POST",
      path: "/archive",
      body: { generation, reason },
      schema: ArchiveResponse,
      signal,
    });
  }

  /** Awaits a spawned generation's Lab: the record once its outcome has left pending/running. */
  waitForGeneration(generation: number, options: WaitOptions = {}): Promise<GenerationRecord> {
    return this.awaitRecord(generation, (r) => !isLabInProgress(r.outcome), options);
  }

  /**
   * The one way a job of the Supervisor (a spawned Lab, a verification) is awaited: reads
   * GET /generations/:n until `done(record)`, woken by GET /logs (await-record.ts).
   */
  awaitRecord(
    generation: number,
    done: (record: GenerationRecord) => boolean,
    options: WaitOptions = {},
  ): Promise<GenerationRecord> {
    return awaitRecord(
      {
        baseUrl: this.baseUrl,
        getGeneration: (n, signal) => this.getGeneration(n, signal),
        logs: (signal) =>
          this.#fetch(`${this.baseUrl}/logs`, { headers: { accept: "text/event-stream" }, signal }),
      },
      generation,
      done,
      options,
    );
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
      ({ res, text } = await fetchText(this.#fetch, url, {
        method: call.method,
        headers,
        signal,
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      }));
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
      const issues = formatIssues(parsed.error, { root: "(body)", limit: 5 });
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

/** What an awaited verification ended in: stage 1's result, or its run's error. */
function verificationOf(record: GenerationRecord): MechanicalVerification {
  const n = record.generation;
  // A screened candidate (kept after a round's cheap stages) is verified in full where it is.
  if (record.outcome !== "verifying" && record.outcome !== "screened") {
    throw new SupervisorError(
      "NOT_VERIFYING",
      `generation ${n} became ${record.outcome} while its verification was awaited; GET /generations/${n} shows why`,
    );
  }
  const run = record.verificationRun;
  if (run?.state === "done" && record.verification) return record.verification.mechanical;
  throw new SupervisorError(
    run?.error?.code ?? "SUPERVISOR_BAD_RESPONSE",
    run?.error?.message ??
      `generation ${n}'s verification ended ${run?.state ?? "unrecorded"} without a result; GET /generations/${n} shows it`,
  );
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
