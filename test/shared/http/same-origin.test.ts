import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, raw, startThreeServers, type ThreeServers } from "./servers.ts";

let s: ThreeServers;
beforeAll(async () => {
  s = await startThreeServers();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

interface Target {
  readonly name: string;
  url(): string;
  readonly read: string;
  readonly stream?: string;
  readonly post: string;
  /** A JSON body the route refuses as invalid (400), which proves the content type was accepted. */
  readonly invalidBody: string;
}
const targets: Target[] = [
  { name: "Lab", url: () => s.lab.url, read: "/status", post: "/eval", invalidBody: "{}" },
  {
    name: "Supervisor",
    url: () => s.sup.url,
    read: "/stats",
    stream: "/logs",
    post: "/spawn",
    invalidBody: "{}",
  },
  {
    name: "Prime",
    url: () => s.prime.url,
    read: "/stats",
    stream: "/logs",
    post: "/chat",
    invalidBody: "{}",
  },
];
const port = (url: string) => new URL(url).port;

describe.each(targets)("$name refuses requests a foreign page can make", (t) => {
  it("403 for a Host that is not an address it serves (DNS rebinding), on reads and streams too", async () => {
    const p = port(t.url());
    for (const host of [`rebind.example:${p}`, `127.0.0.1:1`, `localhost.evil.test:${p}`, "127.0.0.1"]) {
      for (const route of [t.read, ...(t.stream ? [t.stream] : [])]) {
        const r = await raw(t.url(), { path: route, headers: { host } });
        expect(r.status, `${host} ${route}: ${r.text}`).toBe(403);
        expect(r.headers["content-type"]).toMatch(/^application\/json/);
        expect(errorOf(r.text).message).toContain(`Host ${JSON.stringify(host)} is not an address`);
        if (errorOf(r.text).code !== undefined) expect(errorOf(r.text).code).toBe("HOST_NOT_ALLOWED");
      }
    }
    const post = await raw(t.url(), {
      method: "POST",
      path: t.post,
      headers: { host: `rebind.example:${p}`, "content-type": "application/json" },
      body: t.invalidBody,
    });
    expect(post.status).toBe(403);
    for (const host of [`127.0.0.1:${p}`, `localhost:${p}`, `LOCALHOST:${p}`, `[::1]:${p}`]) {
      expect((await raw(t.url(), { path: t.read, headers: { host } })).status, host).toBe(200);
    }
  });

  it("403 for an Origin other than its own (null included) and for Sec-Fetch-Site cross-site or same-site", async () => {
    const own = `http://127.0.0.1:${port(t.url())}`;
    for (const origin of [
      "http://127.0.0.1:1",
      "http://evil.test",
      "null",
      `https://127.0.0.1:${port(t.url())}`,
    ]) {
      for (const [method, route, extra] of [
        ["GET", t.read, {}],
        ["POST", t.post, { "content-type": "application/json" }],
      ] as const) {
        const r = await raw(t.url(), {
          method,
          path: route,
          headers: { origin, ...extra },
          ...(method === "POST" ? { body: t.invalidBody } : {}),
        });
        expect(r.status, `${origin} ${method} ${route}: ${r.text}`).toBe(403);
        expect(errorOf(r.text).message).toContain(`Origin ${JSON.stringify(origin)} is not`);
      }
    }
    // Its own pages send their own origin and pass.
    expect((await raw(t.url(), { path: t.read, headers: { origin: own } })).status).toBe(200);
    for (const site of ["cross-site", "same-site"]) {
      const r = await raw(t.url(), {
        path: t.read,
        headers: { "sec-fetch-site": site, "sec-fetch-mode": "no-cors", "sec-fetch-dest": "script" },
      });
      expect(r.status, r.text).toBe(403);
      expect(errorOf(r.text).message).toContain(`Sec-Fetch-Site: ${site}`);
      // A top-level navigation shows the answer to the person; the linking page reads nothing.
      const nav = await raw(t.url(), {
        path: t.read,
        headers: { "sec-fetch-site": site, "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" },
      });
      expect(nav.status).toBe(200);
      const framed = await raw(t.url(), {
        path: t.read,
        headers: { "sec-fetch-site": site, "sec-fetch-mode": "navigate", "sec-fetch-dest": "iframe" },
      });
      expect(framed.status).toBe(403);
    }
    for (const site of ["same-origin", "none"]) {
      expect((await raw(t.url(), { path: t.read, headers: { "sec-fetch-site": site } })).status).toBe(200);
    }
  });

  it("415 for a POST body that is not declared application/json, naming what came and what is accepted", async () => {
    for (const type of [
      "text/plain",
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
      "text/json",
      undefined,
    ]) {
      const r = await raw(t.url(), {
        method: "POST",
        path: t.post,
        headers: type === undefined ? {} : { "content-type": type },
        body: t.invalidBody,
      });
      expect(r.status, `${type}: ${r.text}`).toBe(415);
      const { code, message } = errorOf(r.text);
      if (code !== undefined) expect(code).toBe("UNSUPPORTED_MEDIA_TYPE");
      expect(message).toContain("Content-Type: application/json");
      expect(message).toContain(type === undefined ? "no Content-Type" : JSON.stringify(type));
    }
    for (const type of [
      "application/json",
      "application/json; charset=utf-8",
      "Application/JSON;charset=UTF-8",
    ]) {
      const r = await raw(t.url(), {
        method: "POST",
        path: t.post,
        headers: { "content-type": type },
        body: t.invalidBody,
      });
      expect(r.status, `${type}: ${r.text}`).toBe(400);
    }
  });
});

describe("nothing ran for a refused request", () => {
  it("a text/plain eval form writes no file; a text/plain spawn creates no generation", async () => {
    const marker = path.join(s.labWorkspace, "pwned.txt");
    const form = `(await import("node:child_process")).execSync("id > ${marker}")`;
    const r = await raw(s.lab.url, {
      method: "POST",
      path: "/eval",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ form }),
    });
    expect(r.status).toBe(415);
    const spawn = await raw(s.sup.url, {
      method: "POST",
      path: "/spawn",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ program: "# Task: anything\n" }),
    });
    expect(spawn.status).toBe(415);
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);
    expect(JSON.parse((await raw(s.sup.url, { path: "/generations" })).text)).toEqual([]);
  });
});
