import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDotenv, readDotenvFile } from "../../src/shared/dotenv.ts";
import { ConfigError } from "../../src/shared/errors.ts";

function parseError(text: string, file = "/x/.env"): ConfigError {
  try {
    parseDotenv(text, file);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("parseDotenv", () => {
  it("reads KEY=VALUE, export prefixes, blank lines and comment lines", () => {
    const text = [
      "# a comment",
      "",
      "A=1",
      "export B=two",
      "  C = spaced  ",
      "   # indented comment",
      "D=",
    ].join("\n");
    expect({ ...parseDotenv(text) }).toEqual({ A: "1", B: "two", C: "spaced", D: "" });
  });

  it("strips inline ` #` comments from unquoted values but keeps # without a space before it", () => {
    const env = parseDotenv(
      "A=value # note\nB=http://h/#frag\nC=#not-a-comment\nD= # only a comment\nE=a\t#tab",
    );
    expect({ ...env }).toEqual({ A: "value", B: "http://h/#frag", C: "#not-a-comment", D: "", E: "a" });
  });

  it("double quotes support escapes and keep # and spaces", () => {
    const env = parseDotenv(String.raw`A="line1\nline2" # c
B="tab\there \"q\" back\\slash"
C="  # not a comment  "
D="C:\path"`);
    expect(env.A).toBe("line1\nline2");
    expect(env.B).toBe('tab\there "q" back\\slash');
    expect(env.C).toBe("  # not a comment  ");
    expect(env.D).toBe("C:\\path");
  });

  it("single quotes are literal", () => {
    const env = parseDotenv(String.raw`A='no\nescape # here' # comment`);
    expect(env.A).toBe(String.raw`no\nescape # here`);
  });

  it("handles CRLF, a BOM, and later lines winning", () => {
    expect({ ...parseDotenv("\uFEFFA=1\r\nB=2\r\nA=3\r\n") }).toEqual({ A: "3", B: "2" });
  });

  it("treats __proto__ as an ordinary key", () => {
    const env = parseDotenv("__proto__=x\nconstructor=y");
    expect(Object.getOwnPropertyDescriptor(env, "__proto__")?.value).toBe("x");
    expect(Object.getPrototypeOf(env)).toBeNull();
    expect(Object.keys(env).sort()).toEqual(["__proto__", "constructor"]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it("names the file and line number of a line without =", () => {
    expect(parseError("A=1\n\nNOT A PAIR\n").message).toBe(
      '/x/.env:3: missing "="; expected KEY=VALUE, optionally prefixed by "export "',
    );
  });

  it("reports a bad key, unterminated quotes and text after a closing quote, every line", () => {
    const err = parseError(["1A=x", 'B="open', "C='open", 'D="x" y', "E='x'y", "F-G=1"].join("\n"));
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message.split("\n")).toEqual([
      '/x/.env:1: "1A" is not a variable name (letters, digits and _, not starting with a digit); expected KEY=VALUE, optionally prefixed by "export "',
      '/x/.env:2: unterminated double quote (values must fit on one line; use \\n); expected KEY=VALUE, optionally prefixed by "export "',
      '/x/.env:3: unterminated single quote; expected KEY=VALUE, optionally prefixed by "export "',
      '/x/.env:4: unexpected text after the closing double quote; expected KEY=VALUE, optionally prefixed by "export "',
      '/x/.env:5: unexpected text after the closing single quote; expected KEY=VALUE, optionally prefixed by "export "',
      '/x/.env:6: "F-G" is not a variable name (letters, digits and _, not starting with a digit); expected KEY=VALUE, optionally prefixed by "export "',
    ]);
  });

  it("does not echo a malformed line's text, which may hold a secret", () => {
    expect(parseError('SECRET="sk-abc123').message).not.toContain("sk-abc123");
  });
});

describe("readDotenvFile", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "loom-dotenv-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("parses an existing file and returns undefined for a missing one", async () => {
    const file = path.join(dir, "a.env");
    await writeFile(file, "A=1\n");
    expect({ ...readDotenvFile(file) }).toEqual({ A: "1" });
    expect(readDotenvFile(path.join(dir, "missing.env"))).toBeUndefined();
  });

  it("names the file in parse errors", async () => {
    const file = path.join(dir, "bad.env");
    await writeFile(file, "A=1\noops\n");
    expect(() => readDotenvFile(file)).toThrow(`${file}:2: missing "="`);
  });

  it("refuses a directory with a clear ConfigError", async () => {
    const sub = path.join(dir, "adir");
    await mkdir(sub);
    expect(() => readDotenvFile(sub)).toThrow(
      new ConfigError(`${sub}: cannot be read (EISDIR); expected a readable .env file`),
    );
  });

  it.skipIf(process.getuid?.() === 0)("refuses an unreadable file", async () => {
    const file = path.join(dir, "locked.env");
    await writeFile(file, "A=1\n");
    await chmod(file, 0o000);
    expect(() => readDotenvFile(file)).toThrow(`${file}: cannot be read (EACCES)`);
  });
});
