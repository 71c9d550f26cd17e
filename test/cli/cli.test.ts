import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { loom } from "../helpers/cli.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
async function ws(files: Record<string, string> = {}) {
  const w = await tempWorkspace(files);
  cleanups.push(w.cleanup);
  return w.dir;
}

describe("loom CLI", () => {
  it("--help lists every command", async () => {
    const { code, stdout } = await loom(["--help"]);
    expect(code).toBe(0);
    for (const cmd of [
      "demo",
      "run",
      "tool",
      "analyze",
      "lab-server",
      "prime",
      "reflect",
      "spawn",
      "autonomous",
    ])
      expect(stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, "m"));
  });

  // Ten CLI starts through tsx: about 30 s when the whole suite shares two cores.
  it("every command has --help", async () => {
    for (const cmd of [
      "demo",
      "run",
      "tool",
      "analyze",
      "lab-server",
      "lab-relay",
      "prime",
      "reflect",
      "spawn",
      "autonomous",
    ]) {
      const { code, stdout } = await loom([cmd, "--help"]);
      expect(code, cmd).toBe(0);
      expect(stdout, cmd).toContain(`Usage: loom ${cmd}`);
    }
  }, 120_000);

  it("a bad flag, an unknown command or a bad number exits non-zero with a clear message", async () => {
    const flag = await loom(["run", "x.md", "--bogus"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--bogus'");
    const cmd = await loom(["frobnicate"]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("unknown command 'frobnicate'");
    const port = await loom(["lab-server", "--port", "99999"]);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("--port must be a whole number from 1 to 65535");
    const relay = await loom(["lab-relay", "--uid", "10001", "--gid", "10001", "--", "true"], {
      env: { LOOM_RELAY_URL: "https://gateway/", LOOM_RELAY_TOKEN: "short" },
    });
    expect(relay.code).toBe(2);
    expect(relay.stderr).toContain(
      'LOOM_RELAY_URL must be http://HOST:PORT (got "https://gateway/") and LOOM_RELAY_TOKEN 64 hex digits (5 characters given)',
    );
  });

  it("a bad configuration value stops start-up with one line naming the variable", async () => {
    const dir = await ws({ "p.md": "# Task: x" });
    const { code, stderr } = await loom(["run", "p.md"], {
      cwd: dir,
      env: { LOOM_MAX_ITERATIONS: "abc", ANTHROPIC_API_KEY: "k" },
    });
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^loom: LOOM_MAX_ITERATIONS="abc" is not valid: expected a whole number/);
    expect(stderr).not.toContain("    at ");
  });

  it("loom run without an API key says which variable to set", async () => {
    const dir = await ws({ "p.md": "# Task: x" });
    const { code, stderr } = await loom(["run", "p.md"], { cwd: dir });
    expect(code).toBe(1);
    expect(stderr).toMatch(/ANTHROPIC_API_KEY/);
  });

  it("loom tool runs one tool and prints its result as JSON; exit 1 on an error result", async () => {
    const dir = await ws({ "a.txt": "one\ntwo\n" });
    const ok = await loom(["tool", "read_file", "--input", '{"path":"a.txt"}', "--workspace", dir]);
    expect(ok.code).toBe(0);
    const okJson = JSON.parse(ok.stdout);
    expect(okJson).toMatchObject({ tool: "read_file", isError: false });
    expect(okJson.content).toMatch(/1\s+one/);
    const missing = await loom(["tool", "read_file", "--input", '{"path":"nope.txt"}', "--workspace", dir]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ isError: true });
    const badJson = await loom(["tool", "read_file", "--input", "{path:", "--workspace", dir]);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/--input is not valid JSON/);
    const unknown = await loom(["tool", "nope", "--workspace", dir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown tool "nope"; available: .*read_file/);
  });

  it("loom tool reaches the structural tools too", async () => {
    const dir = await ws({ "src/x.ts": "export function a(): number {\n  return 1;\n}\n" });
    const res = await loom([
      "tool",
      "ts_replace_body",
      "--input",
      JSON.stringify({ path: "src/x.ts#a", body: "return 2;" }),
      "--workspace",
      dir,
    ]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(await readFile(join(dir, "src/x.ts"), "utf8")).toContain("return 2;");
    // The call started the workspace's warm TypeScript server; it must not outlive the test.
    const stop = await loom(["tool", "--stop-warm", "--workspace", dir]);
    expect(stop.stdout).toMatch(/^stopped the warm server of /);
  });

  it("loom tool --list lists tools with effect class and input fields", async () => {
    const { code, stdout } = await loom(["tool", "--list"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^edit_file\s+edit\s+\{path, old_str, new_str\}/m);
    expect(stdout).toMatch(/^bash\s+exec\s+\{command, timeout\?\}/m);
    expect(stdout).toMatch(/^ts_rename\s+edit/m);
  });

  describe("loom run end to end", () => {
    let server: ScriptedModelServer | undefined;
    afterEach(async () => server?.close());

    it("runs the loop against the scripted model in a temp workspace, printing events", async () => {
      const dir = await ws({ "program.md": "# Task: create hello.txt\n", "notes.txt": "x\n" });
      server = await startScriptedModel([
        { tool: "write_file", input: { path: "hello.txt", content: "hi\n" } },
        { tool: "bash", input: { command: "cat hello.txt" } },
        { text: "Created hello.txt.", when: { lastToolResultIncludes: "hi" } },
      ]);
      const { code, stdout, stderr } = await loom(["run", "program.md", "--workspace", dir], {
        cwd: dir,
        env: { ANTHROPIC_API_KEY: "sk-test", LOOM_LAB_API_BASE: server.url, LOOM_LAB_MODEL: "lab-test" },
      });
      expect(code, stderr).toBe(0);
      expect(stdout).toContain("→ write_file");
      expect(stdout).toContain("✓ bash");
      expect(stdout).toContain("Created hello.txt.");
      expect(stdout).toMatch(/done: end_turn after 3 model calls/);
      expect(await readFile(join(dir, "hello.txt"), "utf8")).toBe("hi\n");
      const first = server.requests[0]!;
      expect((first.body as { model: string }).model).toBe("lab-test");
      expect(JSON.stringify(first.body)).toContain("create hello.txt");
    });

    it("exits 1 when the run does not end its turn (iteration cap)", async () => {
      const dir = await ws({ "program.md": "# Task: loop\n" });
      server = await startScriptedModel(
        Array.from({ length: 3 }, () => ({ tool: "bash", input: { command: "true" } })),
      );
      const { code, stdout } = await loom(["run", "program.md", "--workspace", dir, "--json"], {
        cwd: dir,
        env: { ANTHROPIC_API_KEY: "sk-test", LOOM_LAB_API_BASE: server.url, LOOM_MAX_ITERATIONS: "2" },
      });
      expect(code).toBe(1);
      const events = stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(events.at(-1)).toMatchObject({ type: "done", reason: "iteration_cap", iterations: 2 });
    });
  });
});
