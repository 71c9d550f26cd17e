import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { type Config, loadConfig } from "../../src/shared/config.ts";
import type { ScriptTurnInput } from "../../src/shared/scripted-model/index.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";

export const git = async (cwd: string, args: string[]): Promise<string> =>
  (
    await execa("git", ["-c", "user.name=Test", "-c", "user.email=test@loom.invalid", ...args], {
      cwd,
      stdin: "ignore",
    })
  ).stdout;

export interface Fixture {
  readonly root: string;
  readonly repo: string;
  readonly stateDir: string;
  readonly model: ScriptedModelServer;
  config(env?: Record<string, string>): Config;
  cleanup(): Promise<void>;
}

/** A temp repo on main (with schemas/), a state dir beside it, and a scripted model for the Labs. */
export async function makeFixture(script: readonly ScriptTurnInput[]): Promise<Fixture> {
  const root = await mkdtemp(path.join(tmpdir(), "loom-sup-"));
  const repo = path.join(root, "repo");
  const stateDir = path.join(root, "state");
  await mkdir(path.join(repo, "schemas"), { recursive: true });
  await writeFile(path.join(repo, "schemas", "thing.ts"), "export const thing = 1;\n");
  await writeFile(path.join(repo, "README.md"), "# repo\n");
  await git(repo, ["init", "-q", "-b", "main"]);
  await git(repo, ["add", "-A"]);
  await git(repo, ["commit", "-q", "-m", "initial"]);
  const model = await startScriptedModel(script);
  return {
    root,
    repo,
    stateDir,
    model,
    config: (env = {}) =>
      loadConfig({
        cwd: root,
        env: {
          LOOM_REPO_PATH: repo,
          LOOM_STATE_DIR: stateDir,
          LOOM_RUNTIME: "local",
          ANTHROPIC_API_KEY: "prime-key-must-not-reach-labs",
          LOOM_LAB_API_KEY: "lab-key",
          LOOM_LAB_API_BASE: model.url,
          LOOM_MAX_RETRIES: "0",
          ...env,
        },
      }),
    cleanup: async () => {
      await model.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Entries of a folder, or [] when it does not exist. */
export const entries = (dir: string): Promise<string[]> => readdir(dir).catch(() => []);

/** A Lab script that writes one file and ends. */
export const WRITE_AND_END: ScriptTurnInput[] = [
  {
    tool: "write_file",
    input: { path: "hello.txt", content: "hello from the lab\n" },
    usage: { input_tokens: 100, output_tokens: 20 },
  },
  { text: "wrote hello.txt", usage: { input_tokens: 150, output_tokens: 10 } },
];

/**
 * A Lab script that records what the Lab sees of its container and commits it: the variable names of
 * its first process and of its bash, and whether schemas/ and acceptance/ can be written.
 */
export const CONTAINMENT_PROBE: ScriptTurnInput[] = [
  {
    tool: "bash",
    input: {
      command:
        "tr '\\0' '\\n' < /proc/1/environ | cut -d= -f1 | sort > env-names.txt; " +
        "env | cut -d= -f1 | sort > bash-env-names.txt; " +
        "(echo changed > schemas/thing.ts && echo writable || echo read-only) > schemas-check.txt 2>/dev/null; " +
        "(echo new > acceptance/new.test.ts && echo writable || echo read-only) > acceptance-check.txt 2>/dev/null; true",
    },
  },
  { text: "checked" },
];

/** What CONTAINMENT_PROBE committed on lab/gen-N must show: no key, no API address, frozen folders. */
export async function expectContained(repo: string, n: number): Promise<void> {
  const { expect } = await import("vitest");
  for (const file of ["env-names.txt", "bash-env-names.txt"]) {
    const names = (await git(repo, ["show", `lab/gen-${n}:${file}`])).split("\n");
    // No key and no API address: the model is reached only through the proxy's socket.
    expect(names, file).toContain("LOOM_LAB_MODEL_SOCKET");
    for (const secret of ["LOOM_LAB_API_KEY", "LOOM_LAB_API_BASE", "ANTHROPIC_API_KEY"])
      expect(names, file).not.toContain(secret);
  }
  expect(await git(repo, ["show", `lab/gen-${n}:schemas-check.txt`])).toBe("read-only");
  expect(await git(repo, ["show", `lab/gen-${n}:schemas/thing.ts`])).toBe("export const thing = 1;");
  expect(await git(repo, ["show", `lab/gen-${n}:acceptance-check.txt`])).toBe("read-only");
}
