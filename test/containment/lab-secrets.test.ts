import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bashTool } from "../../src/agent/tools/bash.ts";
import { takeLabSecrets } from "../../src/lab/lab-secrets.ts";
import { loadConfig } from "../../src/shared/config.ts";
import { isSecretName } from "../../src/shared/secret-env.ts";

/** The Lab's own process: secrets from a file it deletes, an environment without them, a bash without them. */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "loom-secrets-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = () => loadConfig({ cwd: "/tmp", env: { LOOM_REPO_PATH: "/tmp/repo" } });

describe("takeLabSecrets", () => {
  it("reads the Supervisor's file into the config, deletes it, and scrubs every secret from the environment", async () => {
    const file = path.join(dir, "secrets.json");
    await writeFile(file, JSON.stringify({ apiKey: "loom-proxy-1-abc", labToken: "t0ken" }));
    const env: NodeJS.ProcessEnv = {
      PATH: "/usr/bin",
      LOOM_LAB_MODEL: "m",
      LOOM_LAB_API_KEY: "sk-real",
      LOOM_LAB_TOKEN: "t",
      ANTHROPIC_API_KEY: "sk-prime",
      ANTHROPIC_BASE_URL: "http://x",
      GITHUB_TOKEN: "ghp",
      AWS_SECRET_ACCESS_KEY: "aws",
      NPM_CONFIG_PASSWORD: "pw",
    };
    const c = await takeLabSecrets(config(), file, env);
    expect(c.labApiKey).toBe("loom-proxy-1-abc");
    expect(c.labToken).toBe("t0ken");
    await expect(stat(file)).rejects.toMatchObject({ code: "ENOENT" });
    expect(Object.keys(env).sort()).toEqual(["LOOM_LAB_MODEL", "PATH"]);
  });

  it("refuses a missing or malformed file by name, and still scrubs", async () => {
    const env: NodeJS.ProcessEnv = { LOOM_LAB_API_KEY: "sk" };
    await expect(takeLabSecrets(config(), path.join(dir, "nope.json"), env)).rejects.toThrow(
      /secrets file .*nope\.json \(--secrets\) cannot be read/,
    );
    expect(env).toEqual({});
    const bad = path.join(dir, "bad.json");
    await writeFile(bad, '{"apiKey": 1}');
    await expect(takeLabSecrets(config(), bad, {})).rejects.toThrow(/is not \{"apiKey": string/);
  });

  it("without a file (a Lab run by hand) keeps the config's own values", async () => {
    const env: NodeJS.ProcessEnv = { LOOM_LAB_API_KEY: "sk-by-hand" };
    const c = await takeLabSecrets(loadConfig({ cwd: "/tmp", env: { ...env } }), undefined, env);
    expect(c.labApiKey).toBe("sk-by-hand");
    expect(env).toEqual({});
  });

  it("names: Loom's secret variables and anything shaped like a credential, not ordinary ones", () => {
    for (const name of ["LOOM_LAB_API_KEY", "LOOM_SUPERVISOR_TOKEN", "ANTHROPIC_AUTH_TOKEN", "MY_APIKEY"])
      expect(isSecretName(name), name).toBe(true);
    for (const name of ["PATH", "HOME", "LOOM_LAB_MODEL_SOCKET", "LOOM_TOKEN_BUDGET", "KEYBOARD"])
      expect(isSecretName(name), name).toBe(false);
  });
});

describe("the bash tool", () => {
  it("runs commands with an environment that holds no secret, whatever this process still has", async () => {
    const names = ["LOOM_LAB_API_KEY", "ANTHROPIC_API_KEY", "LOOM_LAB_TOKEN", "SOME_SERVICE_TOKEN"];
    const before = Object.fromEntries(names.map((n) => [n, process.env[n]]));
    for (const n of names) process.env[n] = `secret-value-of-${n}`;
    try {
      const result = await bashTool.run({ command: "env; echo done" }, {
        workspace: dir,
        signal: new AbortController().signal,
      } as Parameters<typeof bashTool.run>[1]);
      const text = typeof result === "string" ? result : result.content;
      expect(text).toContain("done");
      expect(text).toContain("PATH=");
      expect(text).not.toContain("secret-value-of-");
    } finally {
      for (const n of names) {
        if (before[n] === undefined) delete process.env[n];
        else process.env[n] = before[n];
      }
    }
  });
});
