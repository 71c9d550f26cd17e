import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { browserSuite, CHROMIUM } from "../../browser/browser.ts";
import { startThreeServers, type ThreeServers } from "./servers.ts";

/**
 * A real Chromium visiting an attacker's page, while the three servers run on loopback:
 * - a page on another loopback origin posts a text/plain form and no-cors fetches (no preflight) to the
 *   Lab's /eval, the Supervisor's /spawn and Prime's /chat;
 * - a page on a name that resolves to 127.0.0.1 (DNS rebinding, simulated with a resolver rule) reads
 *   and posts "same-origin".
 * Every one of these must be refused and nothing must run: no marker file, no generation, no chat turn.
 */
let s: ThreeServers;
let attacker: http.Server;
let attackerUrl: string;
let browser: Browser;
let attackPage = "";

const REBIND = "rebind.test";

function evalForm(marker: string): string {
  return `(await import("node:child_process")).execSync("id > ${marker}").length`;
}

/** The form's fields as text/plain sends them, `name=value`: the `=` lands in a trailing comment. */
function textPlainEvalPage(s: ThreeServers): string {
  const formMarker = path.join(s.labWorkspace, "pwned-form.txt");
  const fetchMarker = path.join(s.labWorkspace, "pwned-fetch.txt");
  const fieldName = `{"form":${JSON.stringify(`${evalForm(formMarker)}//`).slice(0, -1)}`;
  return `<!doctype html><html><body><iframe name="sink"></iframe><script>
    const lab = ${JSON.stringify(s.lab.url)}, sup = ${JSON.stringify(s.sup.url)}, prime = ${JSON.stringify(s.prime.url)};
    const form = document.createElement("form");
    form.method = "POST"; form.action = lab + "/eval"; form.enctype = "text/plain"; form.target = "sink";
    const field = document.createElement("input");
    field.name = ${JSON.stringify(fieldName)}; field.value = '"}';
    form.appendChild(field); document.body.appendChild(form); form.submit();
    Promise.allSettled([
      fetch(lab + "/eval", { method: "POST", mode: "no-cors", body: JSON.stringify({ form: ${JSON.stringify(evalForm(fetchMarker))} }) }),
      fetch(sup + "/spawn", { method: "POST", mode: "no-cors", body: JSON.stringify({ program: "# Task: pwned\\n" }) }),
      fetch(prime + "/chat", { method: "POST", mode: "no-cors", body: JSON.stringify({ message: "pwned" }) }),
    ]).then(() => { document.title = "sent"; });
  </script></body></html>`;
}

/** Records the status of every answer a route gave the page (the page itself cannot read them). */
function statusesOf(page: Page): Map<string, number[]> {
  const seen = new Map<string, number[]>();
  page.on("response", (r) => {
    const u = new URL(r.url());
    const key = `${u.port} ${r.request().method()} ${u.pathname}`;
    seen.set(key, [...(seen.get(key) ?? []), r.status()]);
  });
  return seen;
}

browserSuite("foreign pages in chromium cannot drive the servers", () => {
  beforeAll(async () => {
    s = await startThreeServers();
    attacker = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(attackPage);
    });
    await new Promise<void>((ok) => attacker.listen(0, "127.0.0.1", ok));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // DNS rebinding: the attacker's name now resolves to loopback.
        `--host-resolver-rules=MAP ${REBIND} 127.0.0.1`,
        // The servers must hold without the browser's own private-network checks (not every browser has them).
        "--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,LocalNetworkAccessChecks",
      ],
    });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((ok) => (attacker ? attacker.close(() => ok()) : ok()));
    await s?.close();
  });

  it("refuses a text/plain form and no-cors fetches from another loopback origin; nothing runs", async () => {
    attackPage = textPlainEvalPage(s);
    const page = await browser.newPage();
    const seen = statusesOf(page);
    await page.goto(attackerUrl);
    await page.waitForFunction('document.title === "sent"', undefined, { timeout: 20_000 });
    await expect.poll(() => seen.get(`${s.lab.port} POST /eval`)?.length ?? 0, { timeout: 10_000 }).toBe(2);
    // Every request reached its server, and every one was refused.
    expect(seen.get(`${s.lab.port} POST /eval`)).toEqual([403, 403]);
    expect(seen.get(`${s.sup.port} POST /spawn`)).toEqual([403]);
    expect(seen.get(`${s.prime.port} POST /chat`)).toEqual([403]);
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(path.join(s.labWorkspace, "pwned-form.txt"))).toBe(false);
    expect(existsSync(path.join(s.labWorkspace, "pwned-fetch.txt"))).toBe(false);
    expect(await (await fetch(`${s.sup.url}/generations`)).json()).toEqual([]);
    expect(((await (await fetch(`${s.prime.url}/chat`)).json()) as { messages: unknown[] }).messages).toEqual(
      [],
    );
    await page.close();
  }, 60_000);

  it("refuses a DNS-rebinding page: it can neither read nor post, though the browser calls it same-origin", async () => {
    const marker = path.join(s.labWorkspace, "pwned-rebind.txt");
    const results: Record<string, { status: number; text: string }> = {};
    for (const [server, port, reads, post] of [
      ["lab", s.lab.port, "/status", { path: "/eval", body: { form: evalForm(marker) } }],
      ["sup", s.sup.port, "/stats", { path: "/spawn", body: { program: "# Task: pwned\n" } }],
      ["prime", s.prime.port, "/stats", { path: "/chat", body: { message: "pwned" } }],
    ] as const) {
      const page = await browser.newPage();
      const origin = `http://${REBIND}:${port}`;
      // The attacker's page, as first served under its own name (before the name moved to 127.0.0.1).
      await page.route(`${origin}/`, (route) =>
        route.fulfill({
          status: 200,
          contentType: "text/html",
          body: "<!doctype html><title>rebind</title>",
        }),
      );
      await page.goto(`${origin}/`);
      const answers = await page.evaluate(
        async ({ reads, post }) => {
          const read = await fetch(reads);
          const sent = await fetch(post.path, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(post.body),
          });
          return [
            { status: read.status, text: await read.text() },
            { status: sent.status, text: await sent.text() },
          ];
        },
        { reads, post },
      );
      results[`${server} GET ${reads}`] = answers[0] as { status: number; text: string };
      results[`${server} POST ${post.path}`] = answers[1] as { status: number; text: string };
      await page.close();
    }
    for (const [what, answer] of Object.entries(results)) {
      expect(answer.status, `${what}: ${answer.text}`).toBe(403);
      expect(answer.text, what).toContain(`Host \\"${REBIND}:`);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(marker)).toBe(false);
    expect(await (await fetch(`${s.sup.url}/generations`)).json()).toEqual([]);
  }, 60_000);
});
