import Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ScriptedModelServer,
  startScriptedModel,
  TurnCondition,
} from "../../../src/shared/scripted-model/index.ts";

let server: ScriptedModelServer | undefined;
afterEach(async () => {
  await server?.close();
});

const textOf = (reply: Anthropic.Message): string => {
  const block = reply.content[0];
  return block?.type === "text" ? block.text : block?.type === "tool_use" ? `tool:${block.name}` : "";
};

describe("when.anyUserTextIncludes", () => {
  it("matches every request of the conversation whose first message carries the text, and no other's", async () => {
    server = await startScriptedModel([
      { when: { anyUserTextIncludes: "[task a]" }, tool: "read_file", input: { path: "a" } },
      { when: { anyUserTextIncludes: "[task b]" }, tool: "read_file", input: { path: "b" } },
      { when: { anyUserTextIncludes: "[task a]" }, text: "a done" },
      { when: { anyUserTextIncludes: "[task b]" }, text: "b done" },
    ]);
    const client = new Anthropic({ apiKey: "sk-test", baseURL: server.url, maxRetries: 0 });
    const ask = (messages: Anthropic.MessageParam[]) =>
      client.messages.create({ model: "m", max_tokens: 100, messages });
    /** The second request of a conversation: the marker is only in the first user message now. */
    const followUp = (first: string, reply: Anthropic.Message): Anthropic.MessageParam[] => {
      const use = reply.content.find((b) => b.type === "tool_use");
      if (use?.type !== "tool_use") throw new Error("expected a tool call");
      return [
        { role: "user", content: first },
        { role: "assistant", content: reply.content },
        // A tool result naming the other task's marker does not count: only text blocks do.
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: use.id, content: "[task a] [task b]" }],
        },
      ];
    };
    // b asks first: it gets b's first turn although a's comes first in the script.
    const b1 = await ask([{ role: "user", content: "program\n[task b]" }]);
    expect(b1.content[0]).toMatchObject({ type: "tool_use", name: "read_file", input: { path: "b" } });
    const a1 = await ask([{ role: "user", content: "program\n[task a]" }]);
    expect(a1.content[0]).toMatchObject({ type: "tool_use", input: { path: "a" } });
    expect(textOf(await ask(followUp("program\n[task a]", a1)))).toBe("a done");
    expect(textOf(await ask(followUp("program\n[task b]", b1)))).toBe("b done");
    expect(server.remaining()).toBe(0);
  });

  it("a request carrying no marker matches none of the marked turns", async () => {
    server = await startScriptedModel([{ when: { anyUserTextIncludes: "[task a]" }, text: "never" }]);
    const client = new Anthropic({ apiKey: "sk-test", baseURL: server.url, maxRetries: 0 });
    await expect(
      client.messages.create({
        model: "m",
        max_tokens: 10,
        messages: [{ role: "user", content: "[task b]" }],
      }),
    ).rejects.toThrow("none of the 1 unplayed turns matches");
  });

  it("refuses an empty text, which would match everything", () => {
    expect(TurnCondition.safeParse({ anyUserTextIncludes: "" }).success).toBe(false);
  });
});
