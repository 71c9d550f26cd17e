import { isIP } from "node:net";

/** How one variable's text becomes a value: `parse` returns undefined when the text is not accepted. */
export interface ValueType<T> {
  /** Completes "expected …" in error messages. */
  readonly accepted: string;
  readonly parse: (raw: string) => T | undefined;
}

/** A whole number in [min, max]; `zeroMeans` documents a special 0 such as "unlimited". */
export function wholeNumber(min: number, max?: number, zeroMeans?: string): ValueType<number> {
  const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
  const limit = max ?? Number.MAX_SAFE_INTEGER;
  return {
    accepted: `a whole number ${range}${zeroMeans ? ` (0 = ${zeroMeans})` : ""}`,
    parse: (raw) => {
      const text = raw.trim();
      if (!/^\d{1,16}$/.test(text)) return undefined;
      const n = Number(text);
      return n >= min && n <= limit ? n : undefined;
    },
  };
}

/** A decimal number in [min, max], e.g. 0.05 (no exponent, no sign: a share or a rate). */
export function decimal(min: number, max: number): ValueType<number> {
  return {
    accepted: `a number from ${min} to ${max}, e.g. 0.05`,
    parse: (raw) => {
      const text = raw.trim();
      if (!/^\d{1,6}(\.\d{1,6})?$/.test(text)) return undefined;
      const n = Number(text);
      return n >= min && n <= max ? n : undefined;
    },
  };
}

export function oneOf<const T extends string>(choices: readonly T[]): ValueType<T> {
  return {
    accepted: `one of ${choices.join(", ")}`,
    parse: (raw) => choices.find((c) => c === raw.trim()),
  };
}

/** An absolute http(s) URL, returned as given (trimmed) so the SDK sees exactly what the user wrote. */
export const httpUrl: ValueType<string> = {
  accepted: "an http:// or https:// URL, e.g. http://127.0.0.1:8080",
  parse: (raw) => {
    const text = raw.trim();
    if (!URL.canParse(text)) return undefined;
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "" ? text : undefined;
  },
};

/** Keys, tokens and model ids travel in headers and JSON: any whitespace in them is a copy-paste slip. */
export function word(what: string): ValueType<string> {
  return {
    accepted: `${what} without spaces`,
    parse: (raw) => (raw !== "" && !/\s/.test(raw) ? raw : undefined),
  };
}

export const filePath: ValueType<string> = {
  accepted: "a file system path",
  parse: (raw) => (raw.trim() !== "" && !raw.includes("\0") ? raw : undefined),
};

/** An absolute path (a unix socket's, say), so its meaning does not depend on the working directory. */
export const absolutePath: ValueType<string> = {
  accepted: "an absolute path, e.g. /run/loom/model.sock",
  parse: (raw) => (raw.startsWith("/") && !raw.includes("\0") ? raw : undefined),
};

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export const bindHost: ValueType<string> = {
  accepted: "an IP address or host name, e.g. 127.0.0.1, ::1 or localhost",
  parse: (raw) => {
    const text = raw.trim();
    return isIP(text) !== 0 || HOST_NAME.test(text) ? text : undefined;
  },
};

/**
 * A registry address as docker writes it in front of a repository: HOST:PORT or HOST (a name, an IPv4
 * address or a bracketed IPv6 one), with no scheme and no path.
 */
export const registryAddress: ValueType<string> = {
  accepted: "a registry address HOST:PORT or HOST without scheme or path, e.g. 127.0.0.1:5000",
  parse: (raw) => {
    const text = raw.trim();
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^:/\s[\]]+)(?::(\d{1,5}))?$/.exec(text);
    if (!m) return undefined;
    const [, host = "", port] = m;
    if (!host.startsWith("[") && !HOST_NAME.test(host)) return undefined;
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return undefined;
    return text;
  },
};

/** Swarm placement constraints, `;`-separated, each `key==value` or `key!=value`. */
export const swarmConstraints: ValueType<readonly string[]> = {
  accepted:
    'placement constraints "key==value" or "key!=value" separated by ";", e.g. node.role==worker;node.labels.loom==lab',
  parse: (raw) => {
    const items = raw.split(";").map((c) => c.trim());
    return items.every((c) => /^[A-Za-z0-9_.\-/]+\s*(==|!=)\s*\S+$/.test(c)) ? items : undefined;
  },
};

/** A container network name as docker and podman accept it. */
export const networkName: ValueType<string> = {
  accepted: "a network name of letters, digits, '_', '.' or '-', starting with a letter or digit",
  parse: (raw) => (/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(raw.trim()) ? raw.trim() : undefined),
};

/**
 * A comma list of model ids (`a,b`): no empty item, no spaces inside an id, no id twice (a slip like
 * `a,,b` is refused rather than read as two models).
 */
export function modelList(max: number): ValueType<readonly string[]> {
  return {
    accepted: `a comma-separated list of 1 to ${max} distinct model ids without spaces or empty items, e.g. claude-haiku-4-5,claude-sonnet-4-5`,
    parse: (raw) => {
      const items = raw.split(",").map((item) => item.trim());
      if (items.length > max || items.some((item) => item === "" || /\s/.test(item))) return undefined;
      return new Set(items).size === items.length ? items : undefined;
    },
  };
}
