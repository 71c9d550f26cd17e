import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRuntime } from "../../../src/supervisor/runtime/docker.ts";
import { selectRuntime } from "../../../src/supervisor/runtime/select.ts";

const dockerOk = (await new DockerRuntime().available()).ok;

describe("selectRuntime", () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-select-"));
  });
  afterAll(async () => {
    await fs.rm(stateDir, { recursive: true, force: true });
  });
  const missing = {
    docker: "/nonexistent/docker",
    podman: "/nonexistent/podman",
    apple: "/nonexistent/container",
  };

  it("refuses an unknown choice, listing the accepted ones", async () => {
    await expect(selectRuntime("kubernetes", { log: () => {}, stateDir })).rejects.toMatchObject({
      code: "UNKNOWN_RUNTIME",
      message:
        'LOOM_RUNTIME="kubernetes" is not a runtime; expected one of auto, docker, podman, apple, local, swarm',
    });
  });

  it("auto falls through to local and logs why each engine was skipped", async () => {
    const logged: string[] = [];
    const rt = await selectRuntime("auto", {
      log: (m) => logged.push(m),
      stateDir,
      binaries: missing,
      platform: "linux",
    });
    expect(rt.name).toBe("local");
    const line = logged.find((l) => l.startsWith("runtime: auto picked local")) ?? "";
    expect(line).toContain("docker: /nonexistent/docker is not installed");
    expect(line).toContain("podman: /nonexistent/podman is not installed");
    expect(line).toContain("apple: only on macOS");
    expect(line).toMatch(/local runtime: (bubblewrap contains|NOT CONTAINED)/);
  });

  it("auto tries apple on macOS, after podman", async () => {
    const logged: string[] = [];
    await selectRuntime("auto", {
      log: (m) => logged.push(m),
      stateDir,
      binaries: missing,
      platform: "darwin",
    });
    // Where bwrap is missing (a verification container) the local runtime says so first.
    const line = logged.find((l) => l.startsWith("runtime: auto picked")) ?? "";
    expect(line).toMatch(/podman: .*; apple: \/nonexistent\/container is not installed/);
  });

  it.skipIf(!dockerOk)("auto picks docker first where it works", async () => {
    const logged: string[] = [];
    const rt = await selectRuntime("auto", { log: (m) => logged.push(m), stateDir });
    expect(rt.name).toBe("docker");
    expect(logged).toEqual(["runtime: auto picked docker"]);
  });

  it("a named runtime that does not work is an error, not a silent fallback", async () => {
    await expect(
      selectRuntime("podman", { log: () => {}, stateDir, binaries: missing }),
    ).rejects.toMatchObject({
      code: "RUNTIME_UNAVAILABLE",
      message: expect.stringContaining(
        "LOOM_RUNTIME=podman cannot be used: /nonexistent/podman is not installed",
      ),
    });
    await expect(
      selectRuntime("apple", { log: () => {}, stateDir, platform: "linux" }),
    ).rejects.toMatchObject({
      code: "RUNTIME_UNAVAILABLE",
      message: expect.stringContaining("only on macOS"),
    });
    const logged: string[] = [];
    expect((await selectRuntime("local", { log: (m) => logged.push(m), stateDir })).name).toBe("local");
    expect(logged.at(-1)).toMatch(/^runtime: local \(LOOM_RUNTIME\) — local runtime: /);
  });
});
