import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Prime } from "../../src/prime/start-prime.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { primeConfig, startTestPrime, tempDir } from "./prime-helpers.ts";

let model: ScriptedModelServer;
let prime: Prime;
let root: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  root = await tempDir("loom-prime-csp-");
  const repo = path.join(root.dir, "repo");
  await mkdir(repo, { recursive: true });
  model = await startScriptedModel([]);
  prime = await startTestPrime({ config: primeConfig(model), repo, stateDir: path.join(root.dir, "state") });
}, 30_000);
afterAll(async () => {
  await prime?.close();
  await model?.close();
  await root?.cleanup();
});

// Prime's chat page is sent as the Supervisor's pages are: one sendHtml for every server's HTML.
it("sends Prime's chat page with a nonce CSP its one script carries, fresh per page", async () => {
  const nonces: string[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${prime.url}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    const html = await res.text();
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    expect(scripts).toEqual([` nonce="${nonce}"`]);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    nonces.push(nonce as string);
  }
  expect(nonces[0]).not.toBe(nonces[1]);
});
