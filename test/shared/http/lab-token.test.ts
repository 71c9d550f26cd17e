import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabServer, startLabServer } from "../../../lab-runtime/server.ts";
import { makeWorkspace } from "../../lab-runtime/workspace.ts";
import { errorOf, LAB_STATUS, raw } from "./servers.ts";

const TOKEN = "gen-7-3f9c2a1b";
let ws: Awaited<ReturnType<typeof makeWorkspace>>;
let lab: LabServer;

beforeAll(async () => {
  ws = await makeWorkspace({ "src/a.ts": "export const a = 20;\n" });
  lab = await startLabServer({ workspace: ws.root, port: 0, status: () => LAB_STATUS, token: TOKEN });
});
afterAll(async () => {
  await lab?.close();
  await ws?.remove();
});

const json = { "content-type": "application/json" };
const form = JSON.stringify({ form: 'import { a } from "./src/a.ts"; a + 1' });

describe("a Lab server with a token", () => {
  it("answers 401 to every route without the token or with a wrong one, naming LOOM_LAB_TOKEN", async () => {
    for (const authorization of [
      undefined,
      "Bearer wrong",
      `Bearer ${TOKEN}x`,
      TOKEN,
      `Basic ${TOKEN}`,
      "Bearer ",
    ]) {
      const headers = authorization === undefined ? {} : { authorization };
      const status = await raw(lab.url, { path: "/status", headers });
      expect(status.status, String(authorization)).toBe(401);
      expect(status.headers["www-authenticate"]).toBe("Bearer");
      expect(errorOf(status.text).message).toContain("LOOM_LAB_TOKEN");
      const ev = await raw(lab.url, {
        method: "POST",
        path: "/eval",
        headers: { ...json, ...headers },
        body: form,
      });
      expect(ev.status, String(authorization)).toBe(401);
    }
  });

  it("serves the Supervisor's requests: Authorization: Bearer <token>", async () => {
    const authorization = `Bearer ${TOKEN}`;
    const status = await raw(lab.url, { path: "/status", headers: { authorization } });
    expect(status.status).toBe(200);
    expect(JSON.parse(status.text)).toEqual(LAB_STATUS);
    const ev = await raw(lab.url, {
      method: "POST",
      path: "/eval",
      headers: { ...json, authorization },
      body: form,
    });
    expect(JSON.parse(ev.text)).toEqual({ status: "ok", value: 21 });
  });

  it("still refuses a foreign Host or Origin even with the token", async () => {
    const authorization = `Bearer ${TOKEN}`;
    const host = await raw(lab.url, {
      path: "/status",
      headers: { authorization, host: `rebind.example:${lab.port}` },
    });
    expect(host.status).toBe(403);
    const origin = await raw(lab.url, {
      path: "/status",
      headers: { authorization, origin: "http://evil.test" },
    });
    expect(origin.status).toBe(403);
  });
});

describe("LOOM_LAB_TOKEN", () => {
  it("is the default token; unset or empty, none is required; a token with spaces is refused at start", async () => {
    const saved = process.env.LOOM_LAB_TOKEN;
    try {
      process.env.LOOM_LAB_TOKEN = "from-env";
      const fromEnv = await startLabServer({ workspace: ws.root, port: 0, status: () => LAB_STATUS });
      expect((await raw(fromEnv.url, { path: "/status" })).status).toBe(401);
      expect(
        (await raw(fromEnv.url, { path: "/status", headers: { authorization: "Bearer from-env" } })).status,
      ).toBe(200);
      await fromEnv.close();
      process.env.LOOM_LAB_TOKEN = "";
      const open = await startLabServer({ workspace: ws.root, port: 0, status: () => LAB_STATUS });
      expect((await raw(open.url, { path: "/status" })).status).toBe(200);
      await open.close();
      process.env.LOOM_LAB_TOKEN = "two words";
      await expect(startLabServer({ workspace: ws.root, port: 0, status: () => LAB_STATUS })).rejects.toThrow(
        /LOOM_LAB_TOKEN \(value hidden, 9 characters\) is not valid: expected a token without spaces/,
      );
    } finally {
      if (saved === undefined) delete process.env.LOOM_LAB_TOKEN;
      else process.env.LOOM_LAB_TOKEN = saved;
    }
  });
});
