import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { simpleGit } from "simple-git";
import { afterEach, describe, expect, it } from "vitest";
import { LabStatus } from "../../schemas/index.ts";
import { startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { freePort } from "../../src/supervisor/lifecycle/free-port.ts";
import { localLabEntry } from "../../src/supervisor/lifecycle/local-lab-entry.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const TRACE = fileURLToPath(new URL("./fixtures/trace-loads.mjs", import.meta.url));
/** What a local Lab runs: the Lab bundle when it is fresh (CI builds it first), else the sources. */
const LAB_ENTRY = localLabEntry(fileURLToPath(new URL("../..", import.meta.url)));
/** What only the agent needs: the model SDK, ts-morph (also the eval engine's form parser), the loop and tools. */
const AGENT_MODULE = /\/node_modules\/(ts-morph|@anthropic-ai\/sdk)\/|\/src\/agent\/|\/src\/lab\/worker\.ts/;

/** `loom lab` as a local runtime runs it, traced, with only the model's address and a key in its environment. */
const tracedLab = (workspace: string, modelUrl: string, args: readonly string[]) =>
  execa(process.execPath, ["--import", TRACE, LAB_ENTRY, "lab", "--workspace", workspace, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: workspace,
      ANTHROPIC_API_KEY: "k",
      LOOM_LAB_API_BASE: modelUrl,
    },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

describe("loom lab readiness", () => {
  it("answers its first GET /status before loading any agent module or starting a thread, then still does its work", async () => {
    const ws = await tempWorkspace({ "program.md": "# Task: write b\n" });
    cleanups.push(ws.cleanup);
    const git = simpleGit(ws.dir, { config: ["user.name=t", "user.email=t@t.invalid"] });
    await git.init(["-q", "-b", "main"]).add(".").commit("init");
    const model = await startScriptedModel([
      { tool: "write_file", input: { path: "b.txt", content: "b\n" } },
      { text: "wrote b" },
    ]);
    cleanups.push(() => model.close());
    // A port another process may take between choosing and binding it: a Lab that finds it taken is
    // started again on another (at most three tries).
    const start = (port: number) =>
      tracedLab(ws.dir, model.url, ["--generation", "3", "--port", String(port), "--exit"]);
    // Ask only a while after the Lab listens (well inside its 1 s quiet wait): a Lab that loaded its
    // agent right after listening would have started by then.
    const serving = (child: ReturnType<typeof start>) =>
      new Promise<"serving" | "port taken">((resolve, reject) => {
        let seen = "";
        child.stderr?.on("data", (chunk: Buffer) => {
          seen += chunk.toString();
          if (seen.includes("lab: serving")) resolve("serving");
        });
        child.once("exit", () =>
          seen.includes("EADDRINUSE")
            ? resolve("port taken")
            : reject(new Error(`the Lab exited before serving: ${seen}`)),
        );
      });
    let port = await freePort();
    let child = start(port);
    for (let attempt = 1; (await serving(child)) === "port taken"; attempt++) {
      if (attempt === 3) throw new Error(`three ports were taken before the Lab could bind them`);
      port = await freePort();
      child = start(port);
    }
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`http://127.0.0.1:${port}/status`);
    expect(res.status).toBe(200);
    LabStatus.parse(await res.json());
    const result = await child;
    expect(result.exitCode, result.stderr).toBe(0);

    const trace = result.stderr.split("\n").filter((l) => l.startsWith("trace: "));
    const answered = trace.indexOf("trace: answered GET /status");
    expect(answered, "the Lab never answered GET /status").toBeGreaterThan(-1);
    const agentLoads = trace.filter((l) => l.startsWith("trace: load ") && AGENT_MODULE.test(l));
    // Before the answer: nothing of the agent. After it: the agent did load, and did the work below.
    const started = (l: string) => l.startsWith("trace: start thread ");
    expect(trace.slice(0, answered).filter((l) => AGENT_MODULE.test(l) || started(l))).toEqual([]);
    // Threads (the TypeScript tools', the eval engine's) start only after the answer, if at all: the
    // model here answers at once, so neither warm-up runs (see the next test).
    // The agent loaded after the answer (the model's client, bundled or not, loads the SDK's package).
    expect(agentLoads.some((l) => l.includes("/node_modules/@anthropic-ai/sdk/"))).toBe(true);

    expect((await git.revparse(["--abbrev-ref", "HEAD"])).trim()).toBe("lab/gen-3");
    expect(await git.raw(["show", "HEAD:b.txt"])).toBe("b\n");
    const report = JSON.parse(await readFile(join(ws.dir, ".loom/report.json"), "utf8"));
    expect(report).toMatchObject({ generation: 3, status: "done", toolCalls: { write_file: { calls: 1 } } });
  }, 90_000);

  it("warms its tools only while a model call keeps it waiting: a model that answers at once costs no warm-up", async () => {
    const run = async (thinkMs?: number) => {
      const ws = await tempWorkspace({
        "program.md": "# Task: write c\n",
        "src/c.ts": "export const c = 1;\n",
      });
      cleanups.push(ws.cleanup);
      const git = simpleGit(ws.dir, { config: ["user.name=t", "user.email=t@t.invalid"] });
      await git.init(["-q", "-b", "main"]).add(".").commit("init");
      const model = await startScriptedModel([
        { tool: "write_file", input: { path: "c.txt", content: "c\n" }, ...(thinkMs ? { thinkMs } : {}) },
        { text: "wrote c" },
      ]);
      cleanups.push(() => model.close());
      const result = await tracedLab(ws.dir, model.url, [
        ...["--generation", "4", "--port", "0", "--host", "127.0.0.1", "--exit"],
      ]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(await git.raw(["show", "lab/gen-4:c.txt"])).toBe("c\n");
      const lines = result.stderr.split("\n");
      const ts = lines.findIndex((l) => /^lab: TypeScript tools warmed in \d+ ms \(worker thread\)$/.test(l));
      const evalEngine = lines.findIndex((l) => /^lab: eval engine warmed in \d+ ms$/.test(l));
      return { warmed: ts !== -1, evalWarmed: evalEngine !== -1, inOrder: ts < evalEngine };
    };
    // Instant answers (a scripted model): the Lab ends without building the workspace's Project or
    // starting the eval engine: the first ts_* or eval call would do that work. (Both -1: not in order.)
    expect(await run()).toEqual({ warmed: false, evalWarmed: false, inOrder: false });
    // A first turn that takes 20 s, as a slow model's can: both warm-ups run inside it, even on a
    // machine as loaded as CI (5 s once did not suffice there). An idle wait: it costs the suite no CPU.
    expect(await run(20_000)).toEqual({ warmed: true, evalWarmed: true, inOrder: true });
  }, 90_000);
});
