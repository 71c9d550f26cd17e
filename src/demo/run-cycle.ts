import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import type { SupervisorEvent } from "../../schemas/events.ts";
import type { GenerationRecord } from "../../schemas/generation-record.ts";
import { createPrimeCore } from "../prime/start-prime.ts";
import { primeThinking } from "../prime/thinking.ts";
import { type Config, loadConfig } from "../shared/config.ts";
import { LoomError } from "../shared/errors.ts";
import { totalTokens } from "../shared/events.ts";
import { runGit } from "../shared/git/run-git.ts";
import { type ScriptTurnInput, startScriptedModel } from "../shared/scripted-model/index.ts";
import { DEFAULT_LAB_IMAGE } from "../supervisor/lifecycle/lab-spec.ts";
import { startSupervisor } from "../supervisor/supervisor.ts";
import { demoPrimeScript } from "./demo-prime-script.ts";
import { demoRepoFiles } from "./demo-repo.ts";
import { demoLabScript } from "./demo-script.ts";

/** Loom's installed packages (the demo repo's tests and type check borrow them instead of installing). */
const loomNodeModules = () => dirname(dirname(createRequire(import.meta.url).resolve("tsx/package.json")));
const GIT_IDENTITY = { name: "Loom Demo", email: "demo@loom.invalid" };

export interface CycleResult {
  readonly scratch: string;
  /** Generation 1's record (the one the demo shows). */
  readonly record: GenerationRecord;
  readonly records: readonly GenerationRecord[];
  /** main's head before and after the cycle. */
  readonly mainBefore: string;
  readonly mainAfter: string;
  /** Every Supervisor event, in order. */
  readonly events: readonly SupervisorEvent[];
  /** The scripted models' recorded requests, for assertions on what each side was sent. */
  readonly primeRequests: number;
  /** `git log --oneline` of main after the cycle. */
  readonly mainLog: string;
  readonly tags: string[];
  /** Every ref of the repository after the cycle (`refs/heads/…`, `refs/tags/…`, `refs/loom/archive/…`). */
  readonly refs: string[];
  readonly runtime: string;
  /** Wall time of each phase, in ms (the model's think time is the scripted server's: ~0). */
  readonly phases: Readonly<Record<string, number>>;
  readonly stopReason: string | null;
}

export interface CycleOptions {
  readonly log: (line: string) => void;
  /** What the scripted models answer; default the demo's (reflect → rename → review approves). */
  readonly labScript?: readonly ScriptTurnInput[];
  readonly primeScript?: readonly ScriptTurnInput[];
  /** The scratch repository's files; default the demo repository. */
  readonly repoFiles?: Readonly<Record<string, string>>;
  /** Generations the autonomous loop may run (default 1, or one round of `candidates`). */
  readonly maxGenerations?: number;
  /** Candidates of each round (LOOM_CANDIDATES; default 1: one generation, as the original loop). */
  readonly candidates?: number;
  /** Finalists of a round verified in full (LOOM_FINALISTS; default the Supervisor's). */
  readonly finalists?: number;
  /** The models candidates draw in turn (LOOM_LAB_MODELS); default the one scripted Lab model. */
  readonly labModels?: readonly string[];
  /** Keep the scratch directory instead of removing it. */
  readonly keep?: boolean;
  /** The environment the demo's configuration starts from (LOOM_RUNTIME, LOOM_VERIFY_TIMEOUT_MS, …). */
  readonly env?: NodeJS.ProcessEnv;
}

