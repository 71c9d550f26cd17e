import { LabStatus } from "../../../schemas/lab-status.ts";
import { sleepUntilAbort } from "../../shared/sleep-until-abort.ts";
import type { ContainerRuntime } from "../runtime/index.ts";
import { type ToolCallDelta, toolCallDelta } from "./tool-call-delta.ts";

/** How a watched Lab ended, as far as the Supervisor can tell from outside. */
export type LabEnd =
  | { readonly kind: "finished"; readonly status: LabStatus }
  | { readonly kind: "exited"; readonly exitCode: number | undefined; readonly last: LabStatus | undefined }
  | { readonly kind: "timed_out"; readonly last: LabStatus | undefined }
  | { readonly kind: "never_ready"; readonly why: string }
  | { readonly kind: "aborted" };

export interface WatchLabInput {
  readonly runtime: ContainerRuntime;
  readonly containerId: string;
  readonly url: string;
  /** Counted from the first answer to /status, so slow image starts do not eat the Lab's time. */
  readonly timeoutMs: number;
  readonly readyTimeoutMs: number;
  readonly pollMs: number;
  readonly signal: AbortSignal;
  readonly now: () => number;
  readonly onStatus: (status: LabStatus) => void;
  /** The tool calls the Lab made since the previous poll, as its counters show them. */
  readonly onToolCalls?: (deltas: ToolCallDelta[]) => void;
}

async function readStatus(url: string, signal: AbortSignal): Promise<LabStatus | undefined> {
  try {
    const res = await fetch(`${url}/status`, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]),
    });
    if (!res.ok) return undefined;
    const parsed = LabStatus.safeParse(await res.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    // Not listening yet, restarting, or gone: the caller's deadlines decide what that means.
    return undefined;
  }
}

async function exitedByInspect(
  runtime: ContainerRuntime,
  id: string,
): Promise<{ exitCode: number | undefined } | undefined> {
  const info = await runtime.inspect(id).catch(() => undefined);
  if (info === undefined) return { exitCode: undefined };
  return info.state === "exited" || info.state === "dead" ? { exitCode: info.exitCode } : undefined;
}

/**
 * Polls a Lab's /status (with retries) until it finishes, exits, times out, or the Supervisor stops.
 * Its exit comes from the engine's own `wait`, running beside the polls: a Lab that dies is noticed
 * at once, and no engine command runs per poll.
 */
export async function watchLab(input: WatchLabInput): Promise<LabEnd> {
  const { runtime, containerId, signal, now } = input;
  const readyBy = now() + input.readyTimeoutMs;
  const watching = new AbortController();
  const stopWatching = () => watching.abort();
  signal.addEventListener("abort", stopWatching, { once: true });
  let exit: { exitCode: number | undefined } | undefined;
  let waitFailed = false;
  let pauseCut = new AbortController();
  const exited = runtime
    .wait(containerId, {
      timeoutMs: input.readyTimeoutMs + input.timeoutMs + 60_000,
      signal: watching.signal,
    })
    .then((end) => {
      if (end.kind === "exited" || end.kind === "gone")
        exit = { exitCode: end.kind === "exited" ? end.exitCode : undefined };
    })
    .catch(() => {
      waitFailed = true;
    })
    .finally(() => {
      // Its end (or failure) cuts the current pause short: the next round sees why.
      if (!watching.signal.aborted) pauseCut.abort();
    });
  let deadline: number | undefined;
  let last: LabStatus | undefined;
  try {
    for (;;) {
      if (signal.aborted) return { kind: "aborted" };
      const status = await readStatus(input.url, signal);
      if (status) {
        deadline ??= now() + input.timeoutMs;
        const deltas = toolCallDelta(last?.toolCalls, status.toolCalls);
        if (deltas.length > 0) input.onToolCalls?.(deltas);
        if (status.status !== last?.status || status.progress !== last?.progress) input.onStatus(status);
        last = status;
        if (status.status === "done" || status.status === "failed") return { kind: "finished", status };
      } else {
        // Without the engine's wait (it failed), ask the engine directly, as a last resort.
        if (!exit && waitFailed) exit = await exitedByInspect(runtime, containerId);
        if (exit) return { kind: "exited", exitCode: exit.exitCode, last };
      }
      if (deadline === undefined && now() >= readyBy) {
        return {
          kind: "never_ready",
          why: `the Lab did not answer GET /status within ${input.readyTimeoutMs} ms`,
        };
      }
      if (deadline !== undefined && now() >= deadline) return { kind: "timed_out", last };
      if (pauseCut.signal.aborted) pauseCut = new AbortController();
      await sleepUntilAbort(input.pollMs, AbortSignal.any([signal, pauseCut.signal]));
    }
  } finally {
    signal.removeEventListener("abort", stopWatching);
    watching.abort();
    await exited;
  }
}
