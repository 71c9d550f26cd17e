import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { processState } from "../../../src/supervisor/registry/pid-file.ts";

/** processState: what "gone" means for a process Loom ended (exited, a zombie, or reaped). */
describe("processState", () => {
  it("is running for a live process and gone once it exited and was reaped", async () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
    const pid = child.pid as number;
    expect(await processState(pid)).toBe("running");
    child.kill("SIGKILL");
    await once(child, "exit");
    expect(await processState(pid)).toBe("gone");
  });

  it("is gone when kill(0) still answered but the procfs entry vanished before it was read (reaped in between)", async () => {
    // The race a loaded machine hits: the parent reaps the zombie between the two looks.
    expect(await processState(process.pid, async () => "missing")).toBe("gone");
    // Without procfs, kill(0) is all there is to go by.
    expect(await processState(process.pid, async () => "no-procfs")).toBe("running");
  });

  it("reads a zombie's state from procfs as gone", async () => {
    const stat = (state: string) => async () => `123 (docker-registry) ${state} 1 123 123 0 -1`;
    expect(await processState(process.pid, stat("Z"))).toBe("gone");
    expect(await processState(process.pid, stat("S"))).toBe("running");
  });
});
