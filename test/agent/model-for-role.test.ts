import { afterEach, describe, expect, it } from "vitest";
import { modelClientFor } from "../../src/agent/model-for-role.ts";
import { loadConfig } from "../../src/shared/config.ts";
import { ConfigError } from "../../src/shared/errors.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const serve = async () => {
  const s = await startScriptedModel([{ text: "hi" }]);
  servers.push(s);
  return s;
};
const ask = { system: "s", tools: [], messages: [{ role: "user" as const, content: "hello" }] };

describe("model client per role", () => {
  it("Prime uses ANTHROPIC_BASE_URL, its key and LOOM_MODEL; a Lab uses LOOM_LAB_API_BASE, its own key and model", async () => {
    const prime = await serve();
    const lab = await serve();
    const config = loadConfig({
      env: {
        ANTHROPIC_API_KEY: "prime-key",
        ANTHROPIC_BASE_URL: prime.url,
        LOOM_MODEL: "prime-model",
        LOOM_LAB_API_KEY: "lab-key",
        LOOM_LAB_API_BASE: lab.url,
        LOOM_LAB_MODEL: "lab-model",
      },
      cwd: "/nonexistent-so-no-dotenv",
    });
    await modelClientFor(config, "prime").call(ask);
    await modelClientFor(config, "lab").call(ask);
    expect(prime.requests).toHaveLength(1);
    expect(lab.requests).toHaveLength(1);
    expect((prime.requests[0]!.body as { model: string }).model).toBe("prime-model");
    expect((lab.requests[0]!.body as { model: string }).model).toBe("lab-model");
    const credential = (h: Record<string, unknown>) => String(h["x-api-key"] ?? h.authorization ?? "");
    expect(credential(prime.requests[0]!.headers)).toContain("prime-key");
    expect(credential(lab.requests[0]!.headers)).toContain("lab-key");
    expect(credential(lab.requests[0]!.headers)).not.toContain("prime-key");
  });

  it("a Lab without its own key falls back to ANTHROPIC_API_KEY; --model overrides", async () => {
    const lab = await serve();
    const config = loadConfig({
      env: { ANTHROPIC_API_KEY: "shared-key", LOOM_LAB_API_BASE: lab.url },
      cwd: "/nonexistent-so-no-dotenv",
    });
    await modelClientFor(config, "lab", { model: "override" }).call(ask);
    expect((lab.requests[0]!.body as { model: string }).model).toBe("override");
    const h = lab.requests[0]!.headers;
    expect(String(h["x-api-key"] ?? h.authorization)).toContain("shared-key");
  });

  it("refuses to build a client without a key, naming the variable", () => {
    const config = loadConfig({ env: {}, cwd: "/nonexistent-so-no-dotenv" });
    expect(() => modelClientFor(config, "prime")).toThrow(ConfigError);
    expect(() => modelClientFor(config, "lab")).toThrow(/ANTHROPIC_API_KEY/);
  });
});
