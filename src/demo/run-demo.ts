import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { closeSharedEvalEngines } from "../../lab-runtime/eval/shared-engines.ts";
import { startLabServer } from "../../lab-runtime/server.ts";
import type { EvalResponse, LabReport } from "../../schemas/index.ts";
import { labTools } from "../agent/catalog.ts";
import { createModelClient } from "../agent/model-client.ts";
import { ToolRegistry } from "../agent/tool-registry.ts";
import { LabStatusTracker } from "../lab/status-tracker.ts";
import { runLabWorker } from "../lab/worker.ts";
import type { EventSink } from "../shared/events.ts";
import { runGit } from "../shared/git/run-git.ts";
import { startScriptedModel } from "../shared/scripted-model/index.ts";
import { demoProgram, demoRepoFiles } from "./demo-repo.ts";
import { demoLabScript } from "./demo-script.ts";

/** Loom's installed packages (found through tsx, which the demo repo's tests run on), from source or a bundle. */
const loomNodeModules = () => dirname(dirname(createRequire(import.meta.url).resolve("tsx/package.json")));
const GIT_IDENTITY = { name: "Loom Demo", email: "demo@loom.invalid" };
const git = (cwd: string, args: string[]) => runGit(cwd, args, { identity: GIT_IDENTITY });

export interface DemoResult {
  readonly scratch: string;
  readonly report: LabReport;
  readonly evalResponse: EvalResponse;
  /** The `lab/gen-1` head fetched back into the scratch repository. */
  readonly fetchedHead: string;
  readonly diffStat: string;
}

export interface DemoOptions {
  readonly emit: EventSink;
  readonly log: (line: string) => void;
  /** Keep the scratch directory instead of removing it. */
  readonly keep?: boolean;
}

/**
 * One Lab generation end to end with the scripted model and no API key: a scratch repository, a clone
 * as the Lab's workspace on `lab/gen-1` with program.md committed, the Lab server (status + eval), the
 * Lab worker with the real tools, and the branch fetched back — the path the Supervisor drives.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { log } = options;
  const scratch = await mkdtemp(join(tmpdir(), "loom-demo-"));
  const repo = join(scratch, "repo");
  const workspace = join(scratch, "lab-gen-1");
  const model = await startScriptedModel(demoLabScript);
  let server: Awaited<ReturnType<typeof startLabServer>> | undefined;
  try {
    for (const [rel, content] of Object.entries(demoRepoFiles)) {
      await mkdir(dirname(join(repo, rel)), { recursive: true });
      await writeFile(join(repo, rel), content);
    }
    await git(repo, ["init", "-q", "-b", "main"]);
    await git(repo, ["add", "."]);
    await git(repo, ["commit", "-q", "-m", "Initial demo repository"]);
    log(`scratch repository: ${repo}`);

    await git(scratch, ["clone", "-q", repo, workspace]);
    await git(workspace, ["checkout", "-q", "-b", "lab/gen-1"]);
    await writeFile(join(workspace, "program.md"), demoProgram);
    await git(workspace, ["add", "program.md"]);
    await git(workspace, ["commit", "-q", "-m", "gen-1: program.md"]);
    // The demo repo's tests run through tsx; borrow Loom's installed packages instead of installing.
    await symlink(loomNodeModules(), join(workspace, "node_modules"), "dir");
    log(`Lab workspace: ${workspace} (branch lab/gen-1, program.md committed)`);

    const tracker = new LabStatusTracker(1);
    server = await startLabServer({ workspace, port: 0, status: () => tracker.snapshot() });
    log(`Lab server: ${server.url} (GET /status, POST /eval)`);
    log(`scripted model: ${model.url}\n`);

    const report = await runLabWorker({
      workspace,
      generation: 1,
      model: createModelClient({
        apiKey: "demo",
        baseURL: model.url,
        model: "scripted-lab",
        timeoutMs: 30_000,
        maxRetries: 2,
      }),
      tools: new ToolRegistry(labTools()),
      tracker,
      loop: { maxIterations: 10, maxContextMessages: 20, tokenBudget: 0 },
      emit: options.emit,
    });

    const evalResponse = (await (
      await fetch(`${server.url}/eval`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ form: 'import { greetUser } from "./src/greet.ts";\ngreetUser("Ada")' }),
      })
    ).json()) as EvalResponse;
    log(`\nPOST /eval greetUser("Ada") → ${JSON.stringify(evalResponse)}`);

    // What the Supervisor does for every generation, whatever its outcome: fetch the branch back.
    await git(repo, ["fetch", "-q", workspace, "lab/gen-1:lab/gen-1"]);
    const fetchedHead = (await git(repo, ["rev-parse", "lab/gen-1"])).trim();
    const diffStat = (await git(repo, ["diff", "--stat", "main", "lab/gen-1"])).trimEnd();
    log(`\nlab/gen-1 fetched back at ${fetchedHead.slice(0, 12)}:\n${diffStat}`);
    log(
      `\nLab report: ${report.status} (${report.stopReason}), ${report.modelCalls} model calls, tools ${JSON.stringify(report.toolCalls)}`,
    );
    return { scratch, report, evalResponse, fetchedHead, diffStat };
  } finally {
    await closeSharedEvalEngines();
    await server?.close();
    await model.close();
    if (!options.keep) await rm(scratch, { recursive: true, force: true });
  }
}
