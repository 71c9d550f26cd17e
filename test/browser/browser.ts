import { accessSync, constants } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { describe, it } from "vitest";

/** Debian's chromium; LOOM_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env.LOOM_CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/browser/", import.meta.url));

function missingReason(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    return `no chromium at ${CHROMIUM} (apt-get install chromium, or set LOOM_CHROMIUM)`;
  }
}

/**
 * Skips a browser suite with the reason printed when chromium is absent; LOOM_REQUIRE_BROWSER=1 (CI)
 * turns the absence into a failing test instead.
 */
export function browserSuite(name: string, body: () => void): void {
  const missing = missingReason();
  if (missing && process.env.LOOM_REQUIRE_BROWSER === "1") {
    describe(name, () => {
      it("has a browser (LOOM_REQUIRE_BROWSER=1)", () => {
        throw new Error(`LOOM_REQUIRE_BROWSER=1 but ${missing}`);
      });
    });
    return;
  }
  if (missing) console.warn(`[browser] ${name} skipped: ${missing}`);
  describe.skipIf(missing !== undefined)(name, body);
}

export interface Browser {
  readonly context: BrowserContext;
  /** A page whose console errors, uncaught exceptions and failed requests are collected. */
  page(): Promise<{ page: Page; problems: string[] }>;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile, nothing reaching beyond loopback. */
export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(path.join(tmpdir(), "loom-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1366, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    page: async () => {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") {
          problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`);
        }
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("requestfailed", (r) => {
        // A stream cut by the page navigating away or closing is not a failure of the page.
        if (r.failure()?.errorText !== "net::ERR_ABORTED") problems.push(`request failed: ${r.url()}`);
      });
      return { page, problems };
    },
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under test-artifacts/browser/ and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
