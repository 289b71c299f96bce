"""The built-in local agent server: every dialect agentnb speaks but a model API's and a
framework's own server's (``anthropic``, ``adk``), offline, with no account.

Start it from Python (a daemon thread, a free port, a random key)::

    from agentnb.server import start_server
    with start_server() as server:
        print(server.base_url, server.url_for("openai"))

or from a shell: ``agentnb serve --port 8765`` (prints the key when it makes one). The host may
be a name, an IPv4 or an IPv6 address (``::1`` or ``[::1]``; the URL then reads
``http://[::1]:PORT``); a host that does not resolve or a port outside 0-65535 is a
``ConfigurationError`` (from the shell: a one-line error and exit status 2).

Every request needs the key as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; without
it the answer is 401 JSON. Unknown agent: 404. A body that is not JSON (``NaN`` and unpaired
``\\ud800`` surrogate escapes included) or fails validation: 422
``{"detail": [{"loc", "msg", "type"}]}``. Bodies are capped at 1 MiB (413), may nest arrays and
objects at most 100 deep (400) and must arrive within 30 s of their head (408). A malformed
header (``Last-Event-ID``, ``X-AgentNB-Delay-Ms``, ``X-AgentNB-Fault``) is a 400. Every number
read from a header, a query or a text option is plain ASCII digits (at most 9): ``²``, ``٣``,
``+5``, ``1_0`` or 5,000 digits are refused, never half-understood. A request head is at most
16 KiB, and at most 1,024 connections are served at once (more get a 503). On the OpenAI
paths errors use OpenAI's ``{"error": {"message", "type", "param", "code"}}``: an invalid
request is a 400 ``invalid_request_error`` whose ``param`` names the field as sent
(``temperature``, ``messages[0].role``) and whose ``code`` is OpenAI's
(``decimal_above_max_value``, ``missing_required_parameter``...), with the field list as
``detail``*.

Agents (:mod:`agentnb.server.agents`, whose docstring says how to add one): ``finance_agent``
(reasoning, ``get_stock_price`` over a bundled DEMO price table, ``calculator``, a markdown
answer with a table), ``echo``, ``writer`` (long markdown; option ``paragraphs``),
``structured`` (JSON valid for the request's JSON schema), ``trader`` (looks the ticker up,
then its ``place_trade`` call waits for a human to approve it: a DEMO fill, or "declined"),
``planner`` (asks the human where to go, a free-form question, then plans a DEMO trip) and
``research_team`` (delegates to sub-agents: an ``analyst`` per ticker, each asking a
``quant``) and ``judge`` (grades the ``Answer:`` of its message against its ``Expected
answer:``, a JSON score with a short rationale: what ``agentnb.evals.judge()`` asks for)
and ``notebook_agent`` (adds a cell of the code in its message to the notebook through the
notebook tools the client declares, runs it, and says what it printed).
``trader`` runs only where a dialect can say "wait for a human" (Vercel,
Operativus, AG-UI, LangGraph, A2A, the Responses API), ``planner`` only where it can also
carry an answer (Operativus, AG-UI, LangGraph); elsewhere they are a 400
``approval_unsupported`` or ``question_unsupported`` saying so. A paused run waits an hour at
most, then goes on as if denied.

Earlier turns are read whole: OpenAI assistant ``tool_calls`` and ``tool`` messages, and UI
messages step by step (text, reasoning, tool calls, then their results, as the AI SDK's
``convertToModelMessages`` reads them), so the agent's history holds the tool calls and results.

Endpoints and frames (* marks an agentnb extension)
----------------------------------------------------

SeekrFlow
    ``POST /v1/threads`` {meta_data}, ``GET /v1/threads/{tid}``,
    ``POST /v1/threads/{tid}/messages`` {role, content}, ``GET .../messages``: thread and
    ``thread.message`` objects. ``POST /v1/threads/{tid}/runs/stream`` (body ``RunRequest``;
    the message is the thread's last user message): data-only ``{"type": "streaming_chunk",
    "data": {"type", ..., "meta_data"}, "meta_data": {run_id, thread_id, agent_id}}`` with
    inner types ``user_prompt``, ``stream_reasoning`` {reasoning}, ``text_delta`` {text},
    ``streaming_tool_request`` {tool_id, tool_name, tool_args}, ``streaming_tool_response``
    {tool_id, tool_output}, ``end_node`` {final_output; meta_data.followups}, ``error``*
    {message, code, retry_after}; then ``[DONE]``. ``POST .../runs/stream/vercel``: the Vercel
    UI message stream below. ``GET /v1/threads/{tid}/runs?limit&order&offset``: a bare array
    of ``thread.run`` objects, the only place SeekrFlow reports usage.

run-agent.ai
    ``POST /v1/agents/{agent_id}/stream`` {query, session_id, parameters {resume_from_index,
    stream_delay_ms, chunk_size, response_format*, followups*, paragraphs*}}: named events
    ``start`` {message, session_id, run_id*}, ``chunk`` {content, index}, ``done`` {message,
    usage {prompt_tokens, completion_tokens, total_tokens}, execution_time, followups*},
    ``error`` {error, code, retry_after?}. Answer text only: the documented stream has no
    reasoning or tool frames, so none are invented.

Operativus
    ``POST /api/agents/{agentId}/runs/stream`` {message, sessionId, userId, orgId,
    generateFollowups, media, options, responseFormat*, metadata*}: data-only
    ``{"event", "data", "timestamp"}`` with START (JSON string {runId, sessionId}),
    REASONING_DELTA, TOOL_START (JSON string {name, arguments, id}), TOOL_END (JSON string
    {name, result, id}, or {name, result: null, error, id}), CONTENT_DELTA, STOP (``""``, or
    the JSON string {followups} with generateFollowups), ERROR (the message). Approval*:
    APPROVAL_REQUIRED (JSON string {id, name, approvalId, reason}), then PAUSED (JSON string
    {runId, sessionId, pending}) ends the response while the run's status is PAUSED;
    ``POST /api/agents/{agentId}/runs/{runId}/approvals`` {decisions: [{toolCallId, approved,
    reason?}]} streams the rest of the run (START again, a denied call's TOOL_END {name, result:
    null, denied: true, reason, id}, ...); 409 when the run is not waiting for those calls.
    ``GET /api/agents/{agentId}/runs/{runId}/status`` and
    ``GET /api/agents/{agentId}/runs/status?runIds=a,b`` (at most 100; unknown ids absent):
    AgentRun {id, agentId, sessionId, userId, orgId, status
    RUNNING|PAUSED|COMPLETED|FAILED|CANCELLED,
    createdAt, startedAt, completedAt, output, error, usage {promptTokens, completionTokens,
    totalTokens}, executionTime, followups}.

runtools.ai
    ``POST /v1/run`` {agent, prompt | messages, stream, threadId, config {responseFormat*,
    followups*, paragraphs*}, metadata}: headers ``X-Run-ID``, ``X-Thread-ID``; named events
    ``start`` {runId, threadId, agent}, ``thinking`` {content}, ``tool_call`` {id, name,
    arguments}, ``tool_result`` {id, name, result | error}, ``text`` {content}, ``complete``
    {runId, threadId, output, usage {promptTokens, completionTokens, totalTokens},
    executionTime, followups?}, ``error`` {message, code, retryAfter?}. ``stream: false``
    answers one JSON object {runId, threadId, status, output, text, reasoning, toolCalls,
    usage, executionTime, followups, error}.

OpenAI-compatible (base URL ``.../v1``)
    ``POST /v1/chat/completions`` (``model`` = agent name), ``GET /v1/models``.
    ``chat.completion.chunk`` frames: delta.role, delta.reasoning_content, delta.content.
    The server runs the demo tools itself, yet to OpenAI clients a run is one model turn (a
    proxy such as LiteLLM ends the answer at the first finish_reason, and standard
    ``tool_calls`` would be the client's to execute): what the server ran rides in
    delta.provider_specific_fields* (the object LiteLLM relays for fields outside the spec):
    agentnb_tool_calls [{index, id, type, function {name, arguments}}] with the arguments in
    pieces (``index`` counts across the run), agentnb_tool_result {index, id, name, output,
    error} for each outcome, agentnb_followups on the chunk before the finishing one. One
    chunk with finish_reason ``stop`` ends the run; then a usage chunk with empty choices (the
    whole run's usage) when ``stream_options.include_usage``, then ``[DONE]``.
    ``stream: false``: a ``chat.completion`` with finish_reason ``stop``, no
    message.tool_calls; message.provider_specific_fields* {agentnb_tool_calls (with outputs),
    agentnb_followups}.

Vercel AI SDK UI message stream (``POST /api/chat`` {id, messages: [UIMessage], agent,
followups, metadata, responseFormat*}, and SeekrFlow's ``/runs/stream/vercel``)
    Header ``x-vercel-ai-ui-message-stream: v1``; data-only parts: ``start`` {messageId,
    messageMetadata {runId, threadId}}, ``start-step``, ``reasoning-start/delta/end``,
    ``tool-input-start/delta/available``, ``tool-output-available`` | ``tool-output-error``,
    ``finish-step`` + ``start-step`` after tool output, ``text-start/delta/end``,
    ``data-followups`` {data: {followups}}, ``finish-step``, ``finish`` {finishReason
    (``stop``; ``tool-calls`` if the run ended right after tool output), messageMetadata
    {runId, usage {inputTokens, outputTokens, totalTokens}, executionTime}}, or ``error``
    {errorText}; then ``[DONE]``. Parts carry only the fields the ``ai`` package's chunk
    schema knows. A call that needs approval: ``tool-approval-request`` {approvalId,
    toolCallId, reason}, ``finish-step``, ``finish`` {finishReason ``tool-calls``}, ``[DONE]``;
    the next ``POST /api/chat`` whose last message is the assistant message with that tool
    part in ``approval-responded`` (the SDK's ``addToolApprovalResponse``) streams the rest:
    ``start``, ``tool-output-available`` | ``tool-output-denied``, ``start-step``, ... (409
    when the chat waits for no such approval). ``GET /api/chat/{id}/stream`` is the SDK's
    resume call: the chat's running stream from its first part (or after ``Last-Event-ID``;
    after the last pause), or 204 No Content when the chat has no run going or it waits for
    an approval.

Follow-ups: Operativus ``generateFollowups``; run-agent
``parameters.followups``; runtools ``config.followups``; Vercel chat ``followups``; SeekrFlow
and OpenAI ``metadata: {"followups": "true"}``.

Streams, resume and pacing
--------------------------
Every event has ``id: <run_id>:<n>`` (n counts the frames of that dialect's stream from 0);
the first frame of a response also sends ``retry: 1000``. A run executes once on the server
and keeps running if its client goes away. Re-sending the same POST with
``Last-Event-ID: <run_id>:<n>`` replays the frames after n (then continues live); an id this
server could not have sent (n not plain ASCII digits) is a 400 rather than being ignored, so
a client never silently gets the whole stream again; an unknown run is a 404. run-agent
also resumes with ``parameters.resume_from_index`` + ``session_id`` (a ``start`` frame, chunks
from that index, ``done``). Finished runs are kept for an hour, or the last 1000 runs.
A run that pauses for an approval ends its response after the pause; the response that
continues it numbers its frames on from there. Per-chunk delay: ``start_server(delay_ms=...)``
/ ``--delay-ms``, per request the header
``X-AgentNB-Delay-Ms`` or run-agent's ``stream_delay_ms``.

Usage: prompt tokens (conversation + message + tool results) and completion tokens
(reasoning + answer + tool arguments) come from a deterministic word/punctuation tokenizer.

Faults: the tests' servers take fault injection through one seam
(``start_server(faults=...)``, a :class:`~agentnb.server._service.RunFaults`); the request
header it reads, ``X-AgentNB-Fault``, and the injection itself live with the tests
(``tests/fault_injection.py``), not in the package.

Dialects: each is one module ``routes/_<dialect>_routes`` declaring
``DIALECT = ServedDialect(...)`` (see :mod:`agentnb.server._served_dialects`): the server finds
them; ``DIALECT_PROVIDERS``, :meth:`ServerHandle.url_for` and
:meth:`ServerHandle.client_settings` are read from them. A routes module takes what it needs
of the service from :mod:`agentnb.server.routes._route_kit`.
"""

from __future__ import annotations

from ._serve import DIALECT_PROVIDERS, ServerHandle, local_server, start_server
from ._starlette_app import create_app

__all__ = ["DIALECT_PROVIDERS", "ServerHandle", "create_app", "local_server", "start_server"]
