import { MAX_CANDIDATES } from "../../../schemas/round-limits.ts";
import {
  absolutePath,
  bindHost,
  decimal,
  filePath,
  httpUrl,
  modelList,
  networkName,
  oneOf,
  registryAddress,
  swarmConstraints,
  type ValueType,
  wholeNumber,
  word,
} from "./value-types.ts";

export const PRIME_MODEL_DEFAULT = "claude-sonnet-4-20250514";
export const LAB_MODEL_DEFAULT = "claude-haiku-4-5-20251001";
export const RUNTIMES = ["auto", "docker", "podman", "apple", "local", "swarm"] as const;
export const PROMOTE_MODES = ["auto", "manual"] as const;
export const PARENT_MODES = ["main", "archive"] as const;
export const FITNESS_MODES = ["gates", "tasks"] as const;

/**
 * One configuration variable. `default` is raw text, parsed by `type` like any other value, so the
 * env-template shows exactly what Loom uses. A variable without one says what unset means in `ifUnset`.
 */
export interface ConfigSpec<N extends string = string, T = unknown> {
  readonly name: N;
  /** One line; also the comment above the variable in env-template. */
  readonly purpose: string;
  readonly type: ValueType<T>;
  readonly default?: string;
  readonly ifUnset?: string;
  /** Never echoed in messages. */
  readonly secret?: boolean;
}

function spec<const N extends string, T, const D extends string | undefined = undefined>(
  s: ConfigSpec<N, T> & { default?: D },
): ConfigSpec<N, T> & { default: D } {
  return { ...s, default: s.default as D };
}

const ms = (min: number, max: number) => wholeNumber(min, max);

