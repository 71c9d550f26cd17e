import { afterAll, beforeAll, expect, it } from "vitest";
import { GenerationRecord } from "../../schemas/index.ts";
import type { ScriptTurnInput } from "../../src/shared/scripted-model/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { type Fixture, makeFixture } from "../supervisor/lifecycle-fixture.ts";
import { roundOfThree, writeRecords } from "../supervisor/store/lineage-fixture.ts";
import { type Browser, browserSuite, launchBrowser, screenshot } from "./browser.ts";

const HINTS = ["keep it small", "rewrite <b>everything</b>", "add tests first"];
const NAMES = ["alpha", "beta", "gamma"];

/**
 * One scripted model for the three Labs of round 2: each Lab's first request carries its own hint, so
 * it writes its own file; its next call answers only after a pause, so all three are seen running.
 */
const SCRIPT: ScriptTurnInput[] = [
  ...NAMES.map((name, i) => ({
    when: { lastUserTextIncludes: HINTS[i] as string },
    tool: "write_file",
    input: { path: `${name}.txt`, content: `written by ${name}\n` },
  })),
  ...NAMES.map(() => ({
    fault: "slow" as const,
    // Long enough that the first Lab is still waiting when the last one's tool call shows, beside a
    // loaded suite (6 s was not, once: gen-4 had finished before gen-6's chip appeared).
    delayMs: 20_000,
    text: "done",
    when: { toolResultIsError: false },
  })),
];

let fx: Fixture;
let sup: Supervisor;
let browser: Browser;

