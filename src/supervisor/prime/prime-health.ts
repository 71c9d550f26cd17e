import { sleepUntilAbort } from "../../shared/sleep-until-abort.ts";
import { logTail } from "../lifecycle/lab-cleanup.ts";
import type { ContainerRuntime } from "../runtime/index.ts";

export type HealthResult =
  | { readonly ok: true; readonly body: Readonly<Record<string, unknown>>; readonly ms: number }
  | { readonly ok: false; readonly why: string };

export interface WaitForHealthInput {
  readonly runtime: ContainerRuntime;
  readonly id: string;
  /** Prime's base URL, e.g. http://127.0.0.1:8401. */
  readonly url: string;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly signal: AbortSignal;
}

type Answer = { kind: "healthy"; body: Record<string, unknown> } | { kind: "other"; what: string };

async function ask(url: string, signal: AbortSignal): Promise<Answer | undefined> {
  try {
    const res = await fetch(`${url}/health`, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : undefined;
    if (res.status === 200 && record?.ok === true) return { kind: "healthy", body: record };
    return { kind: "other", what: `${res.status} ${text.replace(/\s+/g, " ").slice(0, 200)}` };
  } catch {
    // Not listening yet: the deadline and the exit check decide.
    return undefined;
  }
}

/**
 * Polls `GET /health` until it answers 200 with `{ok: true}`, the deadline passes, or Prime exits —
 * which fails at once, with its last output, instead of waiting out the deadline.
 */
export async function waitForPrimeHealth(input: WaitForHealthInput): Promise<HealthResult> {
  const started = Date.now();
  const deadline = started + input.timeoutMs;
  let last: string | undefined;
  for (;;) {
    if (input.signal.aborted) return { ok: false, why: "the Supervisor shut down while Prime was starting" };
    const answer = await ask(input.url, input.signal);
    if (answer?.kind === "healthy") return { ok: true, body: answer.body, ms: Date.now() - started };
    if (answer) last = answer.what;
    const info = await input.runtime.inspect(input.id).catch(() => undefined);
    if (!info || info.state === "exited" || info.state === "dead") {
      const tail = await logTail(input.runtime, input.id);
      const code = info?.exitCode ?? "unknown";
      return {
        ok: false,
        why: `Prime exited (code ${code}) before GET /health answered 200${tail ? `; last output: ${tail}` : ""}`,
      };
    }
    if (Date.now() >= deadline) {
      const tail = await logTail(input.runtime, input.id);
      return {
        ok: false,
        why:
          `GET ${input.url}/health did not answer 200 {"ok":true} within ${input.timeoutMs} ms (LOOM_PRIME_HEALTH_TIMEOUT_MS)` +
          `${last ? `; last answer: ${last}` : "; nothing listened"}${tail ? `; last output: ${tail}` : ""}`,
      };
    }
    await sleepUntilAbort(input.pollMs, input.signal);
  }
}
