import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Prime } from "../../src/prime/start-prime.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { primeConfig, startTestPrime, tempDir } from "../prime/prime-helpers.ts";
import { type Browser, browserSuite, launchBrowser, screenshot } from "./browser.ts";

let model: ScriptedModelServer;
let prime: Prime;
let root: { dir: string; cleanup: () => Promise<void> };
let browser: Browser;

browserSuite("Prime's chat page in chromium", () => {
  beforeAll(async () => {
    root = await tempDir("loom-prime-page-");
    const repo = path.join(root.dir, "repo");
    await mkdir(repo, { recursive: true });
    await writeFile(path.join(repo, "README.md"), "# hello <i>readme</i>\n");
    model = await startScriptedModel([
      { text: "Let me look at the README.", tool: "read_file", input: { path: "README.md" } },
      // The reply after the tool takes a while: the page must show the tool call before it arrives.
      {
        fault: "slow",
        delayMs: 2500,
        text: 'It says hello, with <img src=x onerror="window.__xss=1"> in it.',
      },
    ]);
    prime = await startTestPrime({
      config: primeConfig(model),
      repo,
      stateDir: path.join(root.dir, "state"),
    });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await prime?.close();
    await model?.close();
    await root?.cleanup();
  });

  it("streams a scripted reply: text and the tool call appear as they happen, values stay text", async () => {
    const { page, problems } = await browser.page();
    await page.goto(prime.url);
    await page.waitForSelector("#conn.live");
    // The numbers load beside the log (history, then /stats), not after it: wait for them.
    await expect.poll(() => page.locator("#stats").textContent(), { timeout: 10_000 }).toMatch(/turns\s*0/);

    await page.fill("#message", "What does the README say?");
    await page.keyboard.press("Enter");
    expect(await page.locator(".msg.user").textContent()).toContain("What does the README say?");

    // The tool ran and its result is shown while Prime's final reply is still being written.
    const tool = page.locator('.tool[data-tool="read_file"]');
    await tool.locator(".state", { hasText: "done" }).waitFor({ timeout: 20_000 });
    expect(await page.locator(".msg.assistant").allTextContents()).toEqual([
      expect.stringContaining("Let me look at the README."),
    ]);
    expect(await page.locator("#send").isDisabled()).toBe(true);
    await tool.locator("summary").click();
    expect(await tool.locator("pre.output").textContent()).toContain("# hello <i>readme</i>");
    await screenshot(page, "prime-chat-streaming");

    await page.locator(".status", { hasText: "done: " }).waitFor({ timeout: 20_000 });
    const replies = page.locator(".msg.assistant");
    expect(await replies.count()).toBe(2);
    expect(await replies.nth(1).textContent()).toContain('<img src=x onerror="window.__xss=1">');
    expect(await page.locator("#conversation img, #conversation i").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator("#send").isEnabled()).toBe(true);
    await expect.poll(() => page.locator("#stats").textContent()).toMatch(/turns\s*1/);
    expect(await page.locator("#activity li").count()).toBeGreaterThan(0);
    await screenshot(page, "prime-chat");

    // A reload shows the conversation from GET /chat: both messages and the tool call with its result.
    await page.reload();
    await page.waitForSelector('.tool[data-tool="read_file"].ok');
    expect(await page.locator(".msg.user").count()).toBe(1);
    expect(await page.locator(".msg.assistant").count()).toBe(2);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
