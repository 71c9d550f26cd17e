import path from "node:path";
import {
  type ConfigSpec,
  type ConfigValues,
  type ConfigVarName,
  configKey,
  configSpecs,
  LAB_MODEL_DEFAULT,
} from "./config/specs.ts";
import { closest } from "./config/suggest.ts";
import { readDotenvFile } from "./dotenv.ts";
import { ConfigError } from "./errors.ts";

export type { ConfigSpec, ConfigValues, ConfigVarName } from "./config/specs.ts";
export { configSpecs, LAB_MODEL_DEFAULT, PRIME_MODEL_DEFAULT } from "./config/specs.ts";
export { diffEnvTemplate, renderEnvTemplate } from "./config/template.ts";

/** Where a variable's value came from; "unset" only for variables without a default. */
export type ConfigSource = "environment" | "dotenv" | "default" | "unset";

/** Raw variables that only feed the resolved fields below; one name per meaning. */
type Superseded = "model" | "labModel" | "labModels" | "labApiKey" | "labApiBase" | "anthropicBaseUrl";

export type Config = Omit<ConfigValues, Superseded> & {
  /** LOOM_MODEL. */
  readonly primeModel: string;
  /** LOOM_LAB_MODEL → LOOM_MODEL (if set) → LAB_MODEL_DEFAULT. */
  readonly labModel: string;
  /** LOOM_LAB_MODELS → [labModel]: candidate i of a round runs labModels[(i - 1) % length]. */
  readonly labModels: readonly string[];
  /** LOOM_LAB_API_KEY → ANTHROPIC_API_KEY; use requireApiKey to insist on one. */
  readonly labApiKey: string | undefined;
  /** LOOM_LAB_API_BASE; undefined lets the SDK choose its default. */
  readonly labApiBase: string | undefined;
  /** ANTHROPIC_BASE_URL; undefined lets the SDK choose its default. */
  readonly primeBaseUrl: string | undefined;
  /** Absolute: LOOM_REPO_PATH resolved against the working directory. */
  readonly repoPath: string;
  /** Absolute: LOOM_STATE_DIR resolved against repoPath. */
  readonly stateDir: string;
  readonly sources: Readonly<Record<ConfigVarName, ConfigSource>>;
  /** The .env file that was read, if any. */
  readonly dotenvPath: string | undefined;
  /** Unknown LOOM_* variables (likely typos); not errors. */
  readonly warnings: readonly string[];
};

export interface LoadConfigOptions {
  /** Defaults to process.env; never modified. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where .env and a relative LOOM_REPO_PATH are looked up; defaults to process.cwd(). */
  readonly cwd?: string;
  /** A .env file to read instead of `<cwd>/.env`; unlike the default, it must exist. */
  readonly dotenvPath?: string;
}

function fallbackText(spec: ConfigSpec): string {
  return spec.default !== undefined ? `default ${spec.default}` : `if unset: ${spec.ifUnset}`;
}

function invalidMessage(spec: ConfigSpec, raw: string, file: string | undefined): string {
  const shown = spec.secret ? ` (value hidden, ${raw.length} characters)` : `=${JSON.stringify(raw)}`;
  const where = file === undefined ? "" : ` in ${file}`;
  return `${spec.name}${shown}${where} is not valid: expected ${spec.type.accepted} (${fallbackText(spec)})`;
}

function unknownVariableWarnings(names: Iterable<string>): string[] {
  const known: readonly string[] = configSpecs.map((s) => s.name);
  const warnings: string[] = [];
  for (const name of new Set(names)) {
    if (!/^LOOM_/i.test(name) || known.includes(name)) continue;
    const guess = closest(name.toUpperCase(), known);
    const hint = guess ? `did you mean ${guess}?` : "env-template lists the variables Loom reads";
    warnings.push(`${name} is not a Loom variable; ${hint}`);
  }
  return warnings.sort();
}

function setNames(vars: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(vars).filter((k) => vars[k] !== undefined && vars[k] !== "");
}

