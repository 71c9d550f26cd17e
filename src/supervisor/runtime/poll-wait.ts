import { sleepUntilAbort } from "../../shared/sleep-until-abort.ts";
import type { ContainerInfo, WaitOptions, WaitOutcome } from "./runtime.ts";

const POLL_MS = 200;

/**
 * `wait` for a backend that can only be asked (Apple's CLI; a local process another Supervisor
 * started): inspect every POLL_MS until the container has exited, is unknown, or time is up.
 */
export async function pollWait(
  inspect: (id: string) => Promise<ContainerInfo | undefined>,
  id: string,
  options: WaitOptions,
  pollMs = POLL_MS,
): Promise<WaitOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.signal?.aborted) return { kind: "aborted" };
    const info = await inspect(id);
    if (!info) return { kind: "gone" };
    if (info.state === "exited" || info.state === "dead") return { kind: "exited", exitCode: info.exitCode };
    const left = deadline - Date.now();
    if (left <= 0) return { kind: "timeout" };
    await sleepUntilAbort(Math.min(pollMs, left), options.signal ?? new AbortController().signal);
  }
}
