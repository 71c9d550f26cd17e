import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppleRuntime } from "../../../src/supervisor/runtime/apple.ts";
import { appleEnvFile, appleRunArgs, parseAppleInspect } from "../../../src/supervisor/runtime/apple-cli.ts";
import { parseHostRunSpec } from "../../../src/supervisor/runtime/runtime.ts";

// Samples follow the CLI's Codable output types (ContainerSnapshot, ContainerConfiguration, PublishPort):
// 0.x prints `status` as a string, later releases nest {state, networks}; both are covered.
const fixtures = fileURLToPath(new URL("./fixtures", import.meta.url));
const read = (name: string) => fs.readFile(path.join(fixtures, name), "utf8");

describe("apple CLI command lines", () => {
  it("maps a spec onto run flags, env through a file, published ports on loopback", () => {
    const spec = parseHostRunSpec(
      {
        image: "localhost/loom:main",
        command: ["node", "server.js"],
        env: { SECRET: "s3cret" },
        labels: { "loom.role": "lab" },
        workdir: "/workspace",
        network: "host",
        limits: { memoryMb: 2048, cpus: 1.5, pids: 100 },
      },
      {
        mounts: [
          { host: "/Users/dev/ws", container: "/workspace" },
          { host: "/Users/dev/schemas", container: "/schemas", readOnly: true },
        ],
        ports: [{ container: 8402 }],
      },
    );
    expect(appleRunArgs(spec, "loom-lab-7", "/tmp/env")).toEqual([
      "run",
      "--detach",
      "--name",
      "loom-lab-7",
      "--label",
      "loom.role=lab",
      "--env-file",
      "/tmp/env",
      "--workdir",
      "/workspace",
      "--mount",
      "type=bind,source=/Users/dev/ws,target=/workspace",
      "--mount",
      "type=bind,source=/Users/dev/schemas,target=/schemas,readonly",
      "--publish",
      "127.0.0.1:8402:8402",
      "--memory",
      "2048M",
      "--cpus",
      "2",
      "localhost/loom:main",
      "node",
      "server.js",
    ]);
    expect(
      appleRunArgs(parseHostRunSpec({ image: "i", command: ["x"], network: "loom-net" }), "n", undefined),
    ).toContain("loom-net");
  });

  it("refuses env values the env-file format cannot carry, and mount paths that break --mount", () => {
    expect(appleEnvFile({ A: "1", B: "x y=z" })).toBe("A=1\nB=x y=z\n");
    expect(() => appleEnvFile({ KEY: "line1\nline2" })).toThrow(/env KEY: .*newlines/);
    const spec = parseHostRunSpec(
      { image: "i", command: ["x"] },
      { mounts: [{ host: "/a,b", container: "/c" }] },
    );
    expect(() => appleRunArgs(spec, "n", undefined)).toThrow(
      expect.objectContaining({ code: "INVALID_SPEC" }),
    );
  });
});

describe("apple inspect parsing", () => {
  it("reads state, labels and the remapped host port from a 0.x sample", async () => {
    const [info] = parseAppleInspect(await read("apple-inspect-running.json"));
    expect(info).toEqual({
      id: "loom-lab-7",
      name: "loom-lab-7",
      state: "running",
      exitCode: undefined,
      oomKilled: false,
      labels: { "loom.role": "lab", "loom.generation": "7" },
      startedAt: undefined,
      endpoints: [{ containerPort: 8402, host: "127.0.0.1", port: 49160 }],
    });
  });

  it("reads the nested status shape, Swift reference-date and ISO start times, tcp ports only", async () => {
    const [stopped, running] = parseAppleInspect(await read("apple-list-nested-status.json"));
    expect(stopped?.state).toBe("exited");
    expect(stopped?.startedAt).toBe(new Date((785000000.5 + 978307200) * 1000).toISOString());
    expect(running?.state).toBe("running");
    expect(running?.startedAt).toBe("2025-11-20T10:00:00Z");
    expect(running?.endpoints).toEqual([{ containerPort: 8401, host: "127.0.0.1", port: 8401 }]);
  });

  it("fails BAD_ENGINE_OUTPUT naming the field when the shape is unexpected", () => {
    expect(() => parseAppleInspect("not json")).toThrow(
      expect.objectContaining({ code: "BAD_ENGINE_OUTPUT" }),
    );
    expect(() => parseAppleInspect('[{"status":"running","configuration":{}}]')).toThrow(
      /\[0\]\.configuration\.id/,
    );
  });
});

describe("AppleRuntime against a stand-in CLI", () => {
  let dir: string;
  let rt: AppleRuntime;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-apple-"));
    await fs.copyFile(path.join(fixtures, "apple-inspect-running.json"), path.join(dir, "inspect.json"));
    await fs.copyFile(path.join(fixtures, "apple-list-nested-status.json"), path.join(dir, "list.json"));
    process.env.FAKE_DIR = dir;
    rt = new AppleRuntime({ binary: path.join(fixtures, "fake-apple-container.sh"), platform: "darwin" });
  });
  afterAll(async () => {
    delete process.env.FAKE_DIR;
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("is unavailable off macOS, with the reason", async () => {
    const a = await new AppleRuntime({ platform: "linux" }).available();
    expect(a).toEqual({ ok: false, reason: expect.stringMatching(/only on macOS/) });
    expect(await rt.available()).toEqual({
      ok: true,
      warning: expect.stringMatching(/Labs are NOT network-contained.*LOOM_LAB_API_KEY/),
    });
  });

  it("run keeps env values off the command line, removes the env file, and reports the real host port", async () => {
    const h = await rt.runOnHost(
      {
        image: "localhost/loom:main",
        command: ["node"],
        name: "loom-lab-7",
        env: { SECRET: "s3cret" },
        limits: { pids: 10 },
      },
      { ports: [{ container: 8402 }] },
    );
    expect(h.endpoints).toEqual([{ containerPort: 8402, host: "127.0.0.1", port: 49160 }]);
    expect(h.warnings).toEqual(["pids limit not supported by the apple runtime"]);
    const calls = await fs.readFile(path.join(dir, "calls.log"), "utf8");
    expect(calls).not.toContain("s3cret");
    expect(await fs.readFile(path.join(dir, "env-file.txt"), "utf8")).toBe("SECRET=s3cret\n");
    const envFile = /--env-file (\S+)/.exec(calls)?.[1] as string;
    await expect(fs.stat(envFile)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a failed run is cleaned up and reported", async () => {
    await expect(rt.run({ image: "missing", command: ["x"], name: "loom-fail" })).rejects.toMatchObject({
      code: "ENGINE_FAILED",
      message: expect.stringContaining("image not found"),
    });
    expect(await fs.readFile(path.join(dir, "calls.log"), "utf8")).toContain("delete --force loom-fail");
  });

  it("list filters by label; inspect/stop/logs/remove map not-found", async () => {
    expect((await rt.list({ "loom.role": "lab" })).map((c) => c.id)).toEqual(["loom-lab-6"]);
    expect(await rt.inspect("nope")).toBeUndefined();
    await expect(rt.stop("nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(rt.remove("nope")).resolves.toBeUndefined();
    await rt.stop("loom-lab-7", { timeoutMs: 2_500 });
    expect(await fs.readFile(path.join(dir, "calls.log"), "utf8")).toContain("stop --time 3 loom-lab-7");
    expect(await rt.logs("loom-lab-7", { tail: 2 })).toBe("one\ntwo\n");
  });
});