/** The single source for every variable Loom reads: Config, validation and env-template derive from it. */
export const configSpecs = [
  spec({
    name: "ANTHROPIC_API_KEY",
    purpose: "Anthropic API key; required by commands that call a model",
    type: word("an API key"),
    ifUnset: "commands that call a model refuse to start",
    secret: true,
  }),
  spec({
    name: "ANTHROPIC_BASE_URL",
    purpose: "Prime's API base URL, the SDK's own variable (empty = the SDK's default)",
    type: httpUrl,
    ifUnset: "the SDK's default",
  }),
  spec({
    name: "LOOM_MODEL",
    purpose: "Model for Prime",
    type: word("a model id"),
    default: PRIME_MODEL_DEFAULT,
  }),
  spec({
    name: "LOOM_LAB_API_KEY",
    purpose: "API key for Labs (empty = ANTHROPIC_API_KEY)",
    type: word("an API key"),
    ifUnset: "ANTHROPIC_API_KEY",
    secret: true,
  }),
  spec({
    name: "LOOM_LAB_API_BASE",
    purpose: "API base URL for Labs (empty = the SDK's default)",
    type: httpUrl,
    ifUnset: "the SDK's default",
  }),
  spec({
    name: "LOOM_LAB_MODEL",
    purpose: `Model for Labs (empty = LOOM_MODEL if set, else ${LAB_MODEL_DEFAULT})`,
    type: word("a model id"),
    ifUnset: `LOOM_MODEL if set, else ${LAB_MODEL_DEFAULT}`,
  }),
  spec({
    name: "LOOM_LAB_MODELS",
    purpose:
      "Models the candidates of a round draw from, in turn by candidate index (a comma list, e.g. a,b; empty = LOOM_LAB_MODEL for every candidate)",
    type: modelList(MAX_CANDIDATES),
    ifUnset: "LOOM_LAB_MODEL for every candidate",
  }),
  spec({
    name: "LOOM_CANDIDATES",
    purpose: `Labs a spawn starts at once on the same program.md, each a generation of one round (1 to ${MAX_CANDIDATES})`,
    type: wholeNumber(1, MAX_CANDIDATES),
    default: "1",
  }),
  spec({
    name: "LOOM_LAB_POOL",
    purpose: `Labs the Supervisor keeps started ahead of their generation on docker or podman with the workspace mounted (0 to ${MAX_CANDIDATES}; e.g. LOOM_CANDIDATES): a spawn claims them instead of starting containers, and they are refilled once the claimed Labs answer. 0 = every Lab starts when spawned`,
    type: wholeNumber(0, MAX_CANDIDATES),
    default: "0",
  }),
  spec({
    name: "LOOM_PARENT",
    purpose:
      "What each candidate builds on: main (the latest promoted generation), or archive (main or an archived generation verified in full, drawn by fitness and fewest children; promoted only when it beats main's fitness)",
    type: oneOf(PARENT_MODES),
    default: "main",
  }),
  spec({
    name: "LOOM_FINALISTS",
    purpose: `Candidates of an autonomous round that get the full suite and the review, best first, until one wins; the others stop after the tests their change reaches (1 to ${MAX_CANDIDATES})`,
    type: wholeNumber(1, MAX_CANDIDATES),
    default: "1",
  }),
  spec({
    name: "LOOM_FITNESS",
    purpose:
      "How a candidate is judged: gates (its own gates, the review, diff size and test speed), or tasks (its Lab agent against main's on main's tasks/, paired task by task: a staged subset among the cheap stages, all of them for finalists; promoted only with a gain the paired test does not call noise)",
    type: oneOf(FITNESS_MODES),
    default: "gates",
  }),
  spec({
    name: "LOOM_MIN_GAIN",
    purpose:
      "Under LOOM_FITNESS=tasks: the least gain in solved share over main (0 to 1) a candidate needs to be promoted, besides the paired test not calling it noise",
    type: decimal(0, 1),
    default: "0",
  }),
  spec({
    name: "LOOM_TASKS_SCREEN",
    purpose:
      "Under LOOM_FITNESS=tasks: how many of main's tasks the staged subset holds, run among the cheap stages (a candidate that solves fewer of them than main stops there)",
    type: wholeNumber(1, 1000),
    default: "6",
  }),
  spec({
    name: "LOOM_LAB_MODEL_SOCKET",
    purpose:
      "Unix socket of the Supervisor's model proxy; a Lab sends its model requests over it, LOOM_LAB_API_KEY then holds the proxy's token (set by the Supervisor)",
    type: absolutePath,
    ifUnset: "the Lab calls LOOM_LAB_API_BASE directly",
  }),
  spec({
    name: "LOOM_LAB_TIMEOUT_MS",
    purpose: "Wall-clock limit for one Lab run, in milliseconds",
    type: ms(1000, 86_400_000),
    default: "300000",
  }),
  spec({
    name: "LOOM_LAB_READY_TIMEOUT_MS",
    purpose:
      "How long a started Lab may take to first answer GET /status (its process, modules and workspace; on a swarm node also its relay's clone), in milliseconds",
    type: ms(1000, 3_600_000),
    default: "60000",
  }),
  spec({
    name: "LOOM_VERIFY_TIMEOUT_MS",
    purpose: "Time limit for each verification step (install, check, tests, acceptance), in milliseconds",
    type: ms(1000, 86_400_000),
    default: "1200000",
  }),
  spec({
    name: "LOOM_MAX_ITERATIONS",
    purpose: "Max tool-use iterations per turn (forwarded to Labs)",
    type: wholeNumber(1, 1000),
    default: "40",
  }),
  spec({
    name: "LOOM_MAX_GENERATIONS",
    purpose: "Max generations per Supervisor run (0 = unlimited)",
    type: wholeNumber(0, 100_000, "unlimited"),
    default: "5",
  }),
  spec({
    name: "LOOM_TOKEN_BUDGET",
    purpose:
      "Token budget of an autonomous run across its generations; the model proxy also holds each generation to it (0 = unlimited)",
    type: wholeNumber(0, undefined, "unlimited"),
    default: "0",
  }),
  spec({
    name: "LOOM_PLATEAU_WINDOW",
    purpose: "Stop after this many promoted generations in a row bring no fitness improvement",
    type: wholeNumber(1, 100),
    default: "3",
  }),
  spec({
    name: "LOOM_REPO_PATH",
    purpose: "Repository Loom evolves (relative to the working directory)",
    type: filePath,
    default: ".",
  }),
  spec({
    name: "LOOM_NETWORK",
    purpose:
      "Network of the verification install step (docker, podman) and of Labs under apple; other Labs and steps get none",
    type: networkName,
    default: "loom-net",
  }),
  spec({
    name: "LOOM_RUNTIME",
    purpose: "Container runtime (auto picks the first available)",
    type: oneOf(RUNTIMES),
    default: "auto",
  }),
  spec({
    name: "LOOM_SWARM_CONSTRAINTS",
    purpose:
      "Placement constraints of every swarm service (LOOM_RUNTIME=swarm), separated by ';', e.g. node.role==worker;node.labels.loom==lab",
    type: swarmConstraints,
    ifUnset: "none: Swarm places each Lab and step on any node",
  }),
  spec({
    name: "LOOM_WORKSPACE_TRANSPORT",
    purpose:
      "How a Lab and a verification step get their workspace: mount (a bind mount of the Supervisor's folder) or git (cloned through the Lab gateway, nothing mounted; docker and swarm). Swarm always uses git",
    type: oneOf(["mount", "git"] as const),
    default: "mount",
  }),
  spec({
    name: "LOOM_GATEWAY_PORT",
    purpose:
      "Port of the Lab gateway under LOOM_RUNTIME=swarm (Labs on any node reach their workspace, model proxy and Supervisor through it); 0 = any free port",
    type: wholeNumber(0, 65535),
    default: "0",
  }),
  spec({
    name: "LOOM_GATEWAY_URL",
    purpose:
      "The URL swarm nodes reach the Lab gateway at, http://HOST:PORT (the manager's address on a cluster)",
    type: httpUrl,
    ifUnset: "http://LOOM_BIND_HOST:<the gateway's port>",
  }),
  spec({
    name: "LOOM_REGISTRY",
    purpose:
      "Registry the swarm nodes pull the Lab image from, HOST:PORT (empty = Loom's own: Debian's docker-registry under <state>/registry on 127.0.0.1:LOOM_REGISTRY_PORT)",
    type: registryAddress,
    ifUnset: "Loom's own registry under <state>/registry on 127.0.0.1:LOOM_REGISTRY_PORT",
  }),
  spec({
    name: "LOOM_REGISTRY_PORT",
    purpose: "Port of Loom's own image registry on 127.0.0.1 (used when LOOM_REGISTRY is empty)",
    type: wholeNumber(1, 65535),
    default: "5000",
  }),
  spec({
    name: "LOOM_STATE_DIR",
    purpose: "Lineage, logs and run state (relative to LOOM_REPO_PATH)",
    type: filePath,
    default: ".loom",
  }),
  spec({
    name: "LOOM_SUPERVISOR_PORT",
    purpose: "Supervisor HTTP port",
    type: wholeNumber(1, 65535),
    default: "8400",
  }),
  spec({ name: "LOOM_PRIME_PORT", purpose: "Prime HTTP port", type: wholeNumber(1, 65535), default: "8401" }),
  spec({
    name: "LOOM_PRIME_HEALTH_TIMEOUT_MS",
    purpose: "How long a (re)started Prime may take to answer GET /health, in milliseconds",
    type: ms(1000, 600_000),
    default: "60000",
  }),
  spec({
    name: "LOOM_SHUTDOWN_GRACE_MS",
    purpose:
      "How long the Supervisor, on SIGTERM or SIGINT, waits for a promotion or rollback in flight before it shuts down, in milliseconds",
    type: ms(0, 600_000),
    default: "30000",
  }),
  spec({ name: "LOOM_LAB_PORT", purpose: "Lab HTTP port", type: wholeNumber(1, 65535), default: "8402" }),
  spec({
    name: "LOOM_BIND_HOST",
    purpose: "Address the HTTP servers listen on",
    type: bindHost,
    default: "127.0.0.1",
  }),
  spec({
    name: "LOOM_SUPERVISOR_URL",
    purpose: "Where Prime and the CLI reach the Supervisor's HTTP API",
    type: httpUrl,
    default: "http://127.0.0.1:8400",
  }),
  spec({
    name: "LOOM_SUPERVISOR_TOKEN",
    purpose: "Bearer token the Supervisor requires (empty = no token)",
    type: word("a token"),
    ifUnset: "no token is required",
    secret: true,
  }),
  spec({
    name: "LOOM_LAB_TOKEN",
    purpose: "Bearer token a Lab's server requires on every request (the Supervisor sets one per generation)",
    type: word("a token"),
    ifUnset: "no token is required (the Origin, Host and content-type rules still hold)",
    secret: true,
  }),
  spec({
    name: "LOOM_HTTP_HEADERS_TIMEOUT_MS",
    purpose:
      "How long the HTTP servers wait for a request's headers before closing the connection, in milliseconds",
    type: ms(100, 600_000),
    default: "10000",
  }),
  spec({
    name: "LOOM_HTTP_BODY_TIMEOUT_MS",
    purpose:
      "How long the HTTP servers wait for a whole request, headers and body, before closing the connection, in milliseconds",
    type: ms(100, 3_600_000),
    default: "30000",
  }),
  spec({
    name: "LOOM_SSE_MAX_CLIENTS",
    purpose:
      "Concurrent event streams (GET /logs, POST /chat) each server keeps open; more are refused with 503",
    type: wholeNumber(1, 10_000),
    default: "32",
  }),
  spec({
    name: "LOOM_PROMOTE",
    purpose: "Promote verified generations automatically or wait for approval",
    type: oneOf(PROMOTE_MODES),
    default: "auto",
  }),
  spec({
    name: "LOOM_REQUEST_TIMEOUT_MS",
    purpose: "Timeout for one model request, in milliseconds",
    type: ms(1000, 3_600_000),
    default: "120000",
  }),
  spec({
    name: "LOOM_MAX_RETRIES",
    purpose: "Retries for a failed model request",
    type: wholeNumber(0, 10),
    default: "4",
  }),
  spec({
    name: "LOOM_EVAL_TIMEOUT_MS",
    purpose: "Timeout for one Lab eval request, in milliseconds",
    type: ms(100, 600_000),
    default: "5000",
  }),
  spec({
    name: "LOOM_TOOL_TIMEOUT_MS",
    purpose: "Timeout for one tool call, in milliseconds",
    type: ms(1000, 3_600_000),
    default: "120000",
  }),
  spec({
    name: "LOOM_MAX_CONTEXT_MESSAGES",
    purpose: "Messages kept in the model's context window",
    type: wholeNumber(2, 10_000),
    default: "20",
  }),
] as const;

export type ConfigSpecs = typeof configSpecs;
export type ConfigVarName = ConfigSpecs[number]["name"];

/** LOOM_MAX_ITERATIONS → maxIterations, ANTHROPIC_API_KEY → anthropicApiKey. */
type Camel<S extends string> = S extends `${infer H}_${infer T}`
  ? `${Lowercase<H>}${Capitalize<Camel<T>>}`
  : Lowercase<S>;
export type ConfigKey<N extends string> = N extends `LOOM_${infer R}` ? Camel<R> : Camel<N>;

export function configKey<N extends string>(name: N): ConfigKey<N> {
  const words = name
    .replace(/^LOOM_/, "")
    .toLowerCase()
    .split("_");
  return words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join("") as ConfigKey<N>;
}

type ValueOf<S> = S extends ConfigSpec<string, infer T> & { default: infer D }
  ? D extends string
    ? T
    : T | undefined
  : never;

/** Every variable's parsed value, keyed by camelCase name; variables without a default may be undefined. */
export type ConfigValues = { readonly [S in ConfigSpecs[number] as ConfigKey<S["name"]>]: ValueOf<S> };
