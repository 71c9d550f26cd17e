import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { simpleGit } from "simple-git";
import { afterEach, describe, expect, it } from "vitest";
import { LabReport } from "../../schemas/index.ts";
import { freePort } from "../../src/supervisor/lifecycle/free-port.ts";
import { LOOM_BIN } from "../helpers/cli.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** `loom lab --exit` as a real process on a fresh git workspace, with only the given environment. */
async function runLab(env: Record<string, string>) {
  const ws = await tempWorkspace({ "program.md": "# Task: write a\n" });
  cleanups.push(ws.cleanup);
  await simpleGit(ws.dir, { config: ["user.name=t", "user.email=t@t.invalid"] })
    .init(["-q", "-b", "main"])
    .add(".")
    .commit("init");
  const result = await execa(
    process.execPath,
    [LOOM_BIN, "lab", "--workspace", ws.dir, "--generation", "4", "--port", "0", "--exit"],
    {
      env: { PATH: process.env.PATH ?? "", HOME: ws.dir, LOOM_MAX_RETRIES: "0", ...env },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    },
  );
  const reportText = await readFile(join(ws.dir, ".loom/report.json"), "utf8").catch(() => undefined);
  return { result, report: reportText === undefined ? undefined : LabReport.parse(JSON.parse(reportText)) };
}

describe("loom lab that fails at start says why: on stderr and in its report", () => {
  it("without a model key", async () => {
    const { result, report } = await runLab({});
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/lab: failed: .*LOOM_LAB_API_KEY/);
    expect(report).toMatchObject({
      generation: 4,
      status: "failed",
      stopReason: "error",
      branch: "lab/gen-4",
    });
    expect(report?.error).toMatch(/neither LOOM_LAB_API_KEY nor ANTHROPIC_API_KEY is set/);
  }, 90_000);

  it("with an unreachable model: the URL and the system's cause", async () => {
    const port = await freePort();
    const { result, report } = await runLab({
      ANTHROPIC_API_KEY: "k",
      LOOM_LAB_API_BASE: `http://127.0.0.1:${port}`,
    });
    expect(result.exitCode).toBe(1);
    for (const text of [result.stderr, report?.error ?? ""]) {
      expect(text).toContain(`http://127.0.0.1:${port}`);
      expect(text).toContain("ECONNREFUSED");
    }
  }, 90_000);
});
