import { spawn } from "node:child_process";
import { once } from "node:events";
import { access, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../src/supervisor/lifecycle/free-port.ts";
import { pidFilePath, processState, readPidFile } from "../../../src/supervisor/registry/pid-file.ts";
import { probeRegistry } from "../../../src/supervisor/registry/registry-http.ts";
import {
  findRegistry,
  type RunningRegistry,
  reapRegistry,
  startRegistry,
} from "../../../src/supervisor/registry/registry-process.ts";
import { registryInstalled, testRegistryRoot } from "./registry-helpers.ts";

/** Loom's own registry as a process: it answers, it ends on every path, a restart finds or reaps it. */

const installed = registryInstalled();
if (!installed)
  console.warn("[registry] skipped: docker-registry is not installed (apt-get install docker-registry)");
const required = process.env.LOOM_REQUIRE_ENGINES === "1";
const CHILD = fileURLToPath(new URL("./fixtures/start-registry.ts", import.meta.url));

/** Gone: no live process (a zombie counts as gone) and nothing answering on its address. */
async function expectGone(pid: number, address: string): Promise<void> {
  expect(await processState(pid)).toBe("gone");
  expect((await probeRegistry(address, 500)).ok).toBe(false);
}

describe.skipIf(!installed && !required)("Loom's registry process", () => {
  let root: string;
  const started: RunningRegistry[] = [];
  const dirs: string[] = [];
  const dirFor = (name: string) => {
    const dir = path.join(root, name);
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    root = await testRegistryRoot();
  });
  afterAll(async () => {
    for (const r of started) await r.stop().catch(() => undefined);
    for (const dir of dirs) await reapRegistry(dir).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  it("starts on the port asked, answers GET /v2/ with no auth, and is gone after stop", async () => {
    const port = await freePort();
    const dir = dirFor("plain");
    const registry = await startRegistry({ dir, port });
    started.push(registry);
    expect(registry).toMatchObject({ address: `127.0.0.1:${port}`, adopted: false });
    const res = await fetch(`http://127.0.0.1:${port}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    expect(await readPidFile(dir)).toMatchObject({ pid: registry.pid, address: registry.address });
    const config = JSON.parse(await readFile(path.join(dir, "config.yml"), "utf8"));
    expect(config.storage.delete.enabled).toBe(false);
    expect(config.storage.filesystem.rootdirectory).toBe(path.join(dir, "data"));
    expect(config.auth).toBeUndefined();

    await registry.stop();
    await expectGone(registry.pid, registry.address);
    await expect(access(pidFilePath(dir))).rejects.toThrow();
    await registry.stop(); // idempotent
  });

  it("a registry left by a killed process is found again (same pid), and then stopped", async () => {
    const port = await freePort();
    const dir = dirFor("adopted");
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, String(port)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [line] = (await once(child.stdout, "data")) as [Buffer];
    const left = JSON.parse(line.toString()) as { pid: number; address: string };
    child.kill("SIGKILL");
    await once(child, "exit");
    // Detached by design: it outlives whoever started it, so the swarm can still pull.
    expect(await processState(left.pid)).toBe("running");

    const again = await startRegistry({ dir, port });
    started.push(again);
    expect(again).toMatchObject({ pid: left.pid, adopted: true, address: `127.0.0.1:${port}` });
    expect((await findRegistry(dir))?.pid).toBe(left.pid);
    await again.stop();
    await expectGone(left.pid, left.address);
    expect(await findRegistry(dir)).toBeUndefined();
  });

  it("a registry left by a killed process is reaped through its pid file", async () => {
    const port = await freePort();
    const dir = dirFor("reaped");
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, String(port)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [line] = (await once(child.stdout, "data")) as [Buffer];
    const left = JSON.parse(line.toString()) as { pid: number; address: string };
    child.kill("SIGKILL");
    await once(child, "exit");
    expect((await probeRegistry(left.address)).ok).toBe(true);

    expect(await reapRegistry(dir)).toBe(left.pid);
    await expectGone(left.pid, left.address);
    await expect(access(pidFilePath(dir))).rejects.toThrow();
    expect(await reapRegistry(dir)).toBeUndefined();
  });

  it("two starts of one folder at once run one registry, and the second finds the first's", async () => {
    const dir = dirFor("twice");
    const port = await freePort();
    const [a, b] = await Promise.all([startRegistry({ dir, port }), startRegistry({ dir, port })]);
    started.push(a, b);
    expect(a.pid).toBe(b.pid);
    expect([a.adopted, b.adopted].sort()).toEqual([false, true]);
    const running = await execa("pgrep", ["-f", `serve ${path.join(dir, "config.yml")}`], { reject: false });
    expect(running.stdout.trim().split("\n")).toEqual([String(a.pid)]);
    await a.stop();
    await expectGone(a.pid, a.address);
  });

  it("a start on another port ends the folder's old registry first", async () => {
    const dir = dirFor("moved");
    const first = await startRegistry({ dir, port: await freePort() });
    started.push(first);
    const second = await startRegistry({ dir, port: await freePort() });
    started.push(second);
    expect(second.pid).not.toBe(first.pid);
    expect(second.adopted).toBe(false);
    await expectGone(first.pid, first.address);
    expect((await probeRegistry(second.address)).ok).toBe(true);
    await second.stop();
    await expectGone(second.pid, second.address);
  });

  it("never signals a process a stale pid file names when it is not that folder's registry", async () => {
    const dir = dirFor("stale");
    const bystander = execa("sleep", ["30"]);
    try {
      const port = await freePort();
      const first = await startRegistry({ dir, port });
      started.push(first);
      await first.stop();
      // The pid file now names a live process that is not a registry (a pid reused since).
      const record = {
        version: 1,
        pid: bystander.pid,
        address: first.address,
        configPath: path.join(dir, "config.yml"),
        startedAt: new Date().toISOString(),
      };
      await writeFile(pidFilePath(dir), JSON.stringify(record));
      expect(await findRegistry(dir)).toBeUndefined();
      expect(await reapRegistry(dir)).toBeUndefined();
      expect(await processState(bystander.pid as number)).toBe("running");
      await expect(access(pidFilePath(dir))).rejects.toThrow();
    } finally {
      bystander.kill("SIGKILL");
      await bystander.catch(() => undefined);
    }
  });

  it("a port already taken fails with REGISTRY_START_FAILED naming LOOM_REGISTRY_PORT, and leaves no process", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const dir = dirFor("taken");
    try {
      const err = await startRegistry({ dir, port }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: "REGISTRY_START_FAILED" });
      const message = (err as Error).message;
      expect(message).toContain(`127.0.0.1:${port}`);
      expect(message).toContain("address already in use");
      expect(message).toContain("LOOM_REGISTRY_PORT");
      expect(await readPidFile(dir)).toBeUndefined();
      const left = await execa("pgrep", ["-f", `serve ${path.join(dir, "config.yml")}`], { reject: false });
      expect(left.stdout.trim()).toBe("");
    } finally {
      server.close();
    }
  });

  it("a registry that never answers is ended at the timeout, with its pid file", async () => {
    const dir = dirFor("hangs");
    // Stands in for a registry that hangs before it listens.
    const hang = path.join(root, "hanging-registry.sh");
    await writeFile(hang, "#!/bin/sh\nwhile :; do sleep 1; done\n", { mode: 0o755 });
    const err = await startRegistry({ dir, port: await freePort(), bin: hang, readyTimeoutMs: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "REGISTRY_START_FAILED" });
    expect((err as Error).message).toContain("did not answer GET http://127.0.0.1:");
    const left = await execa("pgrep", ["-f", hang], { reject: false });
    expect(left.stdout.trim()).toBe("");
    expect(await readPidFile(dir)).toBeUndefined();
  });

  it("without docker-registry it says how to install it or where to point LOOM_REGISTRY", async () => {
    const err = await startRegistry({
      dir: dirFor("missing"),
      port: await freePort(),
      bin: "/nonexistent/docker-registry",
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "REGISTRY_NOT_INSTALLED" });
    expect((err as Error).message).toMatch(/apt-get install docker-registry.*LOOM_REGISTRY/);
  });
});