const pick = (env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> =>
  Object.fromEntries(names.flatMap((k) => (env[k] ? [[k, env[k] as string]] : [])));

/** docker when its engine answers and the Lab image is built (`npm run image`), else the local runtime. */
async function pickRuntime(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  const asked = env.LOOM_RUNTIME;
  if (asked && asked !== "auto") return asked;
  const image = await execa("docker", ["image", "inspect", DEFAULT_LAB_IMAGE], {
    reject: false,
    stdin: "ignore",
  }).catch(() => ({ exitCode: 1 }));
  if (image.exitCode === 0) return "docker";
  log(
    `demo: no docker engine with ${DEFAULT_LAB_IMAGE} here (npm run image builds it); using the local runtime`,
  );
  return "local";
}

async function makeRepo(repo: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(repo, rel)), { recursive: true });
    await writeFile(join(repo, rel), content);
  }
  const git = (args: string[]) => runGit(repo, args, { identity: GIT_IDENTITY });
  await git(["init", "-q", "-b", "main"]);
  await git(["add", "-A"]);
  await git(["commit", "-q", "-m", "Initial demo repository"]);
  // Gitignored: Labs and verification containers see Loom's packages through it.
  await symlink(loomNodeModules(), join(repo, "node_modules"), "dir");
}

function describe(e: SupervisorEvent): string | undefined {
  const gen = "generation" in e && e.generation !== null ? `gen-${e.generation} ` : "";
  switch (e.type) {
    case "generation":
      return `supervisor: ${gen}${e.outcome}${e.reason ? ` (${e.reason})` : ""}`;
    case "lab_status":
      return `lab: ${gen}${e.status}: ${e.progress}`;
    case "log":
      return `supervisor: ${gen}${e.message}`;
    default:
      return undefined;
  }
}

/**
 * One complete generation, as `loom demo` shows it, with scripted models and no API key: a scratch
 * repository; a Supervisor on it (docker Labs when the image is built, else local ones); Prime's
 * autonomous loop for one generation — reflect proposes program.md, the Lab renames `greet` with
 * ts_rename, probes it through eval, adds a test and commits; Prime verifies (stage 1 in a fresh
 * container, stage 2 the scripted review) and promotes: main gets the merge and tag gen-1. Other
 * scripts and repositories make the same path end otherwise (the end-to-end tests use that).
 */
