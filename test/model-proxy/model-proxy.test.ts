import { stat } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { type ProxyRig, proxyRig, REAL_KEY } from "./proxy-fixture.ts";

const rigs: ProxyRig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
});
async function rig(...args: Parameters<typeof proxyRig>): Promise<ProxyRig> {
  const r = await proxyRig(...args);
  rigs.push(r);
  return r;
}

describe("model proxy: forwarding over the generation's unix socket", () => {
  it("forwards the Lab's request with the real key, which the Lab never sent, and counts its usage", async () => {
    const r = await rig([
      {
        text: "hello",
        usage: {
          input_tokens: 1000,
          output_tokens: 200,
          cache_read_input_tokens: 3000,
          cache_creation_input_tokens: 400,
        },
      },
    ]);
    const response = await r
      .client()
      .call({ system: "", tools: [], messages: [{ role: "user", content: "hi" }] });
    expect(response.content).toEqual([expect.objectContaining({ type: "text", text: "hello" })]);
    const seen = r.model.requests[0]!.headers;
    expect(seen["x-api-key"]).toBe(REAL_KEY);
    expect(r.token).not.toContain(REAL_KEY);
    expect(r.proxy.usage(r.generation)).toMatchObject({
      requests: 1,
      inputTokens: 1000,
      outputTokens: 200,
      cacheReadTokens: 3000,
      cacheWriteTokens: 400,
      budgetExceeded: false,
    });
    // haiku 4.5: $1 in, $5 out, $0.10 cache read, $1.25 cache write per million.
    expect(r.proxy.usage(r.generation)!.costUsd).toBeCloseTo(
      (1000 * 1 + 200 * 5 + 3000 * 0.1 + 400 * 1.25) / 1e6,
      12,
    );
    const final = await r.proxy.close(r.generation);
    expect(final?.requests).toBe(1);
    await expect(stat(r.socketPath)).rejects.toThrow(/ENOENT/);
  });
});
