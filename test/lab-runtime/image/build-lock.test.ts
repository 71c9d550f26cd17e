import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { withBuildLock } from "../../../lab-runtime/image/build-lock.ts";

let tmp: string;
let lockDir: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "loom-lock-"));
  lockDir = path.join(tmp, "image/lock");
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe("withBuildLock", () => {
  it("runs one holder at a time and releases the lock after a failure", async () => {
    const order: string[] = [];
    const log = () => {};
    const hold = (name: string) =>
      withBuildLock(lockDir, { timeoutMs: 10_000, pollMs: 20, log }, async () => {
        order.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 100));
        order.push(`${name} out`);
        if (name === "a") throw new Error("build a failed");
      });
    // a takes the lock first (b starts once a is inside), so b can only get in after a's failure.
    const a = hold("a");
    while (!order.includes("a in")) await new Promise((r) => setTimeout(r, 5));
    const results = await Promise.allSettled([a, hold("b")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
    expect(order).toEqual(["a in", "a out", "b in", "b out"]);
    await expect(fs.stat(lockDir)).rejects.toThrow();
  });

  it("takes over a lock whose holder has exited", async () => {
    // A real process that has certainly exited: its pid is free (or at least not ours to wait on).
    const child = spawn(process.execPath, ["-e", ""]);
    const pid = child.pid as number;
    await new Promise((r) => child.on("exit", r));
    await fs.mkdir(lockDir, { recursive: true });
    await fs.writeFile(path.join(lockDir, "pid"), String(pid));
    const lines: string[] = [];
    const got = await withBuildLock(
      lockDir,
      { timeoutMs: 5000, log: (l) => lines.push(l) },
      async () => "ran",
    );
    expect(got).toBe("ran");
    expect(lines.join("\n")).toContain(`left by process ${pid}, which has exited`);
  });

  it("gives up on a live holder after the timeout, naming it and the lock", async () => {
    await fs.mkdir(lockDir, { recursive: true });
    await fs.writeFile(path.join(lockDir, "pid"), String(process.pid));
    let ran = false;
    await expect(
      withBuildLock(lockDir, { timeoutMs: 200, pollMs: 20, log: () => {} }, async () => {
        ran = true;
      }),
    ).rejects.toMatchObject({
      code: "IMAGE_BUILD_LOCKED",
      message: expect.stringContaining(`another image build (process ${process.pid}) has held ${lockDir}`),
    });
    expect(ran).toBe(false);
    expect(await fs.readFile(path.join(lockDir, "pid"), "utf8")).toBe(String(process.pid));
  });
});