export async function runDemoCycle(options: CycleOptions): Promise<CycleResult> {
  const { log } = options;
  const env = options.env ?? process.env;
  const scratch = await mkdtemp(join(tmpdir(), "loom-demo-"));
  const repo = join(scratch, "repo");
  const labModel = await startScriptedModel(options.labScript ?? demoLabScript);
  const primeModel = await startScriptedModel(options.primeScript ?? demoPrimeScript());
  const events: SupervisorEvent[] = [];
  const phases: Record<string, number> = {};
  let supervisor: Awaited<ReturnType<typeof startSupervisor>> | undefined;
  try {
    await makeRepo(repo, options.repoFiles ?? demoRepoFiles);
    log(`scratch repository: ${repo}`);
    const runtime = await pickRuntime(env, log);
    const config: Config = loadConfig({
      cwd: scratch,
      env: {
        LOOM_VERIFY_TIMEOUT_MS: env.LOOM_VERIFY_TIMEOUT_MS ?? "300000",
        LOOM_LAB_TIMEOUT_MS: env.LOOM_LAB_TIMEOUT_MS ?? "300000",
        LOOM_REPO_PATH: repo,
        LOOM_STATE_DIR: join(scratch, "state"),
        LOOM_RUNTIME: runtime,
        LOOM_NETWORK: "host",
        ANTHROPIC_API_KEY: "demo-prime",
        ANTHROPIC_BASE_URL: primeModel.url,
        LOOM_LAB_API_KEY: "demo-lab",
        LOOM_LAB_API_BASE: labModel.url,
        LOOM_MODEL: "scripted-prime",
        LOOM_LAB_MODEL: "scripted-lab",
        LOOM_MAX_GENERATIONS: String(options.maxGenerations ?? options.candidates ?? 1),
        ...(options.candidates ? { LOOM_CANDIDATES: String(options.candidates) } : {}),
        ...(options.finalists ? { LOOM_FINALISTS: String(options.finalists) } : {}),
        ...(options.labModels ? { LOOM_LAB_MODELS: options.labModels.join(",") } : {}),
        LOOM_PROMOTE: "auto",
        LOOM_MAX_RETRIES: "1",
        ...pick(env, [
          "LOOM_TOKEN_BUDGET",
          "LOOM_PLATEAU_WINDOW",
          "LOOM_BIND_HOST",
          "LOOM_REGISTRY",
          "LOOM_REGISTRY_PORT",
          "LOOM_SWARM_CONSTRAINTS",
          "LOOM_GATEWAY_PORT",
          "LOOM_WORKSPACE_TRANSPORT",
          "LOOM_GATEWAY_URL",
          "LOOM_LAB_POOL",
        ]),
      },
    });
    const started = performance.now();
    let mark = started;
    let phase = "start";
    const enter = (next: string) => {
      const now = performance.now();
      phases[phase] = (phases[phase] ?? 0) + (now - mark);
      mark = now;
      phase = next;
    };
    supervisor = await startSupervisor({
      config,
      log: (line) => log(`supervisor: ${line}`),
      port: 0,
      pollMs: 100,
      onEvent: (e) => {
        events.push(e);
        const line = describe(e);
        if (line) log(line);
      },
    });
    log(`supervisor: ${supervisor.url} (runtime ${supervisor.runtime.name})`);
    const core = await createPrimeCore({
      config: { ...config, supervisorUrl: supervisor.url },
      place: { repo, stateDir: join(scratch, "prime-state"), supervisorUrl: supervisor.url },
      thinking: primeThinking,
      log: (line) => log(`prime: ${line}`),
      pollMs: 100,
    });
    const git = async (args: string[]) => (await runGit(repo, args)).trim();
    const mainBefore = await git(["rev-parse", "main"]);
    const engine = primeThinking.autonomous(core.deps, config, () => totalTokens(core.model.usage));
    const result = (await engine.run({
      signal: new AbortController().signal,
      suspendSignal: new AbortController().signal,
      log: (line) => {
        const next =
          /^autonomous: (reflecting|spawning|waiting_lab|round|verifying|promoting|rolling_back)\b/.exec(
            line,
          )?.[1];
        if (next) enter(next);
        log(`prime: ${line}`);
      },
    })) as { stopReason?: string };
    enter("end");
    const records = await supervisor.controller.list();
    const record = records.find((r) => r.generation === 1);
    if (!record)
      throw new LoomError(
        "DEMO_NO_GENERATION",
        `Prime's loop stopped (${result?.stopReason ?? "without a reason"}) before it spawned generation 1; its last lines above say why${options.keep ? `; the scratch folder is kept: ${scratch}` : ""}`,
      );
    const mainAfter = await git(["rev-parse", "main"]);
    const mainLog = await git(["log", "--oneline", "main"]);
    const tags = (await git(["tag", "--list"])).split("\n").filter(Boolean);
    const refs = (await git(["for-each-ref", "--format=%(refname)"])).split("\n").filter(Boolean);
    log(`\nmain after the cycle:\n${mainLog}\ntags: ${tags.join(", ") || "(none)"}`);
    // A round's candidates are each reported by the caller (run-round.ts).
    if ((options.candidates ?? 1) === 1) log(`gen-1: ${record.outcome}, fitness ${record.fitness ?? "n/a"}`);
    log(
      `phases (ms): ${JSON.stringify(Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])))}`,
    );
    return {
      scratch,
      record,
      records,
      mainBefore,
      mainAfter,
      events,
      primeRequests: primeModel.requests.length,
      mainLog,
      tags,
      refs,
      runtime,
      phases,
      stopReason: result?.stopReason ?? null,
    };
  } finally {
    await supervisor?.close();
    await labModel.close();
    await primeModel.close();
    if (!options.keep) await rm(scratch, { recursive: true, force: true });
  }
}
