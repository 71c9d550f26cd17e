import { mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { GenerationOutcome } from "../../../schemas/generation.ts";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import type { LabReport } from "../../../schemas/lab-report.ts";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { errorMessage } from "../../shared/errors.ts";
import { type ProxyUsage, usageForRecord } from "../model-proxy/index.ts";
import type { GenerationPatch } from "../store/index.ts";
import { logTail, readLabReport, stopAndRemove, waitForExit } from "./lab-cleanup.ts";
import type { LifecyclePorts } from "./run-generation.ts";
import type { LabEnd } from "./watch-lab.ts";

export type Verdict = { outcome: GenerationOutcome; reason: string | null };

export async function verdictOf(
  end: LabEnd,
  ports: LifecyclePorts,
  id: string,
  workspace: string,
): Promise<Verdict> {
  switch (end.kind) {
    case "finished":
      return end.status.status === "done"
        ? { outcome: "verifying", reason: null }
        : { outcome: "failed", reason: `the Lab failed: ${end.status.error ?? end.status.progress}` };
    case "timed_out":
      return {
        outcome: "timed_out",
        reason: `the Lab did not finish within LOOM_LAB_TIMEOUT_MS=${ports.config.labTimeoutMs} ms of becoming ready and was killed${end.last ? ` (last: ${end.last.progress})` : ""}`,
      };
    case "aborted":
      return { outcome: "aborted", reason: "the Supervisor shut down while the Lab was running" };
    case "exited": {
      // A Lab that wrote its report says itself how it ended (finish reads it); only without one is
      // its output the reason.
      const tail = (await readLabReport(workspace)) ? "" : await logTail(ports.runtime, id);
      return {
        outcome: "failed",
        reason: `the Lab exited (code ${end.exitCode ?? "unknown"}) before reporting done${tail ? `; last output: ${tail}` : ""}`,
      };
    }
    case "never_ready": {
      const tail = await logTail(ports.runtime, id);
      return { outcome: "failed", reason: `${end.why}${tail ? `; last output: ${tail}` : ""}` };
    }
  }
}

/** Where a finished Lab's LabReport is kept. */
export function reportPath(stateDir: string, n: number): string {
  return path.join(stateDir, "reports", `gen-${n}.json`);
}

/**
 * How a generation's Lab ended, made into its record: the verdict from how the Lab ended (or its
 * report), its container stopped and removed, lab/gen-N fetched back whatever the ending, the report
 * kept, the workspace removed, the model proxy's count recorded.
 */
export async function finish(
  ports: LifecyclePorts,
  s: {
    n: number;
    workspace: string;
    containerId: string | undefined;
    verdict: Verdict;
    /** The Lab exited without /status showing it finished. */
    exitedEarly: boolean;
    /** /status said done or failed: the Lab commits nothing more. */
    finished: boolean;
    /** Its branch and report arrive through the gateway when its container ends (relay-lab.ts). */
    relayed: boolean;
    log: (text: string) => void;
    setOutcome: (patch: GenerationPatch) => Promise<GenerationRecord>;
    closeProxy: () => Promise<ProxyUsage | undefined>;
  },
): Promise<GenerationRecord> {
  let verdict = s.verdict;
  const id = s.containerId;
  // A finished Lab commits nothing more: it closes its server and exits while its branch is fetched.
  // Any other Lab is stopped first, so nothing it still writes lands after the fetch.
  const teardown =
    id === undefined
      ? Promise.resolve()
      : (async () => {
          // One that exited by itself has nothing left to stop.
          if ((s.finished || s.exitedEarly) && (await waitForExit(ports.runtime, id, 10_000)))
            await ports.runtime
              .remove(id)
              .catch((err: Error) => s.log(`cleanup: remove ${id}: ${err.message}`));
          else for (const p of await stopAndRemove(ports.runtime, id, 1000)) s.log(`cleanup: ${p}`);
        })();
  // Nor does one whose container exited (nothing in it outlives it; a local Lab's children might).
  // A relayed Lab's work reaches the workspace only when its relay pushes, as its container ends.
  const quiet = !s.relayed && (s.finished || (s.exitedEarly && ports.runtime.name !== "local"));
  if (!quiet) await teardown;
  const hasClone = await stat(path.join(s.workspace, ".git")).catch(() => undefined);
  const report: LabReport | undefined = hasClone ? await readLabReport(s.workspace) : undefined;
  // A quick Lab can finish and exit between two polls: its report then says how it ended.
  if (s.exitedEarly && report) {
    verdict =
      report.status === "done"
        ? { outcome: "verifying", reason: null }
        : { outcome: "failed", reason: `the Lab failed: ${report.error ?? report.summary}` };
  }
  if (hasClone) {
    // The branch carries the work whatever the ending, so it is always fetched before the clone goes.
    try {
      const sha = await ports.git.fetchLabBranch({
        repo: ports.config.repoPath,
        workspace: s.workspace,
        generation: s.n,
      });
      s.log(`fetched lab/gen-${s.n} at ${sha}`);
    } catch (err) {
      if (verdict.outcome === "verifying")
        verdict = {
          outcome: "failed",
          reason: `the Lab finished but lab/gen-${s.n} could not be fetched: ${errorMessage(err)}`,
        };
      else s.log(`could not fetch lab/gen-${s.n}: ${errorMessage(err)}`);
    }
  }
  if (report) {
    // The summary and changed files outlive the workspace, for whoever reviews the generation.
    const file = reportPath(ports.config.stateDir, s.n);
    await mkdir(path.dirname(file), { recursive: true })
      .then(() => atomicWriteFile(file, `${JSON.stringify(report, null, 2)}\n`))
      .catch((err) => s.log(`could not keep the Lab report: ${errorMessage(err)}`));
  }
  await teardown;
  await rm(s.workspace, { recursive: true, force: true }).catch((err) =>
    s.log(`cleanup: ${errorMessage(err)}`),
  );
  const patch: GenerationPatch = { outcome: verdict.outcome, reason: verdict.reason };
  if (report) patch.tokens = report.tokens;
  const usage = await s.closeProxy().catch((err) => {
    s.log(`model proxy: ${errorMessage(err)}`);
    return undefined;
  });
  if (usage) {
    // The proxy's count is the one a Lab cannot forge; the Lab's own stays beside it as a cross-check.
    const counted = usageForRecord(usage, report?.tokens);
    patch.tokens = counted.tokens;
    patch.modelUsage = counted.modelUsage;
    if (counted.budgetReason && verdict.outcome !== "verifying")
      patch.reason = `${counted.budgetReason}; ${verdict.reason ?? ""}`.replace(/; $/, "");
  }
  try {
    return await s.setOutcome(patch);
  } catch (err) {
    // The record moved on without us (e.g. aborted by a shutdown); report what it is now.
    s.log(`could not record gen-${s.n} as ${verdict.outcome}: ${errorMessage(err)}`);
    const current = await ports.store.get(s.n);
    if (!current) throw err;
    return current;
  }
}
