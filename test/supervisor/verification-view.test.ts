import { describe, expect, it } from "vitest";
import { renderVerification } from "../../src/supervisor/server/pages/verification-view.ts";
import { passedVerification } from "./passed-verification.ts";

/** The row of one stage-1 step, as the generation page shows it. */
const row = (page: string, step: string): string => {
  const match = page.match(new RegExp(`<tr data-step="${step}">.*?</tr>`, "s"));
  if (!match) throw new Error(`no row for step ${step} in:\n${page}`);
  return match[0];
};

describe("generation page: skipped stage-1 steps", () => {
  it("labels each skipped step with its own reason", () => {
    // install skipped (lockfile unchanged) and acceptance skipped (no acceptance/ on main).
    const page = renderVerification(passedVerification("a".repeat(40), "b".repeat(40))).value;
    const install = row(page, "install");
    expect(install).toContain("skipped");
    expect(install).toContain("lockfile unchanged: main&#39;s packages reused");
    const acceptance = row(page, "acceptance");
    expect(acceptance).toContain("skipped");
    expect(acceptance).toContain("no acceptance/ folder on main");
    expect(acceptance).not.toContain("lockfile");
  });
});
