import { rm } from "node:fs/promises";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { loom } from "../helpers/cli.ts";

const kept: string[] = [];
afterEach(async () => {
  await Promise.all(kept.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("loom demo --keep", () => {
  it("prints the kept folder and commands that inspect it, and those commands work", async () => {
    const demo = await loom(["demo", "--keep"], { env: { LOOM_RUNTIME: "local" }, timeoutMs: 240_000 });
    const folder = demo.stdout.match(/^kept: (\S+)$/m)?.[1];
    if (folder) kept.push(folder);
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    expect(folder).toBeDefined();
    // The printed command, run as printed: the Supervisor's records of the demo's generation.
    const stateDir = demo.stdout.match(/LOOM_STATE_DIR=(\S+) loom generations$/m)?.[1];
    expect(stateDir).toBe(`${folder}/state`);
    const generations = await loom(["generations"], { env: { LOOM_STATE_DIR: stateDir! } });
    expect(generations.code).toBe(0);
    expect(generations.stdout).toMatch(/^1\s+promoted/m);
    const gitLine = demo.stdout.match(/(git -C \S+ log .*)$/m)?.[1];
    expect(gitLine).toBeDefined();
    const log = await execa(gitLine!, { shell: true, stdin: "ignore" });
    expect(log.stdout).toMatch(/Promote gen-1/);
  }, 300_000);
});
