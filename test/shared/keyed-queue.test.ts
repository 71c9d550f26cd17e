import { describe, expect, it } from "vitest";
import { KeyedQueue, SingleFlight } from "../../src/shared/keyed-queue.ts";

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

describe("SingleFlight", () => {
  it("gives callers of a key the run in flight, runs other keys side by side, and runs afresh after a failure", async () => {
    const flight = new SingleFlight<string>();
    let runs = 0;
    const task =
      (name: string, fail = false) =>
      async () => {
        runs++;
        await tick();
        if (fail) throw new Error(name);
        return `${name} #${runs}`;
      };
    const first = flight.run("a", task("a", true));
    const second = flight.run("a", task("a-other"));
    const other = flight.run("b", task("b"));
    expect(second).toBe(first);
    expect(flight.size).toBe(2);
    await expect(first).rejects.toThrow("a");
    await expect(second).rejects.toThrow("a");
    expect(await other).toBe("b #2");
    expect(runs).toBe(2);
    // The failure is not remembered: the key runs again.
    expect(await flight.run("a", task("again"))).toBe("again #3");
    expect(flight.size).toBe(0);
  });
});
