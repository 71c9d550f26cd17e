import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configKey } from "../../src/shared/config/specs.ts";
import {
  configSpecs,
  formatConfigError,
  type LoadConfigOptions,
  labWaitMs,
  loadConfig,
  requireApiKey,
} from "../../src/shared/config.ts";
import { ConfigError } from "../../src/shared/errors.ts";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "loom-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh empty working directory, so no stray .env is read. */
async function cwdWith(dotenv?: string): Promise<string> {
  const cwd = await mkdtemp(path.join(dir, "cwd-"));
  if (dotenv !== undefined) await writeFile(path.join(cwd, ".env"), dotenv);
  return cwd;
}

function configError(opts: LoadConfigOptions): ConfigError {
  try {
    loadConfig(opts);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected loadConfig to throw a ConfigError");
}

describe("loadConfig defaults", () => {
  it("uses the documented defaults when nothing is set", async () => {
    const cwd = await cwdWith();
    const { sources, ...config } = loadConfig({ env: {}, cwd });
    expect(config).toEqual({
      anthropicApiKey: undefined,
      primeModel: "claude-sonnet-4-20250514",
      primeBaseUrl: undefined,
      labApiKey: undefined,
      labApiBase: undefined,
      labModel: "claude-haiku-4-5-20251001",
      labModels: ["claude-haiku-4-5-20251001"],
      candidates: 1,
      labPool: 0,
      finalists: 1,
      parent: "main",
      fitness: "gates",
      minGain: 0,
      tasksScreen: 6,
      labModelSocket: undefined,
      labTimeoutMs: 300000,
      labReadyTimeoutMs: 60000,
      verifyTimeoutMs: 1200000,
      maxIterations: 40,
      maxGenerations: 5,
      tokenBudget: 0,
      plateauWindow: 3,
      repoPath: cwd,
      network: "loom-net",
      runtime: "auto",
      swarmConstraints: undefined,
      workspaceTransport: "mount",
      gatewayPort: 0,
      gatewayUrl: undefined,
      registry: undefined,
      registryPort: 5000,
      stateDir: path.join(cwd, ".loom"),
      supervisorPort: 8400,
      primePort: 8401,
      primeHealthTimeoutMs: 60000,
      shutdownGraceMs: 30000,
      labPort: 8402,
      bindHost: "127.0.0.1",
      supervisorUrl: "http://127.0.0.1:8400",
      supervisorToken: undefined,
      labToken: undefined,
      httpHeadersTimeoutMs: 10000,
      httpBodyTimeoutMs: 30000,
      sseMaxClients: 32,
      promote: "auto",
      requestTimeoutMs: 120000,
      maxRetries: 4,
      evalTimeoutMs: 5000,
      toolTimeoutMs: 120000,
      maxContextMessages: 20,
      dotenvPath: undefined,
      warnings: [],
    });
    expect(sources.LOOM_MAX_ITERATIONS).toBe("default");
    expect(sources.ANTHROPIC_API_KEY).toBe("unset");
  });

  it("waits for a spawned Lab as long as the Supervisor lets it start and run, plus a minute", async () => {
    const cwd = await cwdWith();
    expect(labWaitMs(loadConfig({ env: {}, cwd }))).toBe(60_000 + 300_000 + 60_000);
    const slow = loadConfig({
      env: { LOOM_LAB_READY_TIMEOUT_MS: "240000", LOOM_LAB_TIMEOUT_MS: "5000" },
      cwd,
    });
    expect(labWaitMs(slow)).toBe(240_000 + 5000 + 60_000);
    expect(() => loadConfig({ env: { LOOM_LAB_READY_TIMEOUT_MS: "10" }, cwd })).toThrow(
      /LOOM_LAB_READY_TIMEOUT_MS/,
    );
  });

  it("has a config field for every spec and every default passes its own validation", async () => {
    const config = loadConfig({ env: {}, cwd: await cwdWith() });
    const superseded = ["model", "labModel", "labApiKey", "labApiBase", "anthropicBaseUrl"];
    for (const spec of configSpecs) {
      if (spec.default !== undefined) expect(spec.type.parse(spec.default), spec.name).not.toBeUndefined();
      const key = configKey(spec.name);
      if (!superseded.includes(key)) expect(Object.hasOwn(config, key), spec.name).toBe(true);
    }
  });

  it("never writes to the env object it is given", async () => {
    const env = Object.freeze({ LOOM_MODEL: "m1" });
    expect(loadConfig({ env, cwd: await cwdWith("LOOM_LAB_MODEL=m2\n") }).labModel).toBe("m2");
  });
});

describe("precedence chains", () => {
  it("labModel: LOOM_LAB_MODEL, then an explicit LOOM_MODEL, then the Lab default", async () => {
    const cwd = await cwdWith();
    expect(loadConfig({ env: { LOOM_MODEL: "p", LOOM_LAB_MODEL: "l" }, cwd })).toMatchObject({
      primeModel: "p",
      labModel: "l",
    });
    expect(loadConfig({ env: { LOOM_MODEL: "p" }, cwd })).toMatchObject({ primeModel: "p", labModel: "p" });
    expect(loadConfig({ env: { LOOM_LAB_MODEL: "l" }, cwd })).toMatchObject({
      primeModel: "claude-sonnet-4-20250514",
      labModel: "l",
    });
  });

  it("labModels: LOOM_LAB_MODELS as listed (items trimmed), else the one Lab model", async () => {
    const cwd = await cwdWith();
    expect(loadConfig({ env: { LOOM_LAB_MODELS: "a, b ,c" }, cwd }).labModels).toEqual(["a", "b", "c"]);
    expect(loadConfig({ env: { LOOM_LAB_MODEL: "solo" }, cwd }).labModels).toEqual(["solo"]);
    expect(loadConfig({ env: { LOOM_CANDIDATES: "16" }, cwd }).candidates).toBe(16);
    expect(loadConfig({ env: {}, cwd }).labPool).toBe(0);
    expect(loadConfig({ env: { LOOM_LAB_POOL: "4" }, cwd }).labPool).toBe(4);
  });

  it("labApiKey: LOOM_LAB_API_KEY, then ANTHROPIC_API_KEY", async () => {
    const cwd = await cwdWith();
    expect(loadConfig({ env: { ANTHROPIC_API_KEY: "a", LOOM_LAB_API_KEY: "b" }, cwd }).labApiKey).toBe("b");
    expect(loadConfig({ env: { ANTHROPIC_API_KEY: "a" }, cwd }).labApiKey).toBe("a");
    expect(loadConfig({ env: { LOOM_LAB_API_KEY: "b" }, cwd })).toMatchObject({
      labApiKey: "b",
      anthropicApiKey: undefined,
    });
  });

  it("base URLs: Prime from ANTHROPIC_BASE_URL, Labs from LOOM_LAB_API_BASE only", async () => {
    const cwd = await cwdWith();
    const config = loadConfig({ env: { ANTHROPIC_BASE_URL: "http://127.0.0.1:9000" }, cwd });
    expect(config).toMatchObject({ primeBaseUrl: "http://127.0.0.1:9000", labApiBase: undefined });
    const lab = loadConfig({ env: { LOOM_LAB_API_BASE: "https://proxy.internal/v1" }, cwd });
    expect(lab).toMatchObject({ primeBaseUrl: undefined, labApiBase: "https://proxy.internal/v1" });
  });

  it("repoPath resolves against cwd, stateDir against repoPath unless absolute", async () => {
    const cwd = await cwdWith();
    expect(loadConfig({ env: { LOOM_REPO_PATH: "sub/repo" }, cwd })).toMatchObject({
      repoPath: path.join(cwd, "sub/repo"),
      stateDir: path.join(cwd, "sub/repo/.loom"),
    });
    expect(loadConfig({ env: { LOOM_REPO_PATH: "r", LOOM_STATE_DIR: "state" }, cwd }).stateDir).toBe(
      path.join(cwd, "r/state"),
    );
    expect(loadConfig({ env: { LOOM_STATE_DIR: "/var/loom" }, cwd }).stateDir).toBe("/var/loom");
  });

  it("accepts the edges of each range and trims numbers", async () => {
    const cwd = await cwdWith();
    const env = {
      LOOM_MAX_GENERATIONS: "0",
      LOOM_MAX_RETRIES: "10",
      LOOM_LAB_PORT: "65535",
      LOOM_MAX_ITERATIONS: " 7 ",
    };
    expect(loadConfig({ env, cwd })).toMatchObject({
      maxGenerations: 0,
      maxRetries: 10,
      labPort: 65535,
      maxIterations: 7,
    });
    expect(
      loadConfig({ env: { LOOM_RUNTIME: "podman", LOOM_PROMOTE: "manual", LOOM_BIND_HOST: "::1" }, cwd }),
    ).toMatchObject({
      runtime: "podman",
      promote: "manual",
      bindHost: "::1",
    });
  });
});

describe(".env and the environment", () => {
  it("reads .env from cwd, and the environment wins over it", async () => {
    const cwd = await cwdWith("LOOM_MAX_ITERATIONS=12\nLOOM_MAX_RETRIES=2\n");
    const config = loadConfig({ env: { LOOM_MAX_RETRIES: "3" }, cwd });
    expect(config).toMatchObject({ maxIterations: 12, maxRetries: 3, dotenvPath: path.join(cwd, ".env") });
    expect(config.sources.LOOM_MAX_ITERATIONS).toBe("dotenv");
    expect(config.sources.LOOM_MAX_RETRIES).toBe("environment");
  });

  it("an empty string counts as unset in either place", async () => {
    const cwd = await cwdWith("LOOM_MAX_ITERATIONS=12\nLOOM_MAX_RETRIES=\n");
    const config = loadConfig({ env: { LOOM_MAX_ITERATIONS: "", LOOM_MAX_RETRIES: "" }, cwd });
    expect(config).toMatchObject({ maxIterations: 12, maxRetries: 4 });
    expect(config.sources.LOOM_MAX_RETRIES).toBe("default");
    expect(loadConfig({ env: { ANTHROPIC_API_KEY: "" }, cwd }).anthropicApiKey).toBeUndefined();
  });

  it("reads an explicit dotenvPath relative to cwd instead of ./.env", async () => {
    const cwd = await cwdWith("LOOM_MAX_ITERATIONS=12\n");
    await writeFile(path.join(cwd, "other.env"), "LOOM_MAX_ITERATIONS=13\n");
    expect(loadConfig({ env: {}, cwd, dotenvPath: "other.env" }).maxIterations).toBe(13);
  });

  it("refuses an explicit dotenvPath that does not exist", async () => {
    const cwd = await cwdWith();
    const file = path.join(cwd, "nope.env");
    expect(configError({ env: {}, cwd, dotenvPath: "nope.env" }).message).toBe(
      `dotenv file ${JSON.stringify(file)} does not exist; pass an existing file, or none to read .env in the working directory`,
    );
  });

  it("passes on a malformed .env line as a ConfigError naming file and line", async () => {
    const cwd = await cwdWith("A=1\nbroken\n");
    expect(configError({ env: {}, cwd }).message).toBe(
      `${path.join(cwd, ".env")}:2: missing "="; expected KEY=VALUE, optionally prefixed by "export "`,
    );
  });
});

describe("LOOM_MIN_GAIN", () => {
  it("reads a share from 0 to 1 written as a decimal", () => {
    for (const [raw, value] of [
      ["0", 0],
      ["0.05", 0.05],
      ["1", 1],
      [" 0.5 ", 0.5],
      ["1.0", 1],
    ] as const)
      expect(loadConfig({ env: { LOOM_MIN_GAIN: raw }, cwd: "/nonexistent" }).minGain).toBe(value);
  });
});

describe("bad values", () => {
  const cases: [Record<string, string>, string][] = [
    [
      { LOOM_MAX_ITERATIONS: "abc" },
      'LOOM_MAX_ITERATIONS="abc" is not valid: expected a whole number from 1 to 1000 (default 40)',
    ],
    [
      { LOOM_LAB_TIMEOUT_MS: "-5" },
      'LOOM_LAB_TIMEOUT_MS="-5" is not valid: expected a whole number from 1000 to 86400000 (default 300000)',
    ],
    [
      { LOOM_RUNTIME: "vmware" },
      'LOOM_RUNTIME="vmware" is not valid: expected one of auto, docker, podman, apple, local, swarm (default auto)',
    ],
    [{ LOOM_PROMOTE: "yes" }, 'LOOM_PROMOTE="yes" is not valid: expected one of auto, manual (default auto)'],
    [
      { LOOM_CANDIDATES: "0" },
      'LOOM_CANDIDATES="0" is not valid: expected a whole number from 1 to 16 (default 1)',
    ],
    [
      { LOOM_CANDIDATES: "17" },
      'LOOM_CANDIDATES="17" is not valid: expected a whole number from 1 to 16 (default 1)',
    ],
    [
      { LOOM_LAB_POOL: "17" },
      'LOOM_LAB_POOL="17" is not valid: expected a whole number from 0 to 16 (default 0)',
    ],
    [
      { LOOM_LAB_POOL: "-1" },
      'LOOM_LAB_POOL="-1" is not valid: expected a whole number from 0 to 16 (default 0)',
    ],
    [
      { LOOM_PARENT: "best" },
      'LOOM_PARENT="best" is not valid: expected one of main, archive (default main)',
    ],
    [
      { LOOM_FINALISTS: "0" },
      'LOOM_FINALISTS="0" is not valid: expected a whole number from 1 to 16 (default 1)',
    ],
    [
      { LOOM_FITNESS: "benchmarks" },
      'LOOM_FITNESS="benchmarks" is not valid: expected one of gates, tasks (default gates)',
    ],
    ...["2", "-0.1", "0.5.1", "1e-2", ".5"].map((value): [Record<string, string>, string] => [
      { LOOM_MIN_GAIN: value },
      `LOOM_MIN_GAIN=${JSON.stringify(value)} is not valid: expected a number from 0 to 1, e.g. 0.05 (default 0)`,
    ]),
    [
      { LOOM_TASKS_SCREEN: "0" },
      'LOOM_TASKS_SCREEN="0" is not valid: expected a whole number from 1 to 1000 (default 6)',
    ],
    ...["a,,b", "a,", "a,a", "a b,c", Array.from({ length: 17 }, (_, i) => `m${i}`).join(",")].map(
      (value): [Record<string, string>, string] => [
        { LOOM_LAB_MODELS: value },
        `LOOM_LAB_MODELS=${JSON.stringify(value)} is not valid: expected a comma-separated list of 1 to 16 distinct model ids without spaces or empty items, e.g. claude-haiku-4-5,claude-sonnet-4-5 (if unset: LOOM_LAB_MODEL for every candidate)`,
      ],
    ),
    [
      { LOOM_SUPERVISOR_PORT: "70000" },
      'LOOM_SUPERVISOR_PORT="70000" is not valid: expected a whole number from 1 to 65535 (default 8400)',
    ],
    [
      { LOOM_PRIME_PORT: "0" },
      'LOOM_PRIME_PORT="0" is not valid: expected a whole number from 1 to 65535 (default 8401)',
    ],
    [
      { LOOM_MAX_RETRIES: "11" },
      'LOOM_MAX_RETRIES="11" is not valid: expected a whole number from 0 to 10 (default 4)',
    ],
    [
      { LOOM_MAX_ITERATIONS: "1e3" },
      'LOOM_MAX_ITERATIONS="1e3" is not valid: expected a whole number from 1 to 1000 (default 40)',
    ],
    [
      { LOOM_TOKEN_BUDGET: "1.5" },
      'LOOM_TOKEN_BUDGET="1.5" is not valid: expected a whole number of at least 0 (0 = unlimited) (default 0)',
    ],
    [
      { LOOM_LAB_API_BASE: "not a url" },
      'LOOM_LAB_API_BASE="not a url" is not valid: expected an http:// or https:// URL, e.g. http://127.0.0.1:8080 (if unset: the SDK\'s default)',
    ],
    [
      { ANTHROPIC_BASE_URL: "ftp://127.0.0.1/" },
      'ANTHROPIC_BASE_URL="ftp://127.0.0.1/" is not valid: expected an http:// or https:// URL, e.g. http://127.0.0.1:8080 (if unset: the SDK\'s default)',
    ],
    [
      { LOOM_LAB_MODEL: "claude haiku" },
      'LOOM_LAB_MODEL="claude haiku" is not valid: expected a model id without spaces (if unset: LOOM_MODEL if set, else claude-haiku-4-5-20251001)',
    ],
    [
      { LOOM_BIND_HOST: "bad host!" },
      'LOOM_BIND_HOST="bad host!" is not valid: expected an IP address or host name, e.g. 127.0.0.1, ::1 or localhost (default 127.0.0.1)',
    ],
    [
      { LOOM_NETWORK: "-net" },
      "LOOM_NETWORK=\"-net\" is not valid: expected a network name of letters, digits, '_', '.' or '-', starting with a letter or digit (default loom-net)",
    ],
    [
      { LOOM_REGISTRY: "http://127.0.0.1:5000" },
      'LOOM_REGISTRY="http://127.0.0.1:5000" is not valid: expected a registry address HOST:PORT or HOST without scheme or path, e.g. 127.0.0.1:5000 (if unset: Loom\'s own registry under <state>/registry on 127.0.0.1:LOOM_REGISTRY_PORT)',
    ],
    [
      { LOOM_REGISTRY: "127.0.0.1:70000" },
      'LOOM_REGISTRY="127.0.0.1:70000" is not valid: expected a registry address HOST:PORT or HOST without scheme or path, e.g. 127.0.0.1:5000 (if unset: Loom\'s own registry under <state>/registry on 127.0.0.1:LOOM_REGISTRY_PORT)',
    ],
    [
      { LOOM_REGISTRY_PORT: "0" },
      'LOOM_REGISTRY_PORT="0" is not valid: expected a whole number from 1 to 65535 (default 5000)',
    ],
    [{ LOOM_REPO_PATH: "  " }, 'LOOM_REPO_PATH="  " is not valid: expected a file system path (default .)'],
    [
      { LOOM_MAX_GENERATIONS: "line1\nline2" },
      'LOOM_MAX_GENERATIONS="line1\\nline2" is not valid: expected a whole number from 0 to 100000 (0 = unlimited) (default 5)',
    ],
  ];

  it.each(cases)("%j", async (env, message) => {
    const err = configError({ env, cwd: await cwdWith() });
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toBe(message);
  });

  it("hides the values of secrets", async () => {
    const err = configError({
      env: { ANTHROPIC_API_KEY: "sk-ant secret", LOOM_SUPERVISOR_TOKEN: "t t" },
      cwd: await cwdWith(),
    });
    expect(err.message.split("\n")).toEqual([
      "ANTHROPIC_API_KEY (value hidden, 13 characters) is not valid: expected an API key without spaces (if unset: commands that call a model refuse to start)",
      "LOOM_SUPERVISOR_TOKEN (value hidden, 3 characters) is not valid: expected a token without spaces (if unset: no token is required)",
    ]);
  });

  it("names the .env file when the bad value came from it", async () => {
    const cwd = await cwdWith("LOOM_PLATEAU_WINDOW=0\n");
    expect(configError({ env: {}, cwd }).message).toBe(
      `LOOM_PLATEAU_WINDOW="0" in ${path.join(cwd, ".env")} is not valid: expected a whole number from 1 to 100 (default 3)`,
    );
  });

  it("reports every bad variable at once, one line each", async () => {
    const bad: Record<string, string> = {};
    for (const spec of configSpecs)
      bad[spec.name] = spec.name === "LOOM_REPO_PATH" || spec.name === "LOOM_STATE_DIR" ? " " : "a b!";
    const lines = configError({ env: bad, cwd: await cwdWith() }).message.split("\n");
    expect(lines).toHaveLength(configSpecs.length);
    lines.forEach((line, i) => {
      expect(line.startsWith(`${configSpecs[i]!.name}`)).toBe(true);
      expect(line).toContain(" is not valid: expected ");
    });
  });
});

describe("warnings for unknown LOOM_ variables", () => {
  it("suggests the closest name, from the environment and from .env", async () => {
    const cwd = await cwdWith("LOOM_PLATEAU_WINDOWS=2\n");
    const config = loadConfig({
      env: { LOOM_MAX_ITERATION: "5", loom_model: "x", LOOM_ZZZ_QQQ: "1", LOOM_EMPTY: "", HOME: "/h" },
      cwd,
    });
    expect(config.warnings).toEqual([
      "LOOM_MAX_ITERATION is not a Loom variable; did you mean LOOM_MAX_ITERATIONS?",
      "LOOM_PLATEAU_WINDOWS is not a Loom variable; did you mean LOOM_PLATEAU_WINDOW?",
      "LOOM_ZZZ_QQQ is not a Loom variable; env-template lists the variables Loom reads",
      "loom_model is not a Loom variable; did you mean LOOM_MODEL?",
    ]);
    expect(config.maxIterations).toBe(40);
  });
});

describe("requireApiKey", () => {
  it("returns the key each role uses", async () => {
    const cwd = await cwdWith();
    const config = loadConfig({ env: { ANTHROPIC_API_KEY: "a", LOOM_LAB_API_KEY: "b" }, cwd });
    expect(requireApiKey(config, "prime")).toBe("a");
    expect(requireApiKey(config, "lab")).toBe("b");
    expect(requireApiKey(loadConfig({ env: { ANTHROPIC_API_KEY: "a" }, cwd }), "lab")).toBe("a");
  });

  it("names the variable to set when the key is missing", async () => {
    const cwd = await cwdWith();
    const none = loadConfig({ env: {}, cwd });
    expect(() => requireApiKey(none, "prime")).toThrow(
      new ConfigError(
        "ANTHROPIC_API_KEY is not set; Prime calls the model and needs it: set it in the environment or in .env",
      ),
    );
    expect(() => requireApiKey(none, "lab")).toThrow(
      new ConfigError(
        "neither LOOM_LAB_API_KEY nor ANTHROPIC_API_KEY is set; Labs call the model and need one: set either in the environment or in .env",
      ),
    );
    // A Lab-only key does not satisfy Prime.
    expect(() => requireApiKey(loadConfig({ env: { LOOM_LAB_API_KEY: "b" }, cwd }), "prime")).toThrow(
      ConfigError,
    );
  });
});

describe("formatConfigError", () => {
  it("prints one problem as is and several as an indented list; ignores other errors", async () => {
    const cwd = await cwdWith();
    const one = configError({ env: { LOOM_RUNTIME: "x" }, cwd });
    expect(formatConfigError(one)).toBe(one.message);
    const two = configError({ env: { LOOM_RUNTIME: "x", LOOM_PROMOTE: "y" }, cwd });
    expect(formatConfigError(two)).toBe(
      [
        "2 configuration problems:",
        '  LOOM_RUNTIME="x" is not valid: expected one of auto, docker, podman, apple, local, swarm (default auto)',
        '  LOOM_PROMOTE="y" is not valid: expected one of auto, manual (default auto)',
      ].join("\n"),
    );
    expect(formatConfigError(new Error("boom"))).toBeUndefined();
  });
});