browserSuite("the lineage tree and a running round in chromium", () => {
  beforeAll(async () => {
    fx = await makeFixture(SCRIPT);
    // Round 1 is history: gen-1 promoted, gen-2 stopped at the reachable tests, gen-3 archived.
    await writeRecords(fx.stateDir, roundOfThree());
    sup = await startSupervisor({
      config: fx.config({ LOOM_PROMOTE: "manual", LOOM_LAB_MODELS: "model-a,model-b,model-c" }),
      port: 0,
      log: () => {},
      pollMs: 100,
    });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await sup?.close();
    await fx?.cleanup();
  });

  it("draws the lineage as a tree, shows round 2's three candidates side by side while they run, then hangs them under gen-1", async () => {
    const { page, problems } = await browser.page();
    await page.goto(sup.url);
    await page.waitForSelector("#conn.live");

    // The tree: the round's dead ends beside the promoted gen-1 (★), each with where it stopped.
    const rows = page.locator("#lineage tbody tr[data-generation]");
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-generation")))).toEqual([
      "2",
      "3",
      "1",
    ]);
    expect(await page.locator("#lineage tr.root").textContent()).toContain("initial main");
    // Each row carries the prefix `loom generations --tree` prints and draws it as lines.
    const tree = async (n: number) => {
      const tr = page.locator(`#lineage tr[data-generation="${n}"]`);
      return `${await tr.getAttribute("data-prefix")}${await tr.locator("td.tree").textContent()}`;
    };
    expect(await tree(2)).toBe("├─ gen-2");
    expect(await tree(1)).toBe("└─ ★gen-1");
    expect(await page.locator('#lineage tr[data-generation="1"] .seg.elbow').count()).toBe(1);
    expect(await page.locator('#lineage tr[data-path="promoted"]').count()).toBe(1);
    const stop = (n: number) => page.locator(`#lineage tr[data-generation="${n}"] .stop`).textContent();
    expect(await stop(2)).toBe("reachable_tests");
    expect(await stop(3)).toBe("promotion");
    expect(await page.locator('#lineage tr[data-generation="1"] .stop').count()).toBe(0);
    expect(await page.locator('#lineage tr[data-generation="3"] .badge').textContent()).toBe("archived");
    expect(await page.locator('#lineage tr[data-generation="2"] .round').textContent()).toBe("r1#2");
    expect(await page.locator('#lineage tr[data-generation="3"] .cost').textContent()).toBe("$0.0150");
    expect(await page.locator("#cost-per-promoted").textContent()).toBe("$0.0360 per promoted generation");
    expect(await page.locator("#lineage-cost").textContent()).toContain(
      "cost $0.0360, $0.0360 per promoted generation",
    );
    expect(await page.locator("#round").isHidden()).toBe(true);

    const spawned = await fetch(`${sup.url}/spawn`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ program: "# Task\nWrite one file.\n", candidates: 3, hints: HINTS }),
    });
    expect(spawned.status).toBe(202);

    // The page shows round 2 by itself: three cards side by side, each with its own Lab's tool call.
    await page.waitForSelector("#round[data-round='2'] .cand >> nth=2", { timeout: 30_000 });
    for (const n of [4, 5, 6]) {
      await page.waitForSelector(`#round .cand[data-generation="${n}"] .chip[data-tool="write_file"]`, {
        timeout: 45_000,
      });
    }
    // Seen while they run: every record still says running (the Labs wait on the slow model).
    const records = await Promise.all(
      [4, 5, 6].map(async (n) =>
        GenerationRecord.parse(await (await fetch(`${sup.url}/generations/${n}`)).json()),
      ),
    );
    expect(records.map((r) => [r.outcome, r.round, r.parent, r.candidate?.index])).toEqual([
      ["running", 2, 1, 1],
      ["running", 2, 1, 2],
      ["running", 2, 1, 3],
    ]);
    const boxes = await page
      .locator("#round .cand")
      .evaluateAll((els) =>
        els.map((e) => e.getBoundingClientRect()).map((b) => ({ x: b.x, y: b.y, w: b.width })),
      );
    expect(boxes).toHaveLength(3);
    // Side by side: one row, left to right, none overlapping.
    expect(new Set(boxes.map((b) => Math.round(b.y))).size).toBe(1);
    for (let i = 1; i < 3; i++)
      expect(boxes[i]?.x).toBeGreaterThanOrEqual((boxes[i - 1]?.x ?? 0) + (boxes[i - 1]?.w ?? 0));
    expect(await page.locator('#round .cand[data-generation="5"] .meta').textContent()).toBe(
      "candidate 2 of 3 · model-b",
    );
    // The hint is the candidate's own text, shown as text.
    expect(await page.locator('#round .cand[data-generation="5"] .hint').textContent()).toBe(HINTS[1]);
    expect(await page.locator("#round b").count()).toBe(3);
    expect(await page.locator('#round .cand[data-generation="4"] [data-live="state"]').textContent()).toMatch(
      /^Lab (running|starting)$/,
    );
    expect(await page.locator("#stats").textContent()).toMatch(/running:\s*gen-4, gen-5, gen-6/);
    await screenshot(page, "dashboard-round-running");

    // Once every Lab is done the round leaves the page and its candidates hang under gen-1 in the tree.
    await page.waitForSelector("#round[hidden]", { state: "attached", timeout: 60_000 });
    await page.waitForSelector('#lineage tr[data-generation="6"][data-outcome="verifying"]', {
      timeout: 20_000,
    });
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-generation")))).toEqual([
      "2",
      "3",
      "1",
      "4",
      "5",
      "6",
    ]);
    expect(await tree(4)).toBe("   ├─ gen-4");
    expect(await tree(6)).toBe("   └─ gen-6");
    expect(
      await page
        .locator('#lineage tr[data-generation="6"] .seg')
        .evaluateAll((els) => els.map((e) => e.className)),
    ).toEqual(["seg elbow"]);
    expect(await page.locator('#lineage tr[data-parent="1"]').count()).toBe(3);
    expect(await page.locator('#lineage tr[data-generation="5"] .round').textContent()).toBe("r2#2");
    await screenshot(page, "dashboard-lineage-tree");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "dashboard-lineage-tree-dark");
    await page.emulateMedia({ colorScheme: "light" });
    expect(problems).toEqual([]);
    await page.close();
  }, 150_000);
});
