import type { StepResult, Verification } from "../../../../schemas/verification.ts";
import { html, type SafeHtml } from "../../../shared/web/html.ts";
import { formatDuration, formatFitness } from "./format.ts";

const verdict = (ok: boolean, yes = "passed", no = "failed"): SafeHtml =>
  html`<span class="${ok ? "pass" : "fail"}">${ok ? yes : no}</span>`;

/** `skipped` says why a step that did not run was skipped; each step has its own reason. */
function step(name: string, s: StepResult | null, extra: SafeHtml | string = "", skipped = ""): SafeHtml {
  if (s === null) {
    return html`<tr data-step="${name}"><td>${name}</td><td class="muted">skipped</td><td></td><td></td><td class="muted">${skipped}</td></tr>`;
  }
  return html`<tr data-step="${name}"><td>${name}</td><td>${verdict(s.passed)}</td>
<td class="num">${s.exitCode === null ? "killed" : s.exitCode}</td><td class="num">${formatDuration(s.durationMs)}</td>
<td>${extra}${s.output ? html`<details><summary>output (${s.output.length.toLocaleString("en-US")} chars, tail)</summary><pre>${s.output}</pre></details>` : html`<span class="muted">no output</span>`}</td></tr>`;
}

/** Stage 1 (each step with its output), stage 2 (the review verdict) and the fitness, as recorded. */
export function renderVerification(v: Verification | null): SafeHtml {
  if (v === null) {
    return html`<p class="muted" id="verification-none">Not verified yet: Prime runs stage 1 (tests in a fresh container) and stage 2 (review) once the Lab is done.</p>`;
  }
  const m = v.mechanical;
  const a = m.acceptance;
  const tests = html`<p class="muted count">${m.tests.testCount} tests (main ran ${m.baselineTestCount})</p>`;
  const acceptance = !a.present
    ? step("acceptance", null, "", "no acceptance/ folder on main: nothing frozen to run")
    : a.run
      ? step(
          "acceptance",
          a.run,
          a.unchanged ? "" : html`<p class="fail">acceptance/ was changed by the Lab</p>`,
        )
      : html`<tr><td>acceptance</td><td>${verdict(false)}</td><td></td><td></td><td>${a.unchanged ? "not run" : "acceptance/ was changed by the Lab"}</td></tr>`;
  const review = v.review;
  const reviewView =
    review === null
      ? html`<p class="muted">No review yet.</p>`
      : review.verdict === null
        ? html`<p>${verdict(false, "", "rejected")}: ${review.error ?? "no verdict"}</p>`
        : html`<p>${verdict(review.verdict.approved, "approved", "rejected")} · confidence ${formatFitness(review.verdict.confidence)} · ${formatDuration(review.durationMs)}</p>
<p class="review-summary">${review.verdict.summary}</p>
${review.verdict.issues.length ? html`<ul class="issues">${review.verdict.issues.map((i) => html`<li>${i}</li>`)}</ul>` : html`<p class="muted">No issues raised.</p>`}`;
  const fitness = v.fitness
    ? html`<p>score <b>${formatFitness(v.fitness.score)}</b> ${v.fitness.gated ? html`<span class="fail">(gated: a gate did not hold)</span>` : ""}</p>
<table class="kv"><tbody>${Object.entries(v.fitness.components).map(([k, n]) => html`<tr><td>${k}</td><td class="num">${formatFitness(n)}</td></tr>`)}</tbody></table>`
    : html`<p class="muted">No fitness computed.</p>`;
  return html`<p id="verification-result">Verification ${verdict(v.passed)} · stage 1 ${verdict(m.passed)} in ${formatDuration(m.durationMs)} ·
schemas ${verdict(m.schemaFingerprintOk, "unchanged", "changed")} · commit <code>${m.commit.slice(0, 12)}</code> on base <code>${m.base.slice(0, 12)}</code></p>
${m.gate?.touched ? html`<p id="gate-touched"><span class="badge fail">touches the gate</span> held for a person's approval: ${m.gate.files.map((f) => html`<code>${f}</code> `)}</p>` : ""}
${m.failures.length ? html`<ul class="failures">${m.failures.map((f) => html`<li class="fail">${f}</li>`)}</ul>` : ""}
<h3>Stage 1: mechanical</h3>
<table class="steps"><thead><tr><th>step</th><th>result</th><th class="num">exit</th><th class="num">time</th><th>output</th></tr></thead>
<tbody>${step("install", m.install, "", "lockfile unchanged: main's packages reused")}${step("check", m.check)}${step("tests", m.tests, tests)}${acceptance}</tbody></table>
<h3>Stage 2: review</h3>
${reviewView}
<h3>Fitness</h3>
${fitness}`;
}
