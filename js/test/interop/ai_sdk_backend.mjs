// A tiny chat backend built with the AI SDK, as an app would write its /api/chat route:
// `validateUIMessages` + `convertToModelMessages` on the request, `streamText` with a scripted
// `MockLanguageModelV4` (from `ai/test`) and `pipeUIMessageStreamToResponse`. No network but
// 127.0.0.1.
//
//   node ai_sdk_backend.mjs serve      prints {"port": N} on its first line, serves until killed
//
// What the model does depends on the last user message:
//   "trade ..."    calls `place_trade`, whose execution needs a human's approval;
//   "lookup ..."   calls `lookup` (executed at once), then answers;
//   "portfolio"    calls `position_value`, a tool without `execute` (the client runs it and
//                  adds its result), then answers with the result;
//   "summary ..."  answers with the prompt it was given, as JSON (what the history held);
//   "reset ..."    (no model) a stream written with `createUIMessageStream` whose step is reset;
//   anything else  answers "Hello from the AI SDK."
// Driven by tests/interop (pytest); without the `serve` argument it does nothing.
import http from "node:http";
import {
  convertToModelMessages,
  createUIMessageStream,
  pipeUIMessageStreamToResponse,
  stepCountIs,
  streamText,
  tool,
  validateUIMessages,
} from "ai";
import { MockLanguageModelV4, convertArrayToReadableStream } from "ai/test";
import { z } from "zod";

const usage = {
  inputTokens: { total: 3, noCache: 3, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

function answer(text) {
  return [
    { type: "stream-start", warnings: [] },
    { type: "text-start", id: "t1" },
    { type: "text-delta", id: "t1", delta: text },
    { type: "text-end", id: "t1" },
    { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
  ];
}

function call(name, input) {
  return [
    { type: "stream-start", warnings: [] },
    { type: "tool-call", toolCallId: `call_${name}`, toolName: name, input: JSON.stringify(input) },
    { type: "finish", finishReason: { unified: "tool-calls", raw: "tool_calls" }, usage },
  ];
}

function userText(prompt) {
  const user = prompt.findLast((m) => m.role === "user");
  return (user?.content ?? []).map((p) => p.text ?? "").join("");
}

const model = new MockLanguageModelV4({
  doStream: async ({ prompt }) => {
    const last = prompt.at(-1);
    const text = userText(prompt);
    let parts;
    if (last.role === "tool") parts = answer(`Tool said: ${JSON.stringify(last.content[0].output)}`);
    else if (text.startsWith("trade")) parts = call("place_trade", { ticker: "NVDA", shares: 10 });
    else if (text.startsWith("lookup")) parts = call("lookup", { q: text });
    else if (text.startsWith("portfolio")) parts = call("position_value", { ticker: "NVDA", shares: 3 });
    else if (text.startsWith("summary")) parts = answer(JSON.stringify(prompt));
    else parts = answer("Hello from the AI SDK.");
    return { stream: convertArrayToReadableStream(parts) };
  },
});

const tools = {
  place_trade: tool({
    inputSchema: z.object({ ticker: z.string(), shares: z.number() }),
    needsApproval: true,
    execute: async ({ ticker, shares }) => ({ filled: true, ticker, shares }),
  }),
  position_value: tool({
    description: "The value of a position (the client runs it: no execute).",
    inputSchema: z.object({ ticker: z.string(), shares: z.number() }),
  }),
  lookup: tool({
    inputSchema: z.object({ q: z.string() }),
    execute: async ({ q }) => ({ found: q.length }),
  }),
};

function resetStream() {
  return createUIMessageStream({
    execute: ({ writer }) => {
      writer.write({ type: "start" });
      writer.write({ type: "start-step" });
      writer.write({ type: "text-start", id: "d" });
      writer.write({ type: "text-delta", id: "d", delta: "DRAFT THAT MUST BE DISCARDED. " });
      writer.write({ type: "text-end", id: "d" });
      writer.write({ type: "reset-step" });
      writer.write({ type: "text-start", id: "f" });
      writer.write({ type: "text-delta", id: "f", delta: "Final answer." });
      writer.write({ type: "text-end", id: "f" });
      writer.write({ type: "finish-step" });
      writer.write({ type: "finish", finishReason: "stop" });
    },
  });
}

async function readBody(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function chat(request, response) {
  const body = await readBody(request);
  let messages;
  try {
    messages = await validateUIMessages({ messages: body.messages, tools });
  } catch (error) {
    response.writeHead(400, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ error: String(error?.message ?? error) }));
    return;
  }
  const lastUser = messages.findLast((m) => m.role === "user");
  const text = lastUser.parts.map((p) => p.text ?? "").join("");
  if (text.startsWith("reset")) {
    pipeUIMessageStreamToResponse({ response, stream: resetStream() });
    return;
  }
  const result = streamText({
    model,
    tools,
    messages: await convertToModelMessages(messages, { tools }),
    stopWhen: stepCountIs(5),
  });
  result.pipeUIMessageStreamToResponse(response, { originalMessages: messages });
}

const [mode] = process.argv.slice(2);
if (mode === "serve") {
  const server = http.createServer((request, response) => {
    if (request.method === "POST" && request.url === "/api/chat") {
      chat(request, response).catch((error) => {
        response.writeHead(500, { "Content-Type": "text/plain" });
        response.end(String(error?.stack ?? error));
      });
      return;
    }
    response.writeHead(404);
    response.end();
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
}
