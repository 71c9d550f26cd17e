import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { freePort } from "../../src/supervisor/lifecycle/free-port.ts";
import { LOOM_BIN } from "../helpers/cli.ts";
import { primeConfig, startTestPrime, tempDir } from "./prime-helpers.ts";

let model: ScriptedModelServer;
let root: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  root = await tempDir("loom-prime-crash-");
  await mkdir(path.join(root.dir, "repo"));
  await writeFile(path.join(root.dir, "repo", "README.md"), "# crash readme\n");
  model = await startScriptedModel([
    { tool: "read_file", input: { path: "README.md" } },
    // The reply after the tool never comes in time: Prime is killed while waiting for it.
    { fault: "slow", delayMs: 60_000, text: "too late" },
  ]);
});
afterAll(async () => {
  await model?.close();
  await root?.cleanup();
});

describe("a Prime killed mid-turn", () => {
  it("keeps what its tools did: the restarted Prime has the tool call and its result", async () => {
    const repo = path.join(root.dir, "repo");
    const state = path.join(root.dir, "state");
    const port = await freePort();
    const child = execa(
      process.execPath,
      [LOOM_BIN, "prime", "--port", String(port), "--repo", repo, "--state", state],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          ANTHROPIC_API_KEY: "k",
          ANTHROPIC_BASE_URL: model.url,
          LOOM_MAX_RETRIES: "0",
        },
        extendEnv: false,
        cwd: root.dir,
        reject: false,
        stdin: "ignore",
      },
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        const ok = await fetch(`${url}/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (i > 300) throw new Error("loom prime did not answer /health");
        await new Promise((r) => setTimeout(r, 100));
      }
      const res = await fetch(`${url}/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: "Read the README." }),
      });
      const reader = res.body!.getReader();
      let text = "";
      while (!text.includes('"type":"tool_end"')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended early: ${text}`);
        text += new TextDecoder().decode(value);
      }
      // Wait for the next model call to begin (the tool results are written before it), then kill.
      while (model.requests.length < 2) await new Promise((r) => setTimeout(r, 50));
      child.kill("SIGKILL");
      await child;
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    const prime = await startTestPrime({ config: primeConfig(model), repo, stateDir: state });
    try {
      const { messages } = (await (await fetch(`${prime.url}/chat`)).json()) as {
        messages: { role: string; content: unknown }[];
      };
      expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
      expect(JSON.stringify(messages[1]!.content)).toContain('"name":"read_file"');
      expect(JSON.stringify(messages[2]!.content)).toContain("# crash readme");
      expect(JSON.stringify(messages[3]!.content)).toContain("Prime restarted");
    } finally {
      await prime.close();
    }
  }, 120_000);
});
