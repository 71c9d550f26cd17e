import { describe, expect, it } from "vitest";
import { type GenerationRecord, SupervisorEvent } from "../../schemas/index.ts";
import { html, raw, scriptJson } from "../../src/shared/web/html.ts";
import { renderChart } from "../../src/supervisor/server/pages/chart.ts";
import { renderDashboard, renderGenerationPage, wantsHtml } from "../../src/supervisor/server/pages/index.ts";

const EVIL = `<script>alert("x")</script><img src=x onerror=alert(1)>'"&`;

function rec(n: number, over: Partial<GenerationRecord> = {}): GenerationRecord {
  return {
    version: 1,
    generation: n,
    parent: null,
    branch: `lab/gen-${n}`,
    programHash: "a".repeat(64),
    outcome: "verifying",
    reason: null,
    createdAt: "2026-12-01T10:00:00.000Z",
    finishedAt: null,
    containerId: null,
    tokens: { input: 100 * n, output: 10, cacheRead: 0, cacheWrite: 0 },
    fitness: null,
    verification: null,
    ...over,
  };
}
const stats = {
  generations: 2,
  byOutcome: {
    pending: 0,
    running: 0,
    verifying: 1,
    screened: 0,
    promoted: 0,
    rolled_back: 0,
    archived: 0,
    failed: 1,
    aborted: 0,
    timed_out: 0,
  },
  tokens: { input: 300, output: 20, cacheRead: 0, cacheWrite: 0 },
  totalTokens: 320,
  running: null,
  runtime: "local",
  prime: { state: "disabled" as const, commit: null, url: null },
};

describe("html tag", () => {
  it("escapes every interpolated value unless it is trusted markup", () => {
    expect(html`<p title="${EVIL}">${EVIL}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&quot;&amp;">' +
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&quot;&amp;</p>",
    );
    expect(html`${[html`<b>${"<i>"}</b>`, raw("<hr>"), null, false, 3]}`.value).toBe("<b>&lt;i&gt;</b><hr>3");
  });

  it("writes JSON that cannot close its script element", () => {
    const out = scriptJson({ a: "</script><script>alert(1)</script>", b: "\u2028" }).value;
    expect(out).not.toContain("</script");
    expect(out).not.toContain("<");
    expect(JSON.parse(out)).toEqual({ a: "</script><script>alert(1)</script>", b: "\u2028" });
  });
});

describe("content negotiation of GET /generations/:n", () => {
  it.each([
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true],
    ["text/html", true],
    ["application/json, text/html;q=0.5", false],
    ["text/html;q=0", false],
    ["*/*", false],
    ["application/json", false],
    [undefined, false],
  ])("Accept %s → page %s", (accept, page) => {
    expect(wantsHtml(accept)).toBe(page);
  });
});

describe("page rendering", () => {
  const page = { promoteMode: "manual" as const, tokenRequired: true };

  it("draws one bar per generation and one point per fitness, in generation order", () => {
    const svg = renderChart([rec(3, { fitness: 0.5 }), rec(1), rec(2, { fitness: 0.9 })]).value;
    expect([...svg.matchAll(/<rect class="bar[^"]*" data-generation="(\d+)"/g)].map((m) => m[1])).toEqual([
      "1",
      "2",
      "3",
    ]);
    expect([...svg.matchAll(/<circle class="fit-point" data-generation="(\d+)"/g)].map((m) => m[1])).toEqual([
      "2",
      "3",
    ]);
  });

  it("escapes what records hold and offers Promote only once verification passed", () => {
    const out = renderDashboard({
      records: [rec(1, { outcome: "failed", reason: EVIL, finishedAt: "2026-12-01T10:01:00.000Z" }), rec(2)],
      stats,
      page,
      nonce: "n0nce",
    });
    expect(out).not.toContain("<img src=x");
    expect(out).not.toContain('<script>alert("x")');
    expect(out).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(out).toMatch(/data-action="promote" data-generation="2"[^>]* disabled/);
    expect(out).toContain('data-action="rollback" data-generation="2"');
    expect(out).toContain('id="token-input"');
    // Only the page's own script carries the nonce.
    expect(out.match(/<script nonce="n0nce">/g)).toHaveLength(1);
  });

  it("shows no decision buttons in auto mode and keeps stage-1 output as text", () => {
    const out = renderGenerationPage({
      record: rec(2, {
        verification: {
          passed: false,
          mechanical: {
            passed: false,
            commit: "b".repeat(40),
            base: "c".repeat(40),
            install: null,
            check: { passed: true, exitCode: 0, output: "ok", durationMs: 10 },
            tests: { passed: false, exitCode: 1, output: EVIL, durationMs: 10, testCount: 1 },
            baselineTestCount: 2,
            schemaFingerprintOk: true,
            acceptance: { present: false, unchanged: true, run: null },
            failures: [EVIL],
            durationMs: 20,
          },
          review: null,
          fitness: null,
        },
      }),
      page: { promoteMode: "auto", tokenRequired: false },
      nonce: "n",
    });
    expect(out).not.toContain("data-action=");
    expect(out).not.toContain('id="token-input"');
    expect(out).not.toContain("<img src=x");
    expect(out.match(/&lt;img src=x onerror=alert\(1\)&gt;/g)?.length).toBe(2);
  });
});

describe("the pages and the /logs events they act on", () => {
  const config = (page: string) =>
    JSON.parse(
      /<script type="application\/json" id="page-config">(.*?)<\/script>/s.exec(page)?.[1] ?? "null",
    );

  it("give their script the event kinds of schemas/events.ts, so anything else is skipped", () => {
    const kinds = SupervisorEvent.options.map((o) => o.shape.type.value);
    expect(kinds).toContain("verification");
    const nonce = "n0nce";
    const page = { promoteMode: "auto", tokenRequired: false } as const;
    const dashboard = renderDashboard({ records: [rec(1)], stats, page, nonce, held: [] });
    expect(config(dashboard).eventTypes).toEqual(kinds);
    expect(config(renderGenerationPage({ record: rec(1), page, nonce })).eventTypes).toEqual(kinds);
    expect(dashboard).toContain("cfg.eventTypes.indexOf(e.type) < 0");
  });

  it("say a verification is running, or why the last run ended without a result", () => {
    const page = { promoteMode: "auto", tokenRequired: false } as const;
    const startedAt = "2026-12-01T10:05:00.000Z";
    const running = renderGenerationPage({
      record: rec(2, { verificationRun: { state: "running", startedAt, finishedAt: null, error: null } }),
      page,
      nonce: "n",
    });
    expect(running).toContain(`Stage 1 running since ${startedAt}`);
    const stopped = renderGenerationPage({
      record: rec(2, {
        verificationRun: {
          state: "stopped",
          startedAt,
          finishedAt: startedAt,
          error: { code: "SHUTTING_DOWN", message: "stopped because the Supervisor is shutting down" },
        },
      }),
      page,
      nonce: "n",
    });
    expect(stopped).toContain(
      "The last stage-1 run was stopped: stopped because the Supervisor is shutting down",
    );
  });
});
