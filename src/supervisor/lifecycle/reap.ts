import { readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import type { Config } from "../../shared/config.ts";
import type { ContainerRuntime } from "../runtime/index.ts";
import type { GenerationStore } from "../store/index.ts";
import type { SupervisorEmit } from "./events.ts";
import { stopAndRemove } from "./lab-cleanup.ts";
import { poolRoot } from "./lab-pool.ts";
import { POOL_LABEL, repoLabels } from "./lab-spec.ts";
import type { LifecycleGit } from "./run-generation.ts";

export interface ReapPorts {
  readonly store: GenerationStore;
  readonly runtime: ContainerRuntime;
  /** Prime's runtime where it is not the Labs' (swarm: the manager's own engine): reaped too. */
  readonly primeRuntime?: ContainerRuntime;
  readonly git: Pick<LifecycleGit, "fetchLabBranch">;
  readonly config: Config;
  readonly emit: SupervisorEmit;
}

export interface ReapResult {
  readonly containers: readonly string[];
  readonly workspaces: readonly string[];
  readonly aborted: readonly GenerationRecord[];
}

const WORKSPACE_NAME = /^gen-([1-9][0-9]*)$/;

/**
 * What a labelled leftover was: Prime carries the repo labels plus loom.role=prime, a verification step
 * loom.verify and loom.step (verify/run-step.ts), a Lab loom.generation, a pooled Lab loom.pool (lab-spec.ts).
 */
function leftoverKind(labels: Readonly<Record<string, string>>): string {
  if (labels["loom.role"] === "prime") return "Prime";
  if (labels[POOL_LABEL] !== undefined) return "pooled Lab";
  return labels["loom.verify"] !== undefined ? "verification step" : "Lab";
}

function leftoverOf(labels: Readonly<Record<string, string>>): string {
  if (labels["loom.role"] === "prime") return `commit ${labels["loom.commit"]?.slice(0, 12) ?? "?"}`;
  if (labels["loom.verify"] !== undefined) return `${labels["loom.verify"]} ${labels["loom.step"] ?? "?"}`;
  if (labels[POOL_LABEL] !== undefined) return `slot ${labels[POOL_LABEL]}`;
  return `gen ${labels["loom.generation"] ?? "?"}`;
}

/**
 * Restart safety: a Supervisor that starts finds what an earlier one left — Lab and Prime containers
 * carrying this repo's labels (pooled Labs too), workspaces under `<stateDir>/workspaces` and `lab-pool`, records still `pending` or `running` —
 * removes the containers, fetches each workspace's branch before removing it, and marks those records
 * aborted with the reason. `verifying` records are left alone: their Lab is over and their branch is in
 * the repo, waiting for a promote or rollback.
 */
export async function reapLeftovers(ports: ReapPorts): Promise<ReapResult> {
  const { runtime, store, config, emit } = ports;
  const at = () => new Date().toISOString();
  const log = (message: string, generation: number | null = null) =>
    emit({ type: "log", at: at(), generation, message });

  const containers: string[] = [];
  const runtimes =
    ports.primeRuntime && ports.primeRuntime !== runtime ? [runtime, ports.primeRuntime] : [runtime];
  for (const rt of runtimes) {
    for (const info of await rt.list(repoLabels(config.repoPath))) {
      const problems = await stopAndRemove(rt, info.id, 1000);
      for (const p of problems) log(`reap: ${p}`);
      containers.push(info.id);
      log(`reaped leftover ${leftoverKind(info.labels)} ${info.name} (${leftoverOf(info.labels)})`);
    }
  }

  const workspaces: string[] = [];
  const root = path.join(config.stateDir, "workspaces");
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const dir = path.join(root, name);
    const m = WORKSPACE_NAME.exec(name);
    if (m && (await stat(path.join(dir, ".git")).catch(() => undefined))) {
      const n = Number(m[1]);
      await ports.git
        .fetchLabBranch({ repo: config.repoPath, workspace: dir, generation: n })
        .then((sha) => log(`fetched lab/gen-${n} at ${sha} from a leftover workspace`, n))
        .catch((err: Error) =>
          log(`could not fetch lab/gen-${n} from a leftover workspace: ${err.message}`, n),
        );
    }
    await rm(dir, { recursive: true, force: true });
    workspaces.push(dir);
  }
  // Pooled Labs' folders (their containers went above): never a generation's work.
  const pool = poolRoot(config.stateDir);
  for (const name of await readdir(pool).catch(() => [] as string[])) {
    await rm(path.join(pool, name), { recursive: true, force: true });
    workspaces.push(path.join(pool, name));
  }

  const aborted: GenerationRecord[] = [];
  for (const record of await store.list()) {
    if (record.outcome !== "pending" && record.outcome !== "running") continue;
    const reason = `the Supervisor restarted while this generation was ${record.outcome}; its Lab and workspace were reaped`;
    const updated = await store.update(record.generation, { outcome: "aborted", reason });
    emit({ type: "generation", at: at(), generation: updated.generation, outcome: "aborted", reason });
    aborted.push(updated);
  }
  return { containers, workspaces, aborted };
}
