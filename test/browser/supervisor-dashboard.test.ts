import { createHash } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GenerationRecord } from "../../schemas/index.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { type Fixture, git, makeFixture } from "../supervisor/lifecycle-fixture.ts";
import { type Browser, browserSuite, launchBrowser, screenshot } from "./browser.ts";
import { failedVerification, passedVerification } from "./verification-fixture.ts";

const TOKEN = "tok-never-in-pages-7f3a";
// Untrusted text everywhere a page shows it: program.md, a file in the diff, a reason, test output.
const PROGRAM =
  '# Task: add greet <img src=x onerror="window.__xss=1">\n\nAdd src/greet.ts exporting greet(name).\n';
const GREET =
  'export const banner = "</pre><script>window.__xss=2</script>";\n\nexport function greet(name: string): string {\n  return "hi " + name;\n}\n';

let fx: Fixture;
let sup: Supervisor;
let store: GenerationStore;
let browser: Browser;

browserSuite("Supervisor pages in chromium", () => {
  beforeAll(async () => {
    fx = await makeFixture([
      { tool: "write_file", input: { path: "src/greet.ts", content: GREET } },
      { tool: "bash", input: { command: "ls src" } },
      // The Lab's last model call takes a while, so the page must show its tool calls before it ends.
      { fault: "slow", delayMs: 5000, text: "added greet" },
    ]);
    const config = fx.config({ LOOM_PROMOTE: "manual", LOOM_SUPERVISOR_TOKEN: TOKEN });
    sup = await startSupervisor({ config, port: 0, log: () => {}, pollMs: 100 });
    store = await GenerationStore.open(config.stateDir);
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await sup?.close();
    await fx?.cleanup();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${sup.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const record = async (n: number) =>
    GenerationRecord.parse(await (await fetch(`${sup.url}/generations/${n}`)).json());
  const noXss = async (page: Page) =>
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();

  it("streams the running Lab's tool calls over SSE while the generation runs, then updates the lineage", async () => {
    const { page, problems } = await browser.page();
    await page.goto(sup.url);
    await page.waitForSelector("#conn.live");
    expect(await page.locator("#lineage-empty").count()).toBe(1);

    const spawned = await post("/spawn", { program: PROGRAM });
    expect(spawned.status).toBe(202);

    await page.waitForSelector('#feed li.ev-lab_tool[data-tool="write_file"]', { timeout: 45_000 });
    // Seen while the Lab still works: the record says running at this moment.
    expect((await record(1)).outcome).toBe("running");
    // The generation's own page follows it live too, and reloads itself when its outcome changes.
    const own = await browser.page();
    await own.page.goto(`${sup.url}/generations/1`);
    await expect
      .poll(() => own.page.locator("#live-line").textContent(), { timeout: 20_000 })
      .toMatch(/Lab running|tool /);
    await screenshot(own.page, "generation-running");
    await page.waitForSelector('#live-tools .chip[data-tool="bash"]', { timeout: 20_000 });
    expect(await page.locator("#live-state").textContent()).toMatch(/Lab (running|starting)/);
    expect(await page.locator('#feed li.ev-generation[data-outcome="running"]').count()).toBe(1);
    await screenshot(page, "dashboard-live");

    // The lineage and chart refresh by themselves when the generation's outcome changes.
    await page.waitForSelector('#lineage tr[data-generation="1"][data-outcome="verifying"]', {
      timeout: 45_000,
    });
    expect((await record(1)).outcome).toBe("verifying");
    expect(await page.locator('#chart-svg rect.bar[data-generation="1"]').count()).toBe(1);
    expect(await page.locator('#feed li.ev-generation[data-outcome="verifying"]').count()).toBe(1);
    // Not verified yet: Promote is there but refused; Roll back is offered.
    expect(await page.locator('button[data-action="promote"][data-generation="1"]').isDisabled()).toBe(true);
    expect(await page.locator('button[data-action="rollback"][data-generation="1"]').isEnabled()).toBe(true);
    await own.page.waitForSelector("#outcome.o-verifying", { timeout: 20_000 });
    expect(await own.page.locator("#live-line").count()).toBe(0);
    expect(own.problems).toEqual([]);
    await own.page.close();
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it("shows a generation's program.md, diff and declaration summary as text, and keeps JSON for API clients", async () => {
    const { page, problems } = await browser.page();
    const res = await page.goto(`${sup.url}/generations/1`);
    expect(res?.headers()["content-type"]).toMatch(/^text\/html/);
    await page.waitForSelector("#program pre");
    await page.waitForSelector("#diff-view");
    expect(await page.locator("#program pre").textContent()).toContain(
      '<img src=x onerror="window.__xss=1">',
    );
    expect(await page.locator("#diff-view").textContent()).toContain("<script>window.__xss=2</script>");
    expect(await page.locator("#diff-view span.add").count()).toBeGreaterThan(3);
    expect(await page.locator("#diff").textContent()).toContain("src/greet.ts");
    // Nothing from the untrusted text became markup.
    expect(await page.locator("#program img, #diff img, #diff script, #program script").count()).toBe(0);
    await noXss(page);
    expect(await page.locator("#cost").textContent()).toMatch(/total/);
    expect(await page.locator("#verification-none").count()).toBe(1);
    await screenshot(page, "generation-diff");
    expect(problems).toEqual([]);
    await page.close();

    // The same URL answers JSON to anything that does not ask for HTML.
    for (const accept of [undefined, "application/json", "*/*"]) {
      const r = await fetch(`${sup.url}/generations/1`, accept ? { headers: { accept } } : {});
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(GenerationRecord.parse(await r.json()).generation).toBe(1);
    }
    const missing = await fetch(`${sup.url}/generations/99`);
    expect(missing.status).toBe(404);
    const missingPage = await fetch(`${sup.url}/generations/99`, { headers: { accept: "text/html" } });
    expect(missingPage.status).toBe(404);
    expect(await missingPage.text()).toContain("Generation 99 does not exist");
  }, 60_000);

  it("promotes from the button once verification passed, asking for the token the page never holds", async () => {
    const base = await git(fx.repo, ["rev-parse", "main"]);
    const head = await git(fx.repo, ["rev-parse", "lab/gen-1"]);
    await store.update(1, { verification: passedVerification(head, base), fitness: 0.72 });
    for (const path of ["/", "/generations/1"]) {
      const text = await (await fetch(`${sup.url}${path}`, { headers: { accept: "text/html" } })).text();
      expect(text).not.toContain(TOKEN);
    }

    const { page, problems } = await browser.page();
    await page.goto(`${sup.url}/generations/1`);
    expect(await page.locator("#verification-result").textContent()).toMatch(/Verification passed/);
    const promote = page.locator('button[data-action="promote"][data-generation="1"]');
    expect(await promote.isEnabled()).toBe(true);
    // Without the token the page asks for it and sends nothing.
    await promote.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#notice").textContent()).toMatch(/Supervisor token/);
    expect(await page.evaluate("document.activeElement && document.activeElement.id")).toBe("token-input");
    expect(await git(fx.repo, ["rev-parse", "main"])).toBe(base);

    await page.fill("#token-input", TOKEN);
    page.once("dialog", (d) => void d.accept());
    await promote.click();
    await expect.poll(() => page.locator("#notice").textContent(), { timeout: 20_000 }).toMatch(/promoted/);
    const main = await git(fx.repo, ["rev-parse", "main"]);
    expect(main).not.toBe(base);
    expect(await page.locator("#notice").textContent()).toContain(main.slice(0, 12));
    expect(await git(fx.repo, ["tag", "--list", "gen-1"])).toBe("gen-1");
    expect(await git(fx.repo, ["rev-parse", "gen-1^{commit}"])).toBe(main);
    await git(fx.repo, ["merge-base", "--is-ancestor", head, "main"]);
    expect((await record(1)).outcome).toBe("promoted");
    await page.waitForSelector("#outcome.o-promoted", { timeout: 10_000 });
    await screenshot(page, "generation-promoted");
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it("draws every generation in the chart and the lineage, escaping what the records hold", async () => {
    // Further generations written through the store, as a longer run would leave them.
    const hash = createHash("sha256").update("p").digest("hex");
    const base = await git(fx.repo, ["rev-parse", "main"]);
    const shapes = [
      { outcome: "promoted", tokens: 48_000, fitness: 0.81 },
      {
        outcome: "failed",
        tokens: 12_500,
        fitness: null,
        reason: 'tests failed: <img src=x onerror="window.__xss=3">',
      },
      { outcome: "rolled_back", tokens: 30_200, fitness: 0.2, reason: "review rejected: changes schemas/" },
      {
        outcome: "timed_out",
        tokens: 61_000,
        fitness: null,
        reason: "the Lab did not finish within 900000 ms",
      },
      { outcome: "verifying", tokens: 22_000, fitness: 0, failed: true },
    ] as const;
    let parent = 1;
    for (const s of shapes) {
      const r = await store.allocate({ programHash: hash, parent });
      await store.update(r.generation, { outcome: "running" });
      const verification = "failed" in s ? failedVerification(base, base) : undefined;
      await store.update(r.generation, {
        outcome:
          s.outcome === "verifying" || s.outcome === "promoted" || s.outcome === "rolled_back"
            ? "verifying"
            : s.outcome,
        reason: "reason" in s && s.outcome !== "rolled_back" ? s.reason : null,
        tokens: {
          input: Math.round(s.tokens * 0.8),
          output: Math.round(s.tokens * 0.15),
          cacheRead: Math.round(s.tokens * 0.05),
          cacheWrite: 0,
        },
        fitness: s.fitness,
        ...(verification ? { verification } : {}),
      });
      if (s.outcome === "promoted" || s.outcome === "rolled_back") {
        await store.update(r.generation, { outcome: s.outcome, reason: "reason" in s ? s.reason : null });
      }
      if (s.outcome === "promoted") parent = r.generation;
    }

    const { page, problems } = await browser.page();
    await page.goto(sup.url);
    const records = await store.list();
    expect(records).toHaveLength(6);
    const bars = page.locator("#chart-svg rect.bar");
    expect(await bars.count()).toBe(6);
    expect(
      await bars.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-generation")))),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    // Taller bars for more tokens: gen-5 (61k) is the tallest, gen-3 (12.5k) the shortest of the new ones.
    const height = async (n: number) =>
      Number(await page.locator(`#chart-svg rect.bar[data-generation="${n}"]`).getAttribute("height"));
    expect(await height(5)).toBeGreaterThan(await height(2));
    expect(await height(2)).toBeGreaterThan(await height(3));
    const withFitness = records.filter((r) => r.fitness !== null).map((r) => r.generation);
    const points = page.locator("#chart-svg circle.fit-point");
    expect(
      await points.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-generation")))),
    ).toEqual(withFitness);
    expect(await page.locator("#chart-svg polyline.fit-line").count()).toBe(1);

    expect(await page.locator("#lineage tbody tr").count()).toBe(6);
    expect(await page.locator("#lineage tr[data-generation='3'] .reason").textContent()).toContain(
      '<img src=x onerror="window.__xss=3">',
    );
    expect(await page.locator("#lineage img").count()).toBe(0);
    await noXss(page);
    // Promote stays refused for the verifying generation whose tests failed.
    expect(await page.locator('button[data-action="promote"][data-generation="6"]').isDisabled()).toBe(true);
    expect(await page.locator("#stats").textContent()).toMatch(/6\s*generations/);
    await screenshot(page, "dashboard");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "dashboard-dark");
    await page.emulateMedia({ colorScheme: "light" });

    await page.goto(`${sup.url}/generations/6`);
    expect(await page.locator("#verification-result").textContent()).toMatch(/Verification failed/);
    expect(await page.locator('tr[data-step="tests"]').textContent()).toMatch(/failed/);
    expect(await page.locator(".failures").textContent()).toContain("37 tests ran; main ran 38");
    await page.locator('tr[data-step="tests"] summary').click();
    expect(await page.locator('tr[data-step="tests"] pre').textContent()).toContain(
      "<script>alert(1)</script>",
    );
    await noXss(page);
    await screenshot(page, "generation-failed-verification");
    // gen-6 was written through the store without a branch: its diff is a 404 the page says it lacks.
    expect(await page.locator("#diff").textContent()).toMatch(/Not available: .*lab\/gen-6/);

    // Roll back from its page, with a reason that becomes the record's lesson.
    await page.fill("#token-input", TOKEN);
    await page.fill("#rollback-reason", "tests fail: 37 of 38 <ran>");
    page.once("dialog", (d) => void d.accept());
    await page.locator('button[data-action="rollback"][data-generation="6"]').click();
    await page.waitForSelector("#outcome.o-rolled_back", { timeout: 20_000 });
    expect(await page.locator("#notice").textContent()).toContain(
      "gen-6 rolled back: tests fail: 37 of 38 <ran>",
    );
    expect(await page.locator("#reason").textContent()).toBe("tests fail: 37 of 38 <ran>");
    const rolled = await record(6);
    expect([rolled.outcome, rolled.reason]).toEqual(["rolled_back", "tests fail: 37 of 38 <ran>"]);
    expect(await page.locator("button[data-action]").count()).toBe(0);
    expect(
      problems.filter((p) => !p.includes("status of 404") || !p.includes("/generations/6/diff")),
    ).toEqual([]);
    await page.close();
  }, 60_000);
});
