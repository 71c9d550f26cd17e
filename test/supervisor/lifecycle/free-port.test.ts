import { readFileSync } from "node:fs";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { freePort } from "../../../src/supervisor/lifecycle/free-port.ts";

const range = (() => {
  try {
    return readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  } catch {
    return undefined;
  }
})();

describe("freePort", () => {
  it.skipIf(range === undefined)(
    "draws below the kernel's ephemeral range, so no port-0 socket can take it meanwhile",
    async () => {
      const [low] = range ?? [];
      const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
      for (const port of ports) {
        expect(port).toBeGreaterThanOrEqual(20_000);
        expect(port).toBeLessThan(low ?? 0);
      }
      // Sockets the kernel numbers itself land in the ephemeral range: the two never meet.
      const server = net.createServer();
      await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
      const { port } = server.address() as net.AddressInfo;
      await new Promise((ok) => server.close(ok));
      expect(port).toBeGreaterThanOrEqual(low ?? 0);
    },
  );

  it("returns a port that can be listened on, and never one already handed out", async () => {
    const first = await freePort();
    const taken = new Set([first]);
    for (let i = 0; i < 20; i++) {
      const next = await freePort(taken);
      expect(taken.has(next)).toBe(false);
      taken.add(next);
    }
    const server = net.createServer();
    await new Promise<void>((ok, fail) => server.once("error", fail).listen(first, "127.0.0.1", ok));
    await new Promise((ok) => server.close(ok));
  });

  it("skips a port something listens on", async () => {
    const held = await freePort();
    const server = net.createServer();
    await new Promise<void>((ok) => server.listen(held, "127.0.0.1", ok));
    try {
      for (let i = 0; i < 20; i++) expect(await freePort()).not.toBe(held);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });
});
