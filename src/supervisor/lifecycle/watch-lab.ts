import { request } from "node:http";
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
  /** Where the Lab serves: its unix socket (a Lab without network), or its http URL. */
  readonly lab: LabAddress;
  /** Counted from the first answer to /status, so slow image starts do not eat the Lab's time. */
  readonly timeoutMs: number;
  readonly readyTimeoutMs: number;
  readonly pollMs: number;
  /**
   * The pause between polls until the Lab first answers (default the shorter of pollMs and
   * READY_POLL_MS): a Lab is seen ready within this of listening, not up to a whole pollMs later.
   */
  readonly readyPollMs?: number;
  readonly signal: AbortSignal;
  readonly now: () => number;
  readonly onStatus: (status: LabStatus) => void;
  /** The tool calls the Lab made since the previous poll, as its counters show them. */
  readonly onToolCalls?: (deltas: ToolCallDelta[]) => void;
}

export type LabAddress =
  /** `hostHeader`: the address the server behind the socket serves (its Host check). */
  | { readonly socketPath: string; readonly hostHeader: string; readonly token?: string }
  | { readonly url: string; readonly token?: string };

/**
 * Polls before the first answer are a connect to a socket that is not there yet: cheap enough to make
 * often, and each one saved is time every Lab of a round waits before its work is seen.
 */
export const READY_POLL_MS = 20;

/** `/status` is a few hundred bytes; anything far larger is not a Lab answering. */
const MAX_STATUS_BYTES = 1024 * 1024;
const STATUS_TIMEOUT_MS = 2000;

/** GET /status over the socket or TCP, with the Lab's token; undefined for anything but a valid answer. */
export function readStatus(lab: LabAddress, signal: AbortSignal): Promise<LabStatus | undefined> {
  return new Promise((resolve) => {
    const target =
      "socketPath" in lab
        ? { socketPath: lab.socketPath, path: "/status" }
        : { ...urlParts(lab.url), path: "/status" };
    const headers: Record<string, string> = {};
    if ("socketPath" in lab) headers.host = lab.hostHeader;
    if (lab.token) headers.authorization = `Bearer ${lab.token}`;
    const req = request({
      ...target,
      method: "GET",
      headers,
      signal: AbortSignal.any([signal, AbortSignal.timeout(STATUS_TIMEOUT_MS)]),
    });
    // Not listening yet, restarting, or gone: the caller's deadlines decide what that means.
    req.on("error", () => resolve(undefined));
    req.on("response", (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return resolve(undefined);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_STATUS_BYTES) {
          res.destroy();
          return resolve(undefined);
        }
        chunks.push(chunk);
      });
      res.on("error", () => resolve(undefined));
      res.on("end", () => {
        try {
          const parsed = LabStatus.safeParse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          resolve(parsed.success ? parsed.data : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.end();
  });
}

function urlParts(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 80) };
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
  const readyPollMs = input.readyPollMs ?? Math.min(input.pollMs, READY_POLL_MS);
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
  let inspectedAt = Number.NEGATIVE_INFINITY;
  try {
    for (;;) {
      if (signal.aborted) return { kind: "aborted" };
      const status = await readStatus(input.lab, signal);
      if (status) {
        deadline ??= now() + input.timeoutMs;
        const deltas = toolCallDelta(last?.toolCalls, status.toolCalls);
        if (deltas.length > 0) input.onToolCalls?.(deltas);
        if (status.status !== last?.status || status.progress !== last?.progress) input.onStatus(status);
        last = status;
        if (status.status === "done" || status.status === "failed") return { kind: "finished", status };
      } else {
        // Without the engine's wait (it failed), ask the engine directly, as a last resort: at most
        // once per pollMs, however often the socket is tried meanwhile.
        if (!exit && waitFailed && performance.now() - inspectedAt >= input.pollMs) {
          inspectedAt = performance.now();
          exit = await exitedByInspect(runtime, containerId);
        }
        if (exit) return { kind: "exited", exitCode: exit.exitCode, last };
      }
      if (deadline === undefined && now() >= readyBy) {
        return {
          kind: "never_ready",
          why: `the Lab did not answer GET /status within ${input.readyTimeoutMs} ms (LOOM_LAB_READY_TIMEOUT_MS)`,
        };
      }
      if (deadline !== undefined && now() >= deadline) return { kind: "timed_out", last };
      if (pauseCut.signal.aborted) pauseCut = new AbortController();
      const pause = deadline === undefined ? readyPollMs : input.pollMs;
      await sleepUntilAbort(pause, AbortSignal.any([signal, pauseCut.signal]));
    }
  } finally {
    signal.removeEventListener("abort", stopWatching);
    watching.abort();
    await exited;
  }
}
