"""The built-in server over a real socket: every dialect's endpoints and frames, auth, errors,
replay/resume, faults, disconnects and incremental delivery."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from agentnb_testing import (
    PATIENCE_S,
    TLS,
    growing_limits,
    new_thread,
    run_request,
    stall_timeout,
    wait_until,
)
from fault_injection import FaultBook
from pydantic import BaseModel, Field
from server_testing import (
    DATA_ONLY,
    KINDS,
    NO_IDS,
    SSE,
    is_complete,
    iter_sse,
    parse_sse,
    state_of,
    stream,
)

from agentnb._core.exceptions import ConfigurationError
from agentnb.server import ServerHandle, local_server, start_server

# --- auth and errors ------------------------------------------------------------------------

PROTECTED = [
    ("GET", "/"),
    ("POST", "/v1/threads"),
    ("GET", "/v1/threads/x/runs"),
    ("POST", "/v1/threads/x/runs/stream"),
    ("POST", "/v1/agents/echo/stream"),
    ("POST", "/api/agents/echo/runs/stream"),
    ("GET", "/api/agents/echo/runs/status"),
    ("POST", "/v1/run"),
    ("POST", "/api/chat"),
    ("GET", "/no/such/path"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_requests_without_the_key_get_401_json(
    server: ServerHandle, method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"X-API-Key": "not-the-token"}):
        response = httpx.request(
            method, server.base_url + path, headers=headers, json={}, verify=TLS
        )
        assert response.status_code == 401
        assert "API key" in response.json()["detail"]
        assert server.api_key not in response.text


def test_openai_paths_answer_401_in_openai_shape(server: ServerHandle) -> None:
    response = httpx.post(server.base_url + "/v1/chat/completions", json={}, verify=TLS)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key"
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda key: {"Authorization": f"Bearer {key}"}, id="bearer"),
        pytest.param(lambda key: {"X-API-Key": key}, id="x-api-key"),
        pytest.param(lambda key: {"Authorization": key}, id="bare-authorization"),
    ],
)
def test_either_header_style_is_accepted(
    server: ServerHandle, headers: Callable[[str], dict[str, str]]
) -> None:
    response = httpx.get(server.base_url + "/", headers=headers(server.api_key), verify=TLS)
    assert response.status_code == 200
    assert {a["name"] for a in response.json()["agents"]} == {
        "finance_agent",
        "echo",
        "writer",
        "structured",
        "trader",
        "planner",
        "research_team",
        "judge",
        "notebook_agent",
    }


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_agent_is_404(client: httpx.Client, kind: str) -> None:
    path, body = run_request(client, kind, agent="no_such_agent")
    response = client.post(path, json=body)
    assert response.status_code == 404
    payload = response.json()
    openai_shaped = kind in ("openai", "openai-responses")
    message = payload["error"]["message"] if openai_shaped else payload["detail"]
    assert "no_such_agent" in message
    assert "finance_agent" in message


def test_unknown_path_and_thread_are_404_json(client: httpx.Client) -> None:
    assert "no endpoint" in client.get("/nope").json()["detail"]
    missing = client.post("/v1/threads/thread_missing/runs/stream", json={"agent_id": "echo"})
    assert missing.status_code == 404
    assert "thread_missing" in missing.json()["detail"]


def test_validation_errors_use_seekrflows_422_shape(client: httpx.Client) -> None:
    thread_id = new_thread(client, "hi")
    bad = {"agent_id": "echo", "model_settings": {"temperature": 3, "top_p": -1}}
    response = client.post(f"/v1/threads/{thread_id}/runs/stream", json=bad)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {tuple(d["loc"]) for d in detail} == {
        ("body", "model_settings", "temperature"),
        ("body", "model_settings", "top_p"),
    }
    assert all(set(d) == {"loc", "msg", "type"} for d in detail)


def test_malformed_json_and_missing_fields_are_422(client: httpx.Client) -> None:
    broken = client.post("/v1/agents/echo/stream", content=b'{"query": ')
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "json_invalid"
    missing = client.post("/v1/agents/echo/stream", json={"parameters": {}})
    assert missing.json()["detail"][0]["loc"] == ["body", "query"]
    not_object = client.post("/v1/run", json=[1, 2])
    assert not_object.status_code == 422


def test_query_validation_is_422_with_query_location(client: httpx.Client) -> None:
    thread_id = new_thread(client, "hi")
    response = client.get(f"/v1/threads/{thread_id}/runs", params={"limit": -1, "order": "up"})
    assert response.status_code == 422
    locs = {tuple(d["loc"]) for d in response.json()["detail"]}
    assert locs == {("query", "limit"), ("query", "order")}


def test_openai_validation_error_carries_both_shapes(client: httpx.Client) -> None:
    response = client.post("/v1/chat/completions", json={"model": "echo", "messages": []})
    assert response.status_code == 400  # OpenAI answers invalid requests with a 400
    body = response.json()
    assert body["detail"][0]["loc"] == ["body", "messages"]
    assert "messages" in body["error"]["message"]
    assert body["error"]["param"] == "messages"


def test_body_over_one_mebibyte_is_413(client: httpx.Client) -> None:
    huge = json.dumps({"agent": "echo", "prompt": "x" * (1024 * 1024 + 10)})
    response = client.post("/v1/run", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_bad_delay_header_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/v1/agents/echo/stream", json={"query": "x"}, headers={"X-AgentNB-Delay-Ms": "soon"}
    )
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["header", "x-agentnb-delay-ms"]


# --- SeekrFlow ------------------------------------------------------------------------------


def test_seekrflow_threads_and_messages_are_stored(client: httpx.Client) -> None:
    thread = client.post("/v1/threads", json={"meta_data": {"topic": "demo"}}).json()
    assert thread["object"] == "thread"
    assert thread["meta_data"] == {"topic": "demo"}
    parts = {"role": "user", "content": [{"type": "input_text", "text": "Hello"}]}
    message = client.post(f"/v1/threads/{thread['id']}/messages", json=parts).json()
    assert message["object"] == "thread.message"
    assert message["content"] == "Hello"
    assert message["thread_id"] == thread["id"]
    listed = client.get(f"/v1/threads/{thread['id']}/messages").json()
    assert [m["id"] for m in listed] == [message["id"]]
    assert client.get(f"/v1/threads/{thread['id']}").json()["id"] == thread["id"]


def test_seekrflow_run_needs_a_user_message(client: httpx.Client) -> None:
    thread_id = client.post("/v1/threads").json()["id"]
    response = client.post(f"/v1/threads/{thread_id}/runs/stream", json={"agent_id": "echo"})
    assert response.status_code == 400
    assert "/messages" in response.json()["detail"]


def test_seekrflow_legacy_stream_frames(client: httpx.Client) -> None:
    frames = stream(client, "seekrflow", message="How did NVDA move this week?")
    assert all(f.id is None and f.retry is None for f in frames)  # data-only, as SeekrFlow's
    assert frames[-1].data == "[DONE]"
    chunks = [f.json() for f in frames[:-1]]
    assert {c["type"] for c in chunks} == {"streaming_chunk"}
    assert chunks[0]["meta_data"]["run_id"] == frames[0].run_id
    inner = [c["data"] for c in chunks]
    kinds = [d["type"] for d in inner]
    assert kinds[0] == "user_prompt"
    assert kinds[1] == "stream_reasoning"
    assert kinds[-1] == "end_node"
    requests = [d for d in inner if d["type"] == "streaming_tool_request"]
    responses = [d for d in inner if d["type"] == "streaming_tool_response"]
    assert [r["tool_name"] for r in requests] == ["get_stock_price", "calculator"]
    assert requests[0]["tool_args"] == {"ticker": "NVDA"}
    assert responses[0]["tool_id"] == requests[0]["tool_id"]
    assert responses[0]["tool_output"]["price"] == 875.4
    text = "".join(d["text"] for d in inner if d["type"] == "text_delta")
    assert inner[-1]["final_output"] == text
    assert "| NVDA |" in text
    assert "+2.31%" in text


def test_seekrflow_list_runs_reports_usage_and_pages(client: httpx.Client) -> None:
    thread_id = new_thread(client, "one two three")
    path = f"/v1/threads/{thread_id}/runs/stream"
    run_ids = [parse_sse(client.post(path, json={"agent_id": "echo"}).text)[0].run_id]
    run_ids += [parse_sse(client.post(path + "/vercel", json={"agent_id": "echo"}).text)[0].run_id]
    listed = client.get(f"/v1/threads/{thread_id}/runs").json()
    assert [r["id"] for r in listed] == run_ids[::-1]
    first = listed[-1]
    assert first["object"] == "thread.run"
    assert first["status"] == "completed"
    assert first["is_active"] is False
    assert first["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
    assert first["completed_at"] >= first["created_at"]
    # the second run saw the first answer as history
    assert listed[0]["usage"]["prompt_tokens"] == 3
    ascending = client.get(f"/v1/threads/{thread_id}/runs", params={"order": "asc"}).json()
    assert [r["id"] for r in ascending] == run_ids
    paged = client.get(f"/v1/threads/{thread_id}/runs", params={"limit": 1, "offset": 1}).json()
    assert [r["id"] for r in paged] == [run_ids[0]]


def test_seekrflow_history_counts_in_prompt_tokens(client: httpx.Client) -> None:
    thread_id = new_thread(client, "alpha beta")
    path = f"/v1/threads/{thread_id}/runs/stream"
    client.post(path, json={"agent_id": "echo"})
    client.post(f"/v1/threads/{thread_id}/messages", json={"content": "gamma"})
    client.post(path, json={"agent_id": "echo"})
    newest = client.get(f"/v1/threads/{thread_id}/runs").json()[0]
    # earlier messages: "alpha beta" (2) + the answer "alpha beta" (2), then "gamma" (1)
    assert newest["usage"]["prompt_tokens"] == 5
    assert newest["usage"]["completion_tokens"] == 1


# --- Vercel UI message stream ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["seekrflow-vercel", "vercel"])
def test_vercel_ui_message_stream(client: httpx.Client, kind: str) -> None:
    path, body = run_request(client, kind, message="NVDA and QQQQ please")
    response = client.post(path, json=body)
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    frames = parse_sse(response.text)
    assert frames[-1].data == "[DONE]"
    parts = [f.json() for f in frames[:-1]]
    types = [p["type"] for p in parts]
    assert types[:3] == ["start", "start-step", "reasoning-start"]
    assert types[-2:] == ["finish-step", "finish"]
    assert parts[0]["messageMetadata"]["runId"] == frames[0].run_id
    starts = [p for p in parts if p["type"] == "tool-input-start"]
    assert [s["toolName"] for s in starts] == ["get_stock_price", "get_stock_price", "calculator"]
    first_id = starts[0]["toolCallId"]
    streamed = "".join(
        p["inputTextDelta"]
        for p in parts
        if p["type"] == "tool-input-delta" and p["toolCallId"] == first_id
    )
    available = next(p for p in parts if p["type"] == "tool-input-available")
    assert json.loads(streamed) == available["input"] == {"ticker": "NVDA"}
    failed = next(p for p in parts if p["type"] == "tool-output-error")
    assert "QQQQ" in failed["errorText"]
    assert types.count("start-step") == types.count("finish-step")
    for kind_ in ("text", "reasoning"):
        assert types.count(f"{kind_}-start") == types.count(f"{kind_}-end") >= 1
    usage = parts[-1]["messageMetadata"]["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"] > 0


def test_vercel_chat_followups_and_history(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "parts": [{"type": "text", "text": "one"}]},
        {"role": "assistant", "parts": [{"type": "text", "text": "two three"}]},
        {"role": "user", "parts": [{"type": "text", "text": "four"}]},
    ]
    body = {"agent": "echo", "messages": messages, "followups": True}
    parts = [f.json() for f in parse_sse(client.post("/api/chat", json=body).text)[:-1]]
    assert "".join(p["delta"] for p in parts if p["type"] == "text-delta") == "four"
    followups = next(p for p in parts if p["type"] == "data-followups")
    assert len(followups["data"]["followups"]) == 2
    assert parts[-1]["messageMetadata"]["usage"]["inputTokens"] == 4


# --- run-agent ------------------------------------------------------------------------------


def test_runagent_named_events(client: httpx.Client) -> None:
    frames = stream(client, "runagent", message="What about MSFT?")
    assert [f.event for f in frames][:2] == ["start", "chunk"]
    assert frames[-1].event == "done"
    assert {f.event for f in frames} == {"start", "chunk", "done"}
    start = frames[0].json()
    assert start["message"] == "Stream started"
    assert start["session_id"].startswith("sess_")
    chunks = [f.json() for f in frames if f.event == "chunk"]
    assert [c["index"] for c in chunks] == list(range(len(chunks)))
    assert "| MSFT |" in "".join(c["content"] for c in chunks)
    done = frames[-1].json()
    assert done["message"] == "Stream complete"
    usage = done["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert done["execution_time"] >= 0


def test_runagent_chunk_size_and_session_history(client: httpx.Client) -> None:
    body = {"query": "abcdefghij klmno", "parameters": {"chunk_size": 4}, "session_id": "s-123"}
    frames = parse_sse(client.post("/v1/agents/echo/stream", json=body).text)
    chunks = [f.json()["content"] for f in frames if f.event == "chunk"]
    assert chunks == ["abcd", "efgh", "ij k", "lmno"]
    assert frames[0].json()["session_id"] == "s-123"
    first_prompt = frames[-1].json()["usage"]["prompt_tokens"]
    again = parse_sse(client.post("/v1/agents/echo/stream", json=body).text)
    # the session now holds the first question and answer (2 tokens each)
    assert again[-1].json()["usage"]["prompt_tokens"] == first_prompt + 4


def test_runagent_resume_from_index(client: httpx.Client) -> None:
    body = {"query": "one two three four five six seven eight nine", "session_id": "resume-me"}
    body["parameters"] = {"chunk_size": 5}
    full = parse_sse(client.post("/v1/agents/echo/stream", json=body).text)
    resumed_body = {**body, "parameters": {"resume_from_index": 3}}
    resumed = parse_sse(client.post("/v1/agents/echo/stream", json=resumed_body).text)
    assert resumed[0].event == "start"
    assert resumed[-1].event == "done"
    chunks = [f for f in resumed if f.event == "chunk"]
    total = sum(f.event == "chunk" for f in full)
    assert total == 9  # 44 characters in chunks of 5
    assert [c.json()["index"] for c in chunks] == list(range(3, total))
    assert [(f.id, f.data) for f in resumed] == [
        (f.id, f.data) for f in full if f.event != "chunk" or f.json()["index"] >= 3
    ]


def test_runagent_resume_errors(client: httpx.Client) -> None:
    no_session = {"query": "x", "parameters": {"resume_from_index": 1}}
    response = client.post("/v1/agents/echo/stream", json=no_session)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "session_id"]
    unknown = {**no_session, "session_id": "never-used"}
    assert client.post("/v1/agents/echo/stream", json=unknown).status_code == 404


# --- Operativus -----------------------------------------------------------------------------


def test_operativus_frames_and_status(client: httpx.Client) -> None:
    body = {"message": "AMD?", "sessionId": "0b5e", "userId": "u1", "generateFollowups": True}
    frames = parse_sse(client.post("/api/agents/finance_agent/runs/stream", json=body).text)
    events = [f.json() for f in frames]
    assert all(frame.event is None for frame in frames)
    assert [e["event"] for e in events][:2] == ["START", "REASONING_DELTA"]
    assert all(isinstance(e["data"], str) and isinstance(e["timestamp"], int) for e in events)
    ids = json.loads(events[0]["data"])
    assert ids["sessionId"] == "0b5e"
    tool_start = json.loads(next(e["data"] for e in events if e["event"] == "TOOL_START"))
    assert tool_start["name"] == "get_stock_price"
    assert tool_start["arguments"] == {"ticker": "AMD"}
    tool_end = json.loads(next(e["data"] for e in events if e["event"] == "TOOL_END"))
    assert tool_end["id"] == tool_start["id"]
    assert tool_end["result"]["ticker"] == "AMD"
    stop = events[-1]
    assert stop["event"] == "STOP"
    assert len(json.loads(stop["data"])["followups"]) == 3
    status = client.get(f"/api/agents/finance_agent/runs/{ids['runId']}/status").json()
    assert status["status"] == "COMPLETED"
    assert status["sessionId"] == "0b5e"
    assert status["userId"] == "u1"
    assert status["usage"]["totalTokens"] > 0
    assert status["completedAt"] is not None
    content = "".join(e["data"] for e in events if e["event"] == "CONTENT_DELTA")
    assert status["output"] == content


def test_operativus_stop_is_empty_without_followups(client: httpx.Client) -> None:
    frames = parse_sse(client.post("/api/agents/echo/runs/stream", json={"message": "x"}).text)
    assert frames[-1].json() == {**frames[-1].json(), "event": "STOP", "data": ""}


def test_operativus_batch_status(client: httpx.Client) -> None:
    run_ids = []
    for _ in range(2):
        frames = parse_sse(client.post("/api/agents/echo/runs/stream", json={"message": "x"}).text)
        run_ids.append(frames[0].run_id)
    query = ",".join([run_ids[0], "run_unknown", run_ids[1]])
    batch = client.get("/api/agents/echo/runs/status", params={"runIds": query}).json()
    assert [r["id"] for r in batch] == run_ids
    other_agent = client.get("/api/agents/writer/runs/status", params={"runIds": query})
    assert other_agent.json() == []
    assert client.get(f"/api/agents/writer/runs/{run_ids[0]}/status").status_code == 404
    too_many = ",".join(f"run_{i}" for i in range(101))
    response = client.get("/api/agents/echo/runs/status", params={"runIds": too_many})
    assert response.status_code == 422
    assert client.get("/api/agents/echo/runs/status").status_code == 422


# --- runtools -------------------------------------------------------------------------------


def test_runtools_stream_headers_and_events(client: httpx.Client) -> None:
    response = client.post(
        "/v1/run", json={"agent": "finance_agent", "prompt": "IBM", "threadId": "thr_a"}
    )
    frames = parse_sse(response.text)
    assert response.headers["x-run-id"] == frames[0].run_id
    assert response.headers["x-thread-id"] == "thr_a"
    events = [f.event for f in frames]
    assert events[0] == "start"
    assert events[-1] == "complete"
    assert {"thinking", "tool_call", "tool_result", "text"} <= set(events)
    complete = frames[-1].json()
    assert complete["runId"] == frames[0].run_id
    assert complete["usage"]["totalTokens"] > 0
    text = "".join(f.json()["content"] for f in frames if f.event == "text")
    assert complete["output"] == text


def test_runtools_non_streaming_result(client: httpx.Client) -> None:
    body = {"agent": "finance_agent", "messages": [{"role": "user", "content": "NOPE?"}]}
    response = client.post("/v1/run", json={**body, "stream": False})
    assert response.headers["content-type"] == "application/json"
    result = response.json()
    assert result["runId"] == response.headers["x-run-id"]
    assert result["status"] == "completed"
    [call] = result["toolCalls"]
    assert call["name"] == "get_stock_price"
    assert call["output"] is None
    assert "NOPE" in call["error"]
    assert "could not look up **NOPE**" in result["output"]


def test_runtools_input_validation(client: httpx.Client) -> None:
    assert client.post("/v1/run", json={"agent": "echo"}).status_code == 422
    last_not_user = {"agent": "echo", "messages": [{"role": "assistant", "content": "x"}]}
    response = client.post("/v1/run", json=last_not_user)
    assert response.json()["detail"][0]["loc"] == ["body", "messages", 0, "role"]


# --- OpenAI-compatible ----------------------------------------------------------------------

EXTENSION = "provider_specific_fields"  # where the server's own calls and follow-ups ride


def test_openai_stream_with_tool_calls_and_usage(client: httpx.Client) -> None:
    body = {
        "model": "finance_agent",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "TSLA"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    frames = parse_sse(client.post("/v1/chat/completions", json=body).text)
    assert frames[-1].data == "[DONE]"
    chunks = [f.json() for f in frames[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["model"] == "gpt-4o-mini" for c in chunks)  # the model the agent reports
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas).startswith("The user asks")
    calls: dict[int, dict[str, str]] = {}
    for delta in deltas:
        assert "tool_calls" not in delta
        for call in delta.get(EXTENSION, {}).get("agentnb_tool_calls", []):
            entry = calls.setdefault(call["index"], {"name": "", "arguments": ""})
            entry["name"] += call.get("function", {}).get("name", "")
            entry["arguments"] += call["function"]["arguments"]
    assert calls[0]["name"] == "get_stock_price"
    assert json.loads(calls[0]["arguments"]) == {"ticker": "TSLA"}
    assert calls[1]["name"] == "calculator"
    assert json.loads(calls[1]["arguments"]) == {"expression": "(251.3 - 262.15) / 262.15 * 100"}
    extensions = [d[EXTENSION] for d in deltas if EXTENSION in d]
    results = [e["agentnb_tool_result"] for e in extensions if "agentnb_tool_result" in e]
    assert results[1]["output"]["result"] == pytest.approx((251.3 - 262.15) / 262.15 * 100)
    finishing = chunks[-2]
    assert finishing["choices"][0]["finish_reason"] == "stop"
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["total_tokens"] > 0
    assert all(c["usage"] is None for c in chunks[:-1])


def test_openai_stream_without_include_usage_has_no_usage(client: httpx.Client) -> None:
    frames = stream(client, "openai", agent="echo", message="hi")
    chunks = [f.json() for f in frames[:-1]]
    assert all("usage" not in c for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "hi"


def test_openai_non_streaming_completion(client: httpx.Client) -> None:
    body = {"model": "finance_agent", "messages": [{"role": "user", "content": "META?"}]}
    completion = client.post("/v1/chat/completions", json=body).json()
    assert completion["object"] == "chat.completion"
    message = completion["choices"][0]["message"]
    assert "| META |" in message["content"]
    assert message["reasoning_content"].startswith("The user asks")
    calls = message[EXTENSION]["agentnb_tool_calls"]
    assert [c["name"] for c in calls] == ["get_stock_price", "calculator"]
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"]["total_tokens"] > 0


def test_openai_followups_ride_in_the_extension(client: httpx.Client) -> None:
    body = {
        "model": "echo",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"followups": "true"},
    }
    completion = client.post("/v1/chat/completions", json=body).json()
    followups = completion["choices"][0]["message"][EXTENSION]["agentnb_followups"]
    assert followups == ["Say it again.", "Say it louder."]
    frames = parse_sse(client.post("/v1/chat/completions", json={**body, "stream": True}).text)
    choices = [f.json()["choices"][0] for f in frames[:-1]]
    # their own chunk just before the finishing one (LiteLLM splits a finishing chunk with them)
    assert choices[-2]["delta"] == {EXTENSION: {"agentnb_followups": followups}}
    assert (choices[-1]["delta"], choices[-1]["finish_reason"]) == ({}, "stop")


def test_openai_models_lists_the_agents(client: httpx.Client) -> None:
    models = client.get("/v1/models").json()
    assert {m["id"] for m in models["data"]} == {
        "finance_agent",
        "echo",
        "writer",
        "structured",
        "research_team",
        "judge",
        "notebook_agent",
    }


# --- demo agents through the wire ----------------------------------------------------------


class _Address(BaseModel):
    city: str
    zip_code: str = Field(min_length=5, max_length=5)


class _Kind(BaseModel):
    label: str


class _Person(BaseModel):
    name: str
    age: int = Field(ge=18, le=130)
    score: float = Field(gt=0, lt=1)
    tags: list[str] = Field(min_length=2)
    address: _Address
    nickname: str | None = None
    kind: _Kind | None = None


def test_structured_agent_answers_valid_json_for_a_pydantic_schema(client: httpx.Client) -> None:
    schema = _Person.model_json_schema()
    assert "$defs" in schema
    body = {
        "model": "structured",
        "messages": [{"role": "user", "content": "a person"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}},
    }
    content = client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]
    person = _Person.model_validate_json(content["content"])
    assert person.age >= 18
    assert len(person.tags) >= 2


def test_structured_agent_through_seekrflow_end_node(client: httpx.Client) -> None:
    thread_id = new_thread(client, "anything")
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    body = {"agent_id": "structured", "response_format": {"json_schema": schema}}
    frames = parse_sse(client.post(f"/v1/threads/{thread_id}/runs/stream", json=body).text)
    end = frames[-2].json()["data"]
    assert end["type"] == "end_node"
    assert json.loads(end["final_output"]) == {"ok": True}


def test_structured_agent_rejects_unusable_schemas(client: httpx.Client) -> None:
    thread_id = new_thread(client, "anything")
    path = f"/v1/threads/{thread_id}/runs/stream"
    dangling = {"agent_id": "structured", "response_format": {"json_schema": {"$ref": "#/x"}}}
    response = client.post(path, json=dangling)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "response_format", "json_schema"]
    not_a_dict = {"agent_id": "structured", "response_format": {"json_schema": [1]}}
    assert client.post(path, json=not_a_dict).status_code == 422


def test_writer_document_size_follows_paragraphs(client: httpx.Client) -> None:
    body = {"query": "Streaming", "parameters": {"paragraphs": 7}}
    frames = parse_sse(client.post("/v1/agents/writer/stream", json=body).text)
    document = "".join(f.json()["content"] for f in frames if f.event == "chunk")
    assert document.startswith("# Streaming")
    assert [line for line in document.splitlines() if line.startswith("## ")][-1] == "## Summary"
    assert sum(line.startswith("## ") for line in document.splitlines()) == 8
    assert "```python" in document
    assert "| 7 |" in document
    bad = client.post(
        "/v1/agents/writer/stream", json={"query": "x", "parameters": {"paragraphs": 0}}
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "parameters", "paragraphs"]


# --- incremental delivery, replay, disconnects --------------------------------------------


def test_a_run_arrives_incrementally(client: httpx.Client) -> None:
    body = {"message": "Streaming", "metadata": {"paragraphs": "1"}}
    headers = {"X-AgentNB-Delay-Ms": "30"}
    with client.stream("POST", "/api/agents/writer/runs/stream", json=body, headers=headers) as r:
        frames = iter_sse(r)
        start = next(frames).json()
        run_id = json.loads(start["data"])["runId"]
        first_delta = next(frames).json()
        assert first_delta["event"] == "REASONING_DELTA"
        # The first frames are in our hands while the server still reports the run running.
        status = client.get(f"/api/agents/writer/runs/{run_id}/status").json()
        assert status["status"] == "RUNNING"
        assert status["completedAt"] is None
        rest = [f.json()["event"] for f in frames]
    assert rest[-1] == "STOP"
    status = client.get(f"/api/agents/writer/runs/{run_id}/status").json()
    assert status["status"] == "COMPLETED"


@pytest.mark.parametrize("kind", KINDS)
def test_last_event_id_replays_exactly_the_remaining_frames(
    client: httpx.Client, kind: str
) -> None:
    path, body = run_request(client, kind)
    ids = {"X-AgentNB-Fault": "ids"} if kind in NO_IDS else {}
    full = parse_sse(client.post(path, json=body, headers=ids).text)
    assert is_complete(kind, full)
    cut = full[5]
    resumed_response = client.post(path, json=body, headers={"Last-Event-ID": cut.id or ""})
    resumed = parse_sse(resumed_response.text)
    assert [(f.id, f.event, f.data) for f in resumed] == [(f.id, f.event, f.data) for f in full[6:]]
    assert resumed[0].retry == 1000


def test_resume_errors(client: httpx.Client) -> None:
    path, body = run_request(client, "runagent", agent="echo")
    unknown = client.post(path, json=body, headers={"Last-Event-ID": "run_gone:3"})
    assert unknown.status_code == 404
    malformed = client.post(path, json=body, headers={"Last-Event-ID": "garbage"})
    assert malformed.status_code == 400
    run_id = parse_sse(client.post(path, json=body).text)[0].run_id
    other_dialect = client.post(
        "/v1/run", json={"agent": "echo", "prompt": "x"}, headers={"Last-Event-ID": f"{run_id}:0"}
    )
    assert other_dialect.status_code == 404


def test_dropped_stream_resumes_live_with_last_event_id(client: httpx.Client) -> None:
    path, body = run_request(client, "runtools", agent="writer", message="Resume")
    headers = {"X-AgentNB-Fault": "drop-after=4", "X-AgentNB-Delay-Ms": "5"}
    received: list[SSE] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", path, json=body, headers=headers) as response,
    ):
        received.extend(iter_sse(response))
    assert len(received) == 4
    resume_headers = {"X-AgentNB-Fault": "drop-after=4", "Last-Event-ID": received[-1].id or ""}
    rest = parse_sse(client.post(path, json=body, headers=resume_headers).text)
    frames = received + rest
    assert [f.number for f in frames] == list(range(len(frames)))
    assert frames[-1].event == "complete"
    text = "".join(f.json()["content"] for f in frames if f.event == "text")
    assert text == frames[-1].json()["output"]


@pytest.fixture
def own_server() -> Iterator[ServerHandle]:
    """A server of this test's own: the shared one has other tests' runs going on."""
    with start_server(delay_ms=0) as handle:
        yield handle


def test_disconnected_client_leaves_the_run_running_and_leaks_nothing(
    own_server: ServerHandle,
) -> None:
    server = own_server
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(
        base_url=server.base_url, headers=headers, timeout=PATIENCE_S, verify=TLS
    ) as client:
        _disconnect_and_check(server, client)


def _disconnect_and_check(server: ServerHandle, client: httpx.Client) -> None:
    thread_id = new_thread(client, "Disconnect")
    path = f"/v1/threads/{thread_id}/runs/stream"
    headers = {"X-AgentNB-Delay-Ms": "10"}
    with client.stream("POST", path, json={"agent_id": "writer"}, headers=headers) as response:
        first = next(iter_sse(response))
    runs_url = f"/v1/threads/{thread_id}/runs"
    assert client.get(runs_url).json()[0]["status"] == "running"
    wait_until(lambda: client.get(runs_url).json()[0]["status"] == "completed")
    [run] = client.get(runs_url).json()
    assert run["id"] == first.run_id
    assert run["usage"]["completion_tokens"] > 100
    state = state_of(server)
    wait_until(lambda: state.streams.open == 0 and state.runs.active_count == 0)


# --- faults ---------------------------------------------------------------------------------


def test_status_fault_answers_with_retry_after_then_succeeds(client: httpx.Client) -> None:
    headers = {"X-AgentNB-Fault": "status=503;retry-after=2;times=2;tag=status-test"}
    body = {"query": "x"}
    for _ in range(2):
        failed = client.post("/v1/agents/echo/stream", json=body, headers=headers)
        assert failed.status_code == 503
        assert failed.headers["retry-after"] == "2"
        assert "injected" in failed.json()["detail"]
    assert client.post("/v1/agents/echo/stream", json=body, headers=headers).status_code == 200


def test_status_fault_on_openai_uses_openai_errors(client: httpx.Client) -> None:
    headers = {"X-AgentNB-Fault": "status=429;retry-after=1;tag=openai-429"}
    body = {"model": "echo", "messages": [{"role": "user", "content": "x"}], "stream": True}
    response = client.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_stream_error_fault_sends_the_dialects_error_frame_first(client: httpx.Client) -> None:
    headers = {"X-AgentNB-Fault": "stream-error=503;retry-after=7;tag=se"}
    response = client.post("/v1/agents/echo/stream", json={"query": "x"}, headers=headers)
    assert response.status_code == 200
    [frame] = parse_sse(response.text)
    assert frame.event == "error"
    assert frame.id is None
    assert frame.json() == {
        "error": "Model overloaded (injected fault)",
        "code": "CAPACITY_ERROR",
        "retry_after": 7.0,
    }
    again = parse_sse(
        client.post("/v1/agents/echo/stream", json={"query": "x"}, headers=headers).text
    )
    assert again[-1].event == "done"


@pytest.mark.parametrize("kind", KINDS)
def test_stream_error_fault_in_every_dialect(client: httpx.Client, kind: str) -> None:
    path, body = run_request(client, kind, agent="echo")
    headers = {"X-AgentNB-Fault": f"stream-error=RATE_LIMIT_ERROR;tag=every-{kind}"}
    frames = parse_sse(client.post(path, json=body, headers=headers).text)
    # the error is the first frame, or the second where the protocol opens every run with a
    # frame of its own (AG-UI's RUN_STARTED); the fault's frames carry no ids
    assert any("injected fault" in frame.data for frame in frames[:2])
    assert all(frame.id is None for frame in frames)


def test_malformed_fault_sends_one_bad_frame_then_continues(client: httpx.Client) -> None:
    path, body = run_request(client, "operativus", agent="echo", message="a b c d e f g h i")
    headers = {"X-AgentNB-Fault": "malformed-after=2"}
    frames = parse_sse(client.post(path, json=body, headers=headers).text)
    with pytest.raises(json.JSONDecodeError):
        frames[2].json()
    assert frames[2].id is None
    assert frames[-1].json()["event"] == "STOP"
    assert [f.number for f in frames if f.id] == list(range(len(frames) - 1))


def test_stall_fault_stops_sending_and_frees_the_writer_on_disconnect(
    server: ServerHandle, client: httpx.Client
) -> None:
    path, body = run_request(client, "runagent", agent="echo", message="a b c d e f g h i j k")
    headers = {"X-AgentNB-Fault": "stall-after=2"}
    # the read limit is the stall's proof; a loaded machine silent before it is tried again
    for limit in growing_limits("the two frames before the stall", first=2.0):
        received: list[SSE] = []
        with (
            pytest.raises(httpx.ReadTimeout),
            client.stream(
                "POST", path, json=body, headers=headers, timeout=stall_timeout(limit)
            ) as response,
        ):
            received.extend(iter_sse(response))
        if len(received) >= 2:
            break
    assert [f.event for f in received] == ["start", "chunk"]
    state = state_of(server)
    wait_until(lambda: state.streams.open == 0)


def test_no_end_fault_leaves_out_the_terminal_frame(client: httpx.Client) -> None:
    for kind in ("runagent", "openai", "seekrflow"):
        path, body = run_request(client, kind, agent="echo")
        frames = parse_sse(client.post(path, json=body, headers={"X-AgentNB-Fault": "no-end"}).text)
        assert not is_complete(kind, frames)
        rest = parse_sse(
            client.post(path, json=body, headers={"Last-Event-ID": frames[-1].id or ""}).text
        )
        assert is_complete(kind, frames + rest)


def test_no_ids_fault_sends_frames_without_ids(client: httpx.Client) -> None:
    path, body = run_request(client, "runagent", agent="echo")
    frames = parse_sse(client.post(path, json=body, headers={"X-AgentNB-Fault": "no-ids"}).text)
    assert [f.event for f in frames] == ["start", "chunk", "done"]
    assert all(f.id is None for f in frames)


def test_answer_faults_apply_to_any_endpoint(client: httpx.Client) -> None:
    headers = {"X-AgentNB-Fault": "status=500;tag=list-runs"}
    thread_id = new_thread(client, "x")
    response = client.get(f"/v1/threads/{thread_id}/runs", headers=headers)
    assert response.status_code == 500
    assert client.get(f"/v1/threads/{thread_id}/runs", headers=headers).status_code == 200


def test_html_and_content_type_faults(client: httpx.Client) -> None:
    html = client.post(
        "/v1/run", json={"agent": "echo", "prompt": "x"}, headers={"X-AgentNB-Fault": "html;tag=h"}
    )
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    headers = {"X-AgentNB-Fault": "content-type=application/json;tag=ct"}
    plain = client.post("/v1/run", json={"agent": "echo", "prompt": "x"}, headers=headers)
    assert plain.headers["content-type"] == "application/json"
    assert "injected" in plain.json()["detail"]


def test_bad_fault_header_is_400(client: httpx.Client) -> None:
    response = client.post("/v1/run", json={}, headers={"X-AgentNB-Fault": "explode=1"})
    assert response.status_code == 400
    assert "explode" in response.json()["detail"]


def test_faults_are_ignored_unless_switched_on() -> None:
    with start_server(delay_ms=0) as plain:
        headers = {"X-API-Key": plain.api_key, "X-AgentNB-Fault": "status=500"}
        response = httpx.post(
            plain.base_url + "/v1/run",
            json={"agent": "echo", "prompt": "x"},
            headers=headers,
            verify=TLS,
        )
        assert response.status_code == 200


# --- lifecycle ------------------------------------------------------------------------------


def test_start_server_handle_lifecycle() -> None:
    handle = start_server(api_key="secret-key-123", delay_ms=0)
    with handle:
        assert handle.base_url.startswith("http://127.0.0.1:")
        assert handle.url_for("openai") == handle.base_url + "/v1"
        assert handle.url_for("seekrflow") == handle.base_url
        assert "secret-key-123" not in repr(handle)
        with pytest.raises(ConfigurationError):
            handle.url_for("nonsense")
        ok = httpx.get(handle.base_url + "/", headers={"X-API-Key": "secret-key-123"}, verify=TLS)
        assert ok.status_code == 200
    assert not handle.running
    handle.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(handle.base_url + "/", verify=TLS)


def test_stop_ends_open_streams_promptly() -> None:
    handle = start_server(faults=FaultBook(), delay_ms=0)
    headers = {"X-API-Key": handle.api_key, "X-AgentNB-Fault": "stall-after=1"}
    with httpx.Client(
        base_url=handle.base_url, headers=headers, timeout=PATIENCE_S, verify=TLS
    ) as c:
        body = {"query": "a b c d e f g"}
        with c.stream("POST", "/v1/agents/echo/stream", json=body) as response:
            frames = iter_sse(response)
            assert next(frames).event == "start"
            handle.stop()
            assert not handle.running
            assert list(frames) == []


def test_local_server_is_shared() -> None:
    first = local_server()
    assert local_server() is first
    assert first.running


def test_non_loopback_hosts_are_refused() -> None:
    for host in ("0.0.0.0", "192.0.2.10", "example.com"):
        with pytest.raises(ConfigurationError, match="allow-remote"):
            start_server(host=host)


@pytest.mark.parametrize("kind", sorted(DATA_ONLY))
def test_seekrflow_streams_data_only_frames_as_the_platform_does(
    client: httpx.Client, kind: str
) -> None:
    """SeekrFlow sends no ``id:`` or ``retry:`` lines (the seekrai SDK reads only ``data:``),
    nor does its attach route; the ``ids`` fault flag adds them for tests that want ids."""
    path, body = run_request(client, kind)
    raw = client.post(path, json=body).text
    assert "\nid:" not in "\n" + raw and "\nretry:" not in "\n" + raw
    frames = parse_sse(raw)
    assert is_complete(kind, frames)
    run_id = frames[0].run_id
    thread_id = path.split("/")[3]
    attached = client.get(f"/v1/threads/{thread_id}/runs/{run_id}/attach").text
    assert "\nid:" not in "\n" + attached
    assert [f.data for f in parse_sse(attached)] == [f.data for f in frames]
    with_ids = parse_sse(client.post(path, json=body, headers={"X-AgentNB-Fault": "ids"}).text)
    assert all(f.id is not None for f in with_ids) and with_ids[0].retry == 1000
