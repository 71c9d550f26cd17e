import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { processState } from "../../../src/supervisor/registry/pid-file.ts";
import { reapRegistry } from "../../../src/supervisor/registry/registry-process.ts";

/** Every registry folder the registry tests make lives here, so a run reaps what a killed run left. */
export const TEST_REGISTRY_ROOT = path.join(os.tmpdir(), "loom-registry-tests");

export function registryInstalled(): boolean {
  try {
    execFileSync("docker-registry", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function dockerAnswers(): boolean {
  try {
    execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], {
      stdio: "ignore",
      timeout: 20_000,
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * This test process's folder for registry folders, `<root>/<pid>-<random>`; first ends the registries
 * that runs whose process is gone left behind (their pid files) and removes their folders.
 */
export async function testRegistryRoot(): Promise<string> {
  await mkdir(TEST_REGISTRY_ROOT, { recursive: true });
  for (const run of await readdir(TEST_REGISTRY_ROOT)) {
    const owner = Number(run.split("-")[0]);
    if (Number.isInteger(owner) && owner > 0 && (await processState(owner)) === "running") continue;
    const runDir = path.join(TEST_REGISTRY_ROOT, run);
    for (const dir of await readdir(runDir).catch(() => [])) {
      await reapRegistry(path.join(runDir, dir)).catch(() => undefined);
    }
    await rm(runDir, { recursive: true, force: true });
  }
  return mkdtemp(path.join(TEST_REGISTRY_ROOT, `${process.pid}-${randomBytes(3).toString("hex")}`));
}
