import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diffEnvTemplate, loadConfig } from "../../src/shared/config.ts";

const repoRoot = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "loom-env-template-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh empty working directory holding only the given .env. */
async function cwdWith(dotenv: string): Promise<string> {
  const cwd = await mkdtemp(path.join(dir, "cwd-"));
  await writeFile(path.join(cwd, ".env"), dotenv);
  return cwd;
}

describe("env-template", () => {
  it("is in step with configSpecs", async () => {
    const text = await readFile(path.join(repoRoot, "env-template"), "utf8");
    expect(diffEnvTemplate(text)).toEqual([]);
    // The template is itself a valid .env: copying it must load to the defaults.
    const cwd = await cwdWith(text);
    expect(loadConfig({ env: {}, cwd }).warnings).toEqual([]);
  });

  it("detects a missing variable, an extra one, a changed default, comment state and purpose drift", async () => {
    const text = await readFile(path.join(repoRoot, "env-template"), "utf8");
    const edited = text
      .replace("# LOOM_NETWORK=loom-net\n", "")
      .replace("# LOOM_MAX_ITERATIONS=40", "# LOOM_MAX_ITERATIONS=50")
      .replace("# LOOM_PROMOTE=auto", "LOOM_PROMOTE=auto")
      .replace("ANTHROPIC_API_KEY=", "# ANTHROPIC_API_KEY=")
      .replace("# Lab HTTP port", "# Lab port")
      .concat("\n# Something\n# LOOM_EXTRA=1\n# Prime HTTP port\n# LOOM_PRIME_PORT=8401\n");
    const problems = diffEnvTemplate(edited);
    expect(problems).toHaveLength(7);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/LOOM_PRIME_PORT appears more than once$/),
        expect.stringMatching(/LOOM_EXTRA is not in configSpecs; remove it or add a spec$/),
        'LOOM_NETWORK is missing; add "# Network of the verification install step (docker, podman) and of Labs under apple; other Labs and steps get none" and "# LOOM_NETWORK=loom-net"',
        expect.stringMatching(/LOOM_MAX_ITERATIONS shows "50" but its default is "40"$/),
        expect.stringMatching(/LOOM_PROMOTE should be commented out$/),
        expect.stringMatching(/ANTHROPIC_API_KEY should be uncommented$/),
        expect.stringMatching(
          /the comment above LOOM_LAB_PORT should read "# Lab HTTP port", found "Lab port"$/,
        ),
      ]),
    );
  });
});
