import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoLabels } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { commitFiles, sh } from "../supervisor/git-repo-fixture.ts";
import { recordPassedVerification } from "../supervisor/passed-verification.ts";
import { type GitTrap, makeGitTrap } from "./git-trap.ts";
import { type Damage, type Expect, inspectDamage } from "./invariants.ts";
import { type SupervisorProcess, startSupervisorProcess } from "./supervisor-process.ts";

/** A scratch repo (main checked out), a state folder, a git trap and the Supervisors run on them. */
export interface Scratch extends Expect {
  readonly trap: GitTrap;
  readonly generations: number[];
  /** Allocates a verifying, verification-passed generation whose lab branch adds `files` off main. */
  verifyingGeneration(files?: Record<string, string>): Promise<number>;
  /** Starts a Supervisor (watched by the trap); `env` adds to the scratch's. */
  start(env?: Record<string, string>): Promise<SupervisorProcess>;
  /** The promises after a fault, ignoring the Supervisor still running. */
  damage(): Promise<Damage>;
  cleanup(): Promise<void>;
}

const hash = (s: string) => createHash("sha256").update(s).digest("hex");

export async function makeScratch(env: Record<string, string> = {}): Promise<Scratch> {
  const root = await mkdtemp(path.join(tmpdir(), "loom-fault-"));
  const repo = path.join(root, "repo");
  const stateDir = path.join(root, "state");
  await sh(root, ["init", "-q", "-b", "main", repo]);
  await commitFiles(
    repo,
    { "schemas/thing.ts": "export const thing = 1;\n", "README.md": "# scratch\n", ".gitignore": ".loom/\n" },
    "initial",
  );
  const trap = await makeGitTrap(path.join(root, "trap"));
  const generations: number[] = [];
  const running: SupervisorProcess[] = [];
  const scratch: Scratch = {
    root,
    repo,
    stateDir,
    trap,
    generations,
    verifyingGeneration: async (files) => {
      const store = await GenerationStore.open(stateDir);
      const r = await store.allocate({ programHash: hash(`gen ${generations.length}`), parent: null });
      const n = r.generation;
      generations.push(n);
      await store.update(n, { outcome: "running" });
      await sh(repo, ["branch", `lab/gen-${n}`, "main"]);
      const wt = path.join(root, `wt-${n}`);
      await sh(repo, ["worktree", "add", "-q", wt, `lab/gen-${n}`]);
      await commitFiles(
        wt,
        files ?? { [`src/gen-${n}.ts`]: `export const gen${n} = ${n};\n` },
        `gen-${n}: work`,
      );
      await sh(repo, ["worktree", "remove", "--force", wt]);
      await store.update(n, { outcome: "verifying" });
      await recordPassedVerification(store, repo, n);
      return n;
    },
    start: async (more = {}) => {
      const s = await startSupervisorProcess({
        pathPrefix: trap.bin,
        env: {
          LOOM_REPO_PATH: repo,
          LOOM_STATE_DIR: stateDir,
          LOOM_RUNTIME: "local",
          LOOM_MAX_RETRIES: "0",
          ...env,
          ...more,
        },
        onSpawn: (pid) => trap.watch(pid),
      });
      running.push(s);
      void s.exited.then(() => running.splice(running.indexOf(s), 1));
      return s;
    },
    damage: () =>
      inspectDamage({
        ...scratch,
        exclude: running.map((s) => s.pid),
        dockerRepoLabel: repoLabels(repo)["loom.repo"] as string,
      }),
    cleanup: async () => {
      for (const s of [...running]) await s.stop(5000).catch(() => {});
      await rm(root, { recursive: true, force: true });
    },
  };
  return scratch;
}
