import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../src/shared/config.ts";
import { LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { type Browser, browserSuite, launchBrowser, screenshot } from "../browser/browser.ts";
import { commitFiles, sh } from "../supervisor/git-repo-fixture.ts";
import { passedVerification } from "../supervisor/passed-verification.ts";

const TOKEN = "held-browser-token";
let root: string;
let repo: string;
let sup: Supervisor;
let store: GenerationStore;
let browser: Browser;

browserSuite("a gate change approved by a person in the dashboard", () => {
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "loom-held-browser-"));
    repo = path.join(root, "repo");
    await sh(root, ["init", "-q", "-b", "main", repo]);
    await commitFiles(repo, { "src/supervisor/verify/fitness.ts": "export const gate = 1;\n" }, "initial");
    // Auto mode: the held panel brings its own token field and buttons.
    const config = loadConfig({
      cwd: root,
      env: {
        LOOM_REPO_PATH: repo,
        LOOM_STATE_DIR: path.join(root, "state"),
        LOOM_RUNTIME: "local",
        LOOM_SUPERVISOR_TOKEN: TOKEN,
      },
    });
    store = await GenerationStore.open(config.stateDir);
    sup = await startSupervisor({
      config,
      runtime: new LocalRuntime({ stateDir: config.stateDir }),
      port: 0,
      log: () => {},
    });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await sup?.close();
    await rm(root, { recursive: true, force: true });
  });

  it("shows the held generation with its gate diff; the approve button promotes it", async () => {
    const { generation: n } = await store.allocate({
      programHash: createHash("sha256").update("held").digest("hex"),
      parent: null,
    });
    await sh(repo, ["checkout", "-q", "-b", `lab/gen-${n}`, "main"]);
    const commit = await commitFiles(
      repo,
      { "src/supervisor/verify/fitness.ts": "export const gate = 2;\n" },
      "relax",
    );
    await sh(repo, ["checkout", "-q", "main"]);
    const v = passedVerification(commit, (await sh(repo, ["rev-parse", "main"])).trim());
    await store.update(n, { outcome: "running" });
    await store.update(n, { outcome: "verifying" });
    await store.update(n, {
      verification: {
        ...v,
        mechanical: { ...v.mechanical, gate: { touched: true, files: ["src/supervisor/verify/fitness.ts"] } },
      },
    });

    const { page, problems } = await browser.page();
    await page.goto(sup.url);
    await page.waitForSelector("#held");
    expect(await page.locator("#held pre.gate-diff").textContent()).toContain("+export const gate = 2;");
    await screenshot(page, "dashboard-held-for-a-person");
    await page.fill("#token-input", TOKEN);
    page.once("dialog", (d) => void d.accept());
    await page.locator(`#held button[data-action="promote"][data-generation="${n}"]`).click();
    await expect.poll(() => page.locator("#notice").textContent(), { timeout: 20_000 }).toMatch(/promoted/);
    expect((await store.get(n))?.outcome).toBe("promoted");
    expect(await sh(repo, ["show", "main:src/supervisor/verify/fitness.ts"])).toBe("export const gate = 2;");
    expect(problems).toEqual([]);
  });
});
