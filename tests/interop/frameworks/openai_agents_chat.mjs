// An OpenAI Agents SDK (JavaScript) agent with one tool (`add`) on a chat route, its run
// streamed as the AI SDK UI message stream by `@openai/agents-extensions`' ai-sdk-ui
// (`createAiSdkUiMessageStreamResponse`), its model the SDK's default (the Responses API)
// pointed at the scripted model. Run with `.tools/openai-agents-js` on NODE_PATH:
//
//   node openai_agents_chat.mjs PORT MODEL_URL
//
// The chat route is `POST /api/chat` (the body `useChat` posts: `messages`, UI messages);
// `GET /ping` answers once serving. A client that goes aborts the run (its `signal`).
import http from "node:http";
import { Agent, assistant, run, setDefaultOpenAIClient, setTracingDisabled, tool, user } from "@openai/agents";
import { createAiSdkUiMessageStreamResponse } from "@openai/agents-extensions/ai-sdk-ui";
import OpenAI from "openai";
import { z } from "zod";

const [port, modelUrl] = process.argv.slice(2);
setTracingDisabled(true); // its traces would go to OpenAI
setDefaultOpenAIClient(new OpenAI({ baseURL: modelUrl, apiKey: "sk-scripted" }));

const add = tool({
  name: "add",
  description: "Adds two whole numbers.",
  parameters: z.object({ a: z.number().int(), b: z.number().int() }),
  execute: async ({ a, b }) => String(a + b),
});
const agent = new Agent({
  name: "calc",
  instructions: "You add numbers with the add tool.",
  model: "m",
  tools: [add],
});

// The UI messages' text, as the agent's input items (a chat route keeps no thread).
function input(messages) {
  return messages.map((message) => {
    const said = message.parts.filter((p) => p.type === "text").map((p) => p.text).join("");
    return message.role === "user" ? user(said) : assistant(said);
  });
}

async function chat(request, response) {
  let raw = "";
  for await (const piece of request) raw += piece;
  const stopped = new AbortController();
  response.on("close", () => stopped.abort());
  const result = await run(agent, input(JSON.parse(raw).messages), {
    stream: true,
    signal: stopped.signal,
  });
  const streamed = createAiSdkUiMessageStreamResponse(result);
  response.writeHead(streamed.status, Object.fromEntries(streamed.headers));
  for await (const piece of streamed.body) response.write(piece);
  response.end();
}

http
  .createServer((request, response) => {
    if (request.method === "POST" && request.url === "/api/chat") {
      chat(request, response).catch((error) => {
        console.error(error);
        response.destroy();
      });
    } else {
      response.writeHead(request.url === "/ping" ? 200 : 404).end();
    }
  })
  .listen(Number(port), "127.0.0.1");
