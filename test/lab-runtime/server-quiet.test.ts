import { afterEach, describe, expect, it } from "vitest";
import { type LabServer, startLabServer } from "../../lab-runtime/server.ts";
import type { LabStatus } from "../../schemas/index.ts";
import { makeWorkspace } from "./workspace.ts";

const status: LabStatus = { status: "starting", progress: "starting", error: null, toolCalls: {} };
const open: { server: LabServer; ws: Awaited<ReturnType<typeof makeWorkspace>> }[] = [];
afterEach(async () => {
  for (const { server, ws } of open.splice(0)) {
    await server.close();
    await ws.remove();
  }
});

async function start(quietMs: number, current: () => LabStatus = () => status): Promise<LabServer> {
  const ws = await makeWorkspace({ "src/a.ts": "export const a = 1;\n" });
  const server = await startLabServer({ workspace: ws.root, port: 0, status: current, quietMs });
  open.push({ server, ws });
  return server;
}

/** Whether `p` settles within `ms`. */
const settlesWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe("Lab server quiet (when heavy loading may start)", () => {
  it("waits for the first GET /status to be answered, not for other requests", async () => {
    const server = await start(60_000);
    expect(await settlesWithin(server.quiet, 200)).toBe(false);
    expect((await fetch(`${server.url}/nowhere`)).status).toBe(404);
    expect(await settlesWithin(server.quiet, 200)).toBe(false);
    const res = await fetch(`${server.url}/status`);
    expect(await res.json()).toEqual(status);
    expect(await settlesWithin(server.quiet, 2000)).toBe(true);
  });

  it("does not count a /status it could not answer (an invalid status is a 500)", async () => {
    let current: LabStatus = { ...status, status: "nonsense" as LabStatus["status"] };
    const server = await start(60_000, () => current);
    expect((await fetch(`${server.url}/status`)).status).toBe(500);
    expect(await settlesWithin(server.quiet, 200)).toBe(false);
    current = status;
    expect((await fetch(`${server.url}/status`)).status).toBe(200);
    expect(await settlesWithin(server.quiet, 2000)).toBe(true);
  });

  it("goes ahead after quietMs when nobody asks", async () => {
    const server = await start(100);
    expect(await settlesWithin(server.quiet, 5000)).toBe(true);
  });

  it("still evaluates forms once quiet (the eval engine warms up then)", async () => {
    const server = await start(60_000);
    await fetch(`${server.url}/status`);
    await server.quiet;
    const res = await fetch(`${server.url}/eval`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ form: 'import { a } from "./src/a.ts"; a + 1' }),
    });
    expect(await res.json()).toEqual({ status: "ok", value: 2 });
  });
});
