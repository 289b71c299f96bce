// Reads a UI message stream (raw SSE bytes on stdin) the way the AI SDK's chat client does:
// `parseJsonEventStream` validates every chunk against the `ai` package's own
// `uiMessageChunkSchema`, then `readUIMessageStream` builds the assistant message.
// Prints {chunks, message, errors} as JSON.
//
//   node ui_message_reader.mjs read [MESSAGE_JSON] < stream.sse
//
// MESSAGE_JSON is the assistant message a continued stream goes on with, as the chat passes
// its last message. Driven by tests/interop (pytest; `npm test` runs only test/*.test.js);
// without the `read` argument it does nothing.
import { parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema } from "ai";

async function stdin() {
  const parts = [];
  for await (const part of process.stdin) parts.push(part);
  return Buffer.concat(parts);
}

const [mode, startMessage] = process.argv.slice(2);
if (mode === "read") {
  const raw = await stdin();
  const errors = [];
  const chunks = [];
  const parsed = parseJsonEventStream({
    stream: new Blob([raw]).stream(),
    schema: uiMessageChunkSchema,
  }).pipeThrough(
    new TransformStream({
      transform(result, controller) {
        if (!result.success) {
          errors.push(String(result.error?.message ?? result.error));
          return;
        }
        chunks.push(result.value);
        controller.enqueue(result.value);
      },
    }),
  );
  let message = null;
  const reader = readUIMessageStream({
    message: startMessage ? JSON.parse(startMessage) : undefined,
    stream: parsed,
    onError: (error) => errors.push(String(error?.message ?? error)),
  });
  for await (const snapshot of reader) message = snapshot;
  process.stdout.write(JSON.stringify({ chunks, message, errors }));
}