/**
 * Reads `.env` and the environment (the environment wins; an empty string counts as unset), validates
 * every variable in `configSpecs`, and resolves the derived fields. Throws one ConfigError listing every
 * bad value, one line each.
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const dotenvFile = path.resolve(cwd, opts.dotenvPath ?? ".env");
  const fileVars = readDotenvFile(dotenvFile);
  if (fileVars === undefined && opts.dotenvPath !== undefined) {
    throw new ConfigError(
      `dotenv file ${JSON.stringify(dotenvFile)} does not exist; pass an existing file, or none to read .env in the working directory`,
    );
  }

  const values: Record<string, unknown> = {};
  const sources: Record<string, ConfigSource> = {};
  const problems: string[] = [];
  for (const spec of configSpecs as readonly ConfigSpec[]) {
    const fromEnv = env[spec.name];
    const fromFile = fileVars?.[spec.name];
    const [raw, source]: [string | undefined, ConfigSource] = fromEnv
      ? [fromEnv, "environment"]
      : fromFile
        ? [fromFile, "dotenv"]
        : spec.default !== undefined
          ? [spec.default, "default"]
          : [undefined, "unset"];
    sources[spec.name] = source;
    if (raw === undefined) {
      values[configKey(spec.name)] = undefined;
      continue;
    }
    const value = spec.type.parse(raw);
    if (value === undefined)
      problems.push(invalidMessage(spec, raw, source === "dotenv" ? dotenvFile : undefined));
    values[configKey(spec.name)] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems.join("\n"));

  const parsed = values as unknown as ConfigValues;
  const repoPath = path.resolve(cwd, parsed.repoPath);
  const { model, labModel, labModels, labApiKey, labApiBase, anthropicBaseUrl, ...rest } = parsed;
  const resolvedLabModel = labModel ?? (sources.LOOM_MODEL === "default" ? LAB_MODEL_DEFAULT : model);
  return {
    ...rest,
    primeModel: model,
    labModel: resolvedLabModel,
    labModels: labModels ?? [resolvedLabModel],
    labApiKey: labApiKey ?? parsed.anthropicApiKey,
    labApiBase,
    primeBaseUrl: anthropicBaseUrl,
    repoPath,
    stateDir: path.resolve(repoPath, parsed.stateDir),
    sources: sources as Record<ConfigVarName, ConfigSource>,
    dotenvPath: fileVars === undefined ? undefined : dotenvFile,
    warnings: unknownVariableWarnings([...setNames(env), ...(fileVars ? setNames(fileVars) : [])]),
  };
}

/** The API key a role needs, or a ConfigError naming the variable to set. */
export function requireApiKey(config: Config, role: "prime" | "lab"): string {
  if (role === "prime") {
    if (config.anthropicApiKey) return config.anthropicApiKey;
    throw new ConfigError(
      "ANTHROPIC_API_KEY is not set; Prime calls the model and needs it: set it in the environment or in .env",
    );
  }
  if (config.labApiKey) return config.labApiKey;
  throw new ConfigError(
    "neither LOOM_LAB_API_KEY nor ANTHROPIC_API_KEY is set; Labs call the model and need one: set either in the environment or in .env",
  );
}

/** Text for the CLI to print (no stack) for a ConfigError; undefined for any other error. */
export function formatConfigError(err: unknown): string | undefined {
  if (!(err instanceof ConfigError)) return undefined;
  const lines = err.message.split("\n");
  if (lines.length === 1) return lines[0];
  return [`${lines.length} configuration problems:`, ...lines.map((l) => `  ${l}`)].join("\n");
}

/**
 * How long whoever spawned a Lab waits for its record to leave running: as long as the Supervisor lets
 * it run (its start up to LOOM_LAB_READY_TIMEOUT_MS, then LOOM_LAB_TIMEOUT_MS) plus a minute for its
 * stop and the fetch of its branch.
 */
export function labWaitMs(config: Pick<Config, "labReadyTimeoutMs" | "labTimeoutMs">): number {
  return config.labReadyTimeoutMs + config.labTimeoutMs + 60_000;
}
