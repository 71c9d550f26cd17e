import type { ServerResponse } from "node:http";
import type { ApiUsage } from "./usage.ts";

/** A reply as the server builds it, before it is sent whole or as a stream. */
export interface ScriptedMessage {
  readonly id: string;
  readonly model: string;
  readonly content: readonly (
    | { type: "text"; text: string; citations: null }
    | { type: "tool_use"; id: string; name: string; input: unknown }
  )[];
  readonly stop_reason: string;
  readonly usage: ApiUsage;
}

/**
 * Sends a reply as the API streams one (`stream: true`): message_start with the input-side usage,
 * one start/delta/stop triple per block, then message_delta with the stop reason and the output
 * tokens, and message_stop.
 */
export function sendStream(res: ServerResponse, message: ScriptedMessage): void {
  const events: [string, unknown][] = [
    [
      "message_start",
      {
        type: "message_start",
        message: {
          id: message.id,
          type: "message",
          role: "assistant",
          model: message.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...message.usage, output_tokens: 1 },
        },
      },
    ],
  ];
  message.content.forEach((block, index) => {
    const start =
      block.type === "text"
        ? { type: "text", text: "", citations: null }
        : { type: "tool_use", id: block.id, name: block.name, input: {} };
    const delta =
      block.type === "text"
        ? { type: "text_delta", text: block.text }
        : { type: "input_json_delta", partial_json: JSON.stringify(block.input) };
    events.push(["content_block_start", { type: "content_block_start", index, content_block: start }]);
    events.push(["content_block_delta", { type: "content_block_delta", index, delta }]);
    events.push(["content_block_stop", { type: "content_block_stop", index }]);
  });
  events.push([
    "message_delta",
    {
      type: "message_delta",
      delta: { stop_reason: message.stop_reason, stop_sequence: null },
      usage: { output_tokens: message.usage.output_tokens },
    },
  ]);
  events.push(["message_stop", { type: "message_stop" }]);
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  for (const [event, data] of events) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  res.end();
}
