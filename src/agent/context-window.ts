import type { MessageParam } from "./model-port.ts";

/**
 * Trims a conversation to at most `max` messages while keeping it valid for the Messages API:
 * the task (first) message is always kept, and the kept tail starts at an assistant message, so a
 * tool_use is never separated from the tool_result that follows it and roles still alternate.
 * Returns the messages to send (the stored history is never mutated).
 */
export function trimContext(messages: readonly MessageParam[], max: number): MessageParam[] {
  if (messages.length <= max || messages.length < 3) return [...messages];
  const [task, ...rest] = messages as [MessageParam, ...MessageParam[]];
  let start = rest.length - (max - 1);
  while (start < rest.length && rest[start]?.role !== "assistant") start++;
  // No assistant message fits in the window: keep the last exchange whole rather than break a pair.
  if (start >= rest.length)
    start = Math.max(
      0,
      rest.findLastIndex((m) => m.role === "assistant"),
    );
  const dropped = start;
  if (dropped === 0) return [...messages];
  const note = `[Context note: ${dropped} earlier message${dropped === 1 ? "" : "s"} of this run were trimmed to stay within ${max} messages; re-read files if you need their current state.]`;
  return [withNote(task, note), ...rest.slice(start)];
}

function withNote(message: MessageParam, note: string): MessageParam {
  const blocks =
    typeof message.content === "string"
      ? [{ type: "text" as const, text: message.content }]
      : message.content;
  return { ...message, content: [...blocks, { type: "text", text: note }] } as MessageParam;
}

/** Appends user content, merging into a trailing user message so roles keep alternating. */
export function appendUser(messages: MessageParam[], content: MessageParam["content"]): void {
  const last = messages.at(-1);
  if (last?.role === "user") {
    const toBlocks = (c: MessageParam["content"]) =>
      typeof c === "string" ? [{ type: "text" as const, text: c }] : c;
    messages[messages.length - 1] = {
      role: "user",
      content: [...toBlocks(last.content), ...toBlocks(content)],
    };
  } else {
    messages.push({ role: "user", content });
  }
}
