import { describe, expect, it } from "vitest";
import { hostAllowed, parseHostHeader } from "../../../src/shared/http/same-origin.ts";

const served = (bindHost: string, address = bindHost, port = 8400) => ({ bindHost, address, port });

describe("which Host headers a server answers", () => {
  it("a loopback bind: its address and the loopback names, on its own port only", () => {
    const s = served("127.0.0.1");
    for (const h of ["127.0.0.1:8400", "localhost:8400", "LocalHost:8400", "[::1]:8400"])
      expect(hostAllowed(s, h), h).toBe(true);
    for (const h of [
      "127.0.0.1:8401",
      "127.0.0.1",
      "localhost",
      "127.0.0.2:8400",
      "evil.test:8400",
      "localhost.evil.test:8400",
      "[::1]",
      "",
      ":8400",
      "127.0.0.1:8400:1",
    ])
      expect(hostAllowed(s, h), h).toBe(false);
    expect(hostAllowed(served("localhost", "127.0.0.1"), "localhost:8400")).toBe(true);
    expect(hostAllowed(served("::1"), "[::1]:8400")).toBe(true);
  });

  it("a wildcard bind: localhost and any IP literal on its port, never a name", () => {
    for (const s of [served("0.0.0.0"), served("::")]) {
      for (const h of ["127.0.0.1:8400", "10.1.2.3:8400", "[fe80::1]:8400", "localhost:8400"])
        expect(hostAllowed(s, h), h).toBe(true);
      for (const h of ["myhost:8400", "evil.test:8400", "10.1.2.3:80", "10.1.2.3"])
        expect(hostAllowed(s, h), h).toBe(false);
    }
  });

  it("any other bind: its own address only", () => {
    const s = served("10.0.0.5");
    expect(hostAllowed(s, "10.0.0.5:8400")).toBe(true);
    for (const h of ["localhost:8400", "127.0.0.1:8400", "10.0.0.6:8400"])
      expect(hostAllowed(s, h), h).toBe(false);
  });

  it("parses the Host header's forms, port 80 when none is given", () => {
    expect(parseHostHeader("Example.test")).toEqual({ name: "example.test", port: 80 });
    expect(parseHostHeader("[::1]:9")).toEqual({ name: "::1", port: 9 });
    for (const bad of ["a:b", "a:99999", "[::1", "a b:1", "a:1:2"])
      expect(parseHostHeader(bad), bad).toBeUndefined();
  });
});
