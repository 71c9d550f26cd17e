import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { simpleGit } from "simple-git";
import { afterEach, describe, expect, it } from "vitest";
import { LabStatus } from "../../schemas/index.ts";
import { startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { LOOM_BIN } from "../helpers/cli.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

describe("loom lab (what a Lab container runs)", () => {
  it("serves /status while the worker runs, commits on lab/gen-N, writes the report and exits", async () => {
    const ws = await tempWorkspace({ "program.md": "# Task: write a\n" });
    cleanups.push(ws.cleanup);
    const git = simpleGit(ws.dir, { config: ["user.name=t", "user.email=t@t.invalid"] });
    await git.init(["-q", "-b", "main"]).add(".").commit("init");
    const model = await startScriptedModel([
      { tool: "bash", input: { command: "sleep 1; echo slow" } },
      { tool: "write_file", input: { path: "a.txt", content: "a\n" } },
      { text: "wrote a" },
    ]);
    cleanups.push(() => model.close());
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = execa(
      process.execPath,
      [LOOM_BIN, "lab", "--workspace", ws.dir, "--generation", "2", "--port", String(port), "--exit"],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: ws.dir,
          ANTHROPIC_API_KEY: "k",
          LOOM_LAB_API_BASE: model.url,
        },
        extendEnv: false,
        reject: false,
        timeout: 60_000,
      },
    );
    // Poll /status like the Supervisor does, until it reports running.
    const seen: string[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !seen.includes("running")) {
      const res = await fetch(`http://127.0.0.1:${port}/status`).catch(() => undefined);
      if (res?.ok) seen.push(LabStatus.parse(await res.json()).status);
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toContain("running");
    const result = await child;
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await git.revparse(["--abbrev-ref", "HEAD"])).trim()).toBe("lab/gen-2");
    expect(await git.raw(["show", "HEAD:a.txt"])).toBe("a\n");
    const report = JSON.parse(await readFile(join(ws.dir, ".loom/report.json"), "utf8"));
    expect(report).toMatchObject({
      generation: 2,
      status: "done",
      toolCalls: { bash: { calls: 1 }, write_file: { calls: 1 } },
    });
  }, 90_000);

  it("exits 1 with the failure in the report when the model is unreachable", async () => {
    const ws = await tempWorkspace({ "program.md": "# Task: x\n" });
    cleanups.push(ws.cleanup);
    await simpleGit(ws.dir, { config: ["user.name=t", "user.email=t@t.invalid"] })
      .init(["-q", "-b", "main"])
      .add(".")
      .commit("init");
    await writeFile(join(ws.dir, "extra.txt"), "x");
    const result = await execa(
      process.execPath,
      [LOOM_BIN, "lab", "--workspace", ws.dir, "--generation", "9", "--port", "0", "--exit"],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: ws.dir,
          ANTHROPIC_API_KEY: "k",
          LOOM_LAB_API_BASE: "http://127.0.0.1:9",
          LOOM_MAX_RETRIES: "0",
        },
        extendEnv: false,
        reject: false,
        timeout: 60_000,
      },
    );
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(await readFile(join(ws.dir, ".loom/report.json"), "utf8"));
    expect(report).toMatchObject({ generation: 9, status: "failed", stopReason: "error" });
    // Work already in the tree is still committed so the Supervisor can fetch and inspect it.
    expect(report.filesChanged).toContain("extra.txt");
  }, 90_000);
});
