import { describe, expect, it } from "vitest";
import { KeyedQueue } from "../../src/shared/keyed-queue.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("KeyedQueue", () => {
  it("runs one task at a time per key, after a failed one too, and keys side by side", async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const task =
      (name: string, fail = false) =>
      async () => {
        log.push(`${name} start`);
        await tick();
        log.push(`${name} end`);
        if (fail) throw new Error(name);
        return name;
      };
    const a1 = queue.run("a", task("a1", true));
    const a2 = queue.run("a", task("a2"));
    const b1 = queue.run("b", task("b1"));
    await expect(a1).rejects.toThrow("a1");
    expect(await a2).toBe("a2");
    expect(await b1).toBe("b1");
    expect(log.indexOf("a2 start")).toBeGreaterThan(log.indexOf("a1 end"));
    expect(log.indexOf("b1 start")).toBeLessThan(log.indexOf("a1 end"));
  });

  it("forgets a key once its tasks have settled", async () => {
    const queue = new KeyedQueue();
    await queue.run("x", async () => 1);
    await queue.run("y", async () => Promise.reject(new Error("no"))).catch(() => {});
    await tick();
    expect(queue.size).toBe(0);
  });
});
