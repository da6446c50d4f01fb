#!/usr/bin/env python3
"""Writes app/httpapi/openapi.json, penny's OpenAPI 3.1 description.

Edit this file, run `make openapi`, commit both. A Go test checks that the
description and the server's route table name the same operations.
"""
import json, pathlib

def ref(name): return {"$ref": f"#/components/schemas/{name}"}
def arr(item): return {"type": "array", "items": item}
S = {"type": "string"}; I = {"type": "integer"}; N = {"type": "number"}; B = {"type": "boolean"}
T = {"type": "string", "format": "date-time"}
def obj(props, required=()):
    o = {"type": "object", "properties": props}
    if required: o["required"] = list(required)
    return o
def body(schema, ctype="application/json", required=True):
    return {"required": required, "content": {ctype: {"schema": schema}}}
def ok(schema, desc="OK", status="200"):
    return {status: {"description": desc, "content": {"application/json": {"schema": schema}}}}
ERR = {"description": "Error", "content": {"application/json": {"schema": ref("Error")}}}
def errs(*codes): return {str(c): ERR for c in codes}
NO = {"204": {"description": "Done"}}
P = lambda name: {"name": name, "in": "path", "required": True, "schema": S}
Q = lambda name, desc: {"name": name, "in": "query", "required": False, "schema": S, "description": desc}
AUTH = [{"bearer": []}, {"cookie": []}]

def op(summary, responses, tag, req=None, params=None, security=AUTH, desc=None):
    o = {"summary": summary, "tags": [tag], "responses": responses, "security": security}
    if desc: o["description"] = desc
    if req: o["requestBody"] = req
    if params: o["parameters"] = params
    return o

schemas = {
    "Error": obj({"error": obj({"code": S, "message": S}, ["code", "message"])}, ["error"]),
    "Credentials": obj({"email": S, "password": {"type": "string", "minLength": 8}, "invite": S}, ["email", "password"]),
    "User": obj({"id": S, "email": S, "role": {"enum": ["admin", "member"]}, "createdAt": T}),
    "Session": obj({"user": ref("User"), "accessToken": S, "expiresAt": T, "refreshToken": S, "csrfToken": S}),
    "Document": obj({"id": S, "ownerId": S, "collection": S, "title": S, "filename": S, "contentType": S, "size": I, "sha256": S,
                     "status": {"enum": ["queued", "parsing", "embedding", "ready", "failed"]}, "progress": obj({"done": I, "total": I}),
                     "duplicate": B, "sharedWith": arr(S), "sharedAll": B, "error": S, "chunks": I, "pages": I, "embeddingModel": S, "createdAt": T, "updatedAt": T}),
    "Chunk": obj({"id": S, "documentId": S, "ownerId": S, "ordinal": I, "heading": S, "text": S,
                  "start": {"type": "integer", "description": "byte offset of text in the document"}, "end": I, "page": I, "tokens": I, "embeddingModel": S}),
    "Citation": obj({"n": I, "documentId": S, "title": S, "chunkId": S, "start": I, "end": I, "page": I, "score": N}),
    "Source": {"allOf": [ref("Citation"), obj({"text": S})]},
    "Cost": obj({"micros": {"type": "integer", "description": "USD micro-dollars"}, "usd": N, "baselineMicros": I, "baselineUsd": N}),
    "RAGQuery": obj({"question": S, "documentIds": arr(S), "collection": S, "options": obj({"provider": S, "maxChunks": {"type": "integer", "minimum": 1, "maximum": 20}})}, ["question"]),
    "RAGAnswer": obj({"answer": S, "citations": arr(ref("Citation")), "sources": arr(ref("Source")), "cost": ref("Cost"),
                      "provider": S, "model": S, "latencyMs": I, "cached": {"enum": ["miss", "exact", "semantic"]}, "retrieval": {"enum": ["hybrid", "keyword"]}, "reasons": arr(S),
                      "tier": S, "arm": S, "groundedness": N}),
    "Chat": obj({"id": S, "userId": S, "title": S, "createdAt": T, "updatedAt": T}),
    "Message": obj({"id": S, "chatId": S, "userId": S, "role": {"enum": ["user", "assistant"]}, "content": S,
                    "citations": arr(ref("Citation")), "provider": S, "model": S, "costMicros": I, "createdAt": T,
                    "tier": S, "arm": S, "latencyMs": I, "groundedness": N, "feedback": obj({"rating": S, "comment": S, "at": T}),
                    "reasons": arr(S), "cached": {"enum": ["exact", "semantic"], "description": "absent when the answer was not cached"}}),
    "Reply": obj({"userMessage": ref("Message"), "message": ref("Message"), "cost": ref("Cost"), "retrieval": S, "reasons": arr(S)}),
    "APIKey": obj({"id": S, "name": S, "prefix": S, "rpm": I, "monthlyBudgetUsd": N, "key": {"type": "string", "description": "the secret, in the create response only"}, "createdAt": T}),
    "Penny": obj({"provider": S, "model": S, "tier": S, "arm": S, "costUsd": N, "costMicros": I, "baselineCostUsd": N,
        "baselineMicros": I, "cache": S, "reasons": arr(S)}),
    "Model": obj({"id": S, "object": S, "created": I, "owned_by": S}),
    "ChatCompletionRequest": obj({"model": S, "messages": arr(obj({"role": {"enum": ["system", "developer", "user", "assistant"]},
        "content": {"oneOf": [S, arr(obj({"type": {"enum": ["text"]}, "text": S}))]}})), "stream": B,
        "stream_options": obj({"include_usage": B}), "max_tokens": I, "max_completion_tokens": I,
        "penny": obj({"provider": S, "cache": B})}, ["model", "messages"]),
    "ChatCompletion": obj({"id": S, "object": S, "created": I, "model": S, "choices": arr(obj({"index": I,
        "message": obj({"role": S, "content": S}), "finish_reason": S})), "usage": obj({"prompt_tokens": I, "completion_tokens": I, "total_tokens": I}),
        "penny": ref("Penny")}),
    "QualityRow": obj({"provider": S, "model": S, "arm": S, "calls": I, "errors": I, "errorRate": N, "answers": I, "rated": I, "up": I, "down": I,
        "satisfaction": N, "groundednessSamples": I, "groundedness": N, "latencyP50Ms": N, "latencyP95Ms": N, "costPerAnswerMicros": I}),
    "CostGroup": obj({"key": S, "calls": I, "errors": I, "tokensIn": I, "tokensOut": I, "costMicros": I, "baselineMicros": I,
        "savingsMicros": I, "cacheHits": I, "cacheSavingsMicros": I, "wasteMicros": I}),
    "CostMetrics": obj({"from": T, "to": T, "scope": S, "total": ref("CostGroup"), "groups": {"type": "object", "additionalProperties": arr(ref("CostGroup"))},
        "projectedMonthMicros": I, "projectedMonthBaselineMicros": I, "cacheHitRate": N}),
    "BudgetSettings": obj({"globalMonthlyUsd": N, "userMonthlyUsd": N, "thresholds": arr(I), "webhookUrl": S,
        "webhookSecret": {"type": "string", "writeOnly": True}, "webhookSecretSet": B}),
    "BudgetStatus": obj({"month": S, "budgets": arr(obj({"scope": S, "limitMicros": I, "spentMicros": I, "percent": N,
        "state": {"enum": ["ok", "warning", "exceeded"]}})), "alerts": arr(obj({"scope": S, "month": S, "threshold": I,
        "spentMicros": I, "limitMicros": I, "at": T})), "banner": S}),
    "Routing": obj({"forceProvider": S, "cheapPercent": I, "shadowPercent": I, "forcedByEnvironment": S, "providers": arr(S)}),
    "ProviderHealth": obj({"provider": S, "model": S, "kind": {"enum": ["chat", "embedding"]}, "tiers": arr(S),
        "status": {"enum": ["healthy", "degraded", "down", "unknown"]}, "breaker": {"enum": ["closed", "open", "half-open"]},
        "openUntil": T, "heldUntil": T, "calls": I, "errorRate": N, "p50Ms": N, "p95Ms": N, "lastError": S, "lastErrorAt": T,
        "lastProbe": T, "probeError": S, "reachable": B, "freeNeuronsLeft": N}),
    "CostLine": obj({"key": S, "calls": I, "errors": I, "tokensIn": I, "tokensOut": I, "costMicros": I, "baselineMicros": I, "savingsMicros": I}),
    "CostSummary": obj({"from": T, "to": T, "scope": {"enum": ["user", "all"]}, "total": ref("CostLine"),
                        "byProvider": arr(ref("CostLine")), "byService": arr(ref("CostLine"))}),
}

paths = {
    "/healthz": {"get": op("Liveness", ok(obj({"status": S, "version": S})), "health", security=[])},
    "/readyz": {"get": op("Readiness: the store answers", {**ok(obj({"status": S})), **errs(503)}, "health", security=[])},
    "/metrics": {"get": op("Prometheus metrics (loopback callers, or the PENNY_METRICS_TOKEN Bearer token)",
        {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": S}}}, **errs(401, 403)}, "health",
        security=[{"metricsToken": []}])},
    "/api/openapi.json": {"get": op("This description", ok({"type": "object"}), "health", security=[])},
    "/api/auth/register": {"post": op("Create an account and sign in (the first account becomes admin)",
        {**ok(ref("Session"), "Created", "201"), **errs(400, 403, 409, 413)}, "auth", body(ref("Credentials")), security=[],
        desc="Registration is open, invite (default once a user exists) or closed. Sets the penny_access, penny_refresh and penny_csrf cookies.")},
    "/api/auth/login": {"post": op("Sign in", {**ok(ref("Session")), **errs(400, 401, 429)}, "auth", body(ref("Credentials")), security=[],
        desc="Failed sign-ins per account and per IP are free up to PENNY_LOGIN_MAX_FAILURES; then each try waits twice as long (429 with Retry-After).")},
    "/api/auth/refresh": {"post": op("Spend a refresh token for a new session", {**ok(ref("Session")), **errs(401, 403)}, "auth",
        body(obj({"refreshToken": S}), required=False), security=[],
        desc="Send {refreshToken} or the penny_refresh cookie with X-CSRF-Token. Reusing a spent token revokes its whole family.")},
    "/api/auth/logout": {"post": op("Revoke the refresh token and clear the cookies", {**NO, **errs(403)}, "auth",
        body(obj({"refreshToken": S}), required=False), security=[])},
    "/api/auth/options": {"get": op("What a sign-in page offers: the registration mode and whether the first account (the admin) is still to be made",
        ok(obj({"registration": {"enum": ["open", "invite", "closed"]}, "firstUser": B})), "auth", security=[])},
    "/api/auth/me": {"get": op("The signed-in account", {**ok(ref("User")), **errs(401)}, "auth")},
    "/api/admin/invites": {"post": op("Create a single-use invite code (admin)", {**ok(obj({"invite": S, "role": S, "expiresAt": T}), "Created", "201"), **errs(401, 403)},
        "admin", body(obj({"role": {"enum": ["admin", "member"]}}), required=False))},
    "/api/admin/users": {
        "get": op("List accounts (admin)", {**ok(obj({"users": arr(ref("User"))})), **errs(401, 403)}, "admin"),
        "post": op("Create an account (admin)", {**ok(ref("User"), "Created", "201"), **errs(400, 401, 403, 409)}, "admin",
            body({"allOf": [ref("Credentials"), obj({"role": {"enum": ["admin", "member"]}})]})),
    },
    "/api/admin/backup": {"get": op("A backup of the running instance: store snapshot and uploaded originals, as tar.gz (admin)",
        {"200": {"description": "The archive (penny-backup/1)", "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}}}, **errs(401, 403)},
        "admin", desc="What `penny backup --to FILE` fetches while penny serves. Restore it with `penny restore --from FILE` on a stopped server; indexes are rebuilt at the next start.")},
    "/api/admin/routing": {
        "get": op("The routing switches in force (admin)", {**ok(ref("Routing")), **errs(401, 403)}, "admin"),
        "put": op("Set the rollback switch, the traffic split and shadow traffic, at once and persistently (admin)", {**ok(ref("Routing")), **errs(400, 401, 403)}, "admin",
            body(obj({"forceProvider": S, "cheapPercent": {"type": "integer", "minimum": 0, "maximum": 100},
                      "shadowPercent": {"type": "integer", "minimum": 0, "maximum": 100}})),
            desc="A field left out keeps its value. shadowPercent: the share of control-arm calls also sent to the cheap arm in the background (booked as arm shadow, never shown)."),
    },
    "/api/health/providers": {"get": op("Every configured model: status, breaker, latency, last error, last probe (admin)",
        {**ok(obj({"providers": arr(ref("ProviderHealth")), "embeddingModel": S})), **errs(401, 403)}, "admin")},
    "/api/keys": {
        "post": op("Create an API key; the secret is shown once", {**ok(ref("APIKey"), "Created", "201"), **errs(400, 401)}, "keys",
            body(obj({"name": S, "rpm": {"type": "integer", "description": "requests per minute on /v1 (0: PENNY_GATEWAY_RPM)"},
                      "monthlyBudgetUsd": {"type": "number", "description": "paid spend per month (0: no cap)"}}, ["name"]))),
        "get": op("List your API keys (prefixes only)", {**ok(obj({"keys": arr(ref("APIKey"))})), **errs(401)}, "keys"),
    },
    "/api/keys/{id}": {"delete": op("Revoke one of your API keys", {**NO, **errs(401, 404)}, "keys", params=[P("id")])},
    "/api/documents": {
        "post": op("Upload .txt, .md, .pdf, .html, .docx, .csv or .json files (multipart field file, repeatable), all or none: queued (202), or with ?wait=true answered once ready or failed (201)",
            {**ok(obj({"documents": arr(ref("Document"))}), "Queued", "202"), **ok(obj({"documents": arr(ref("Document"))}), "Ready or failed (?wait=true)", "201"), **errs(400, 401, 413, 415)},
            "documents", body(obj({"file": arr({"type": "string", "format": "binary"}), "collection": {"type": "string", "description": "default: default"}}), "multipart/form-data"),
            params=[Q("wait", "true: answer once every document is ready or failed")]),
        "get": op("List the documents you may read (yours and those shared with you), newest first", {**ok(obj({"documents": arr(ref("Document")),
            "total": {"type": "integer", "description": "documents that match, before paging"}, "collections": arr(S)})), **errs(400, 401)}, "documents",
            params=[Q("collection", "only this collection's documents"), Q("q", "only documents whose title or file name contains this (any case)"),
                    Q("offset", "skip this many (default 0)"), Q("limit", "at most this many (default: all)")]),
    },
    "/api/documents/{id}": {
        "get": op("One of your documents", {**ok(ref("Document")), **errs(401, 404)}, "documents", params=[P("id")]),
        "delete": op("Delete a document from the store, every index and the data dir", {**NO, **errs(401, 404)}, "documents", params=[P("id")]),
    },
    "/api/documents/{id}/sharing": {"put": op("Set who besides you may read a document: users by email, and/or everyone (owner only)",
        {**ok(ref("Document")), **errs(400, 401, 404)}, "documents", body(obj({"users": arr(S), "everyone": B})), params=[P("id")])},
    "/api/documents/{id}/chunks/{chunkId}": {"get": op("A cited span: the chunk's text and offsets", {**ok(ref("Chunk")), **errs(401, 404)}, "documents", params=[P("id"), P("chunkId")])},
    "/api/rag/query": {"post": op("Answer a question from your documents with [n] citations", {**ok(ref("RAGAnswer")), **errs(400, 401, 404, 413, 502, 503)}, "rag", body(ref("RAGQuery")))},
    "/api/chats": {
        "post": op("Start a chat", {**ok(ref("Chat"), "Created", "201"), **errs(400, 401)}, "chats", body(obj({"title": S}), required=False)),
        "get": op("List your chats, most recent first", {**ok(obj({"chats": arr(ref("Chat"))})), **errs(401)}, "chats"),
    },
    "/api/chats/{id}/messages": {
        "get": op("A chat's messages, oldest first", {**ok(obj({"messages": arr(ref("Message"))})), **errs(401, 404)}, "chats", params=[P("id")]),
        "post": op("Send a message and get the answer", {**ok(ref("Reply"), "Created (JSON)", "201"),
            "200": {"description": "With Accept: text/event-stream: events delta {text}, then done (a Reply) or error {error}", "content": {"text/event-stream": {"schema": S}}},
            **errs(400, 401, 404, 502)}, "chats", body(obj({"content": S, "documentIds": arr(S), "provider": S}, ["content"])), params=[P("id")]),
    },
    "/api/costs/metrics": {"get": op("Totals and groups from the ledger: savings against OpenAI-only, cache savings, failover waste, the month's projection",
        {**ok(ref("CostMetrics")), **errs(400, 401, 403, 404)}, "costs",
        params=[Q("from", "date or RFC 3339; default: start of this month"), Q("to", "exclusive; default: now"), Q("userId", "admins: one user only"),
                Q("groupBy", "comma-separated: provider, model, service, user (admins), kind, arm, cache, collection, day, or two joined by : (day:provider, keys joined by |)")])},
    "/api/costs/report": {"get": op("The month's savings report (Markdown or CSV), numbers from the ledger only", {
        "200": {"description": "The report", "content": {"text/markdown": {"schema": S}, "text/csv": {"schema": S}}}, **errs(400, 401, 404)}, "costs",
        params=[Q("month", "YYYY-MM; default: this month"), Q("format", "md (default) or csv"), Q("userId", "admins: one user only")])},
    "/api/costs/statement": {"get": op("The month's usage per user, day, service and model, as CSV (chargeback)", {
        "200": {"description": "CSV", "content": {"text/csv": {"schema": S}}}, **errs(400, 401, 404)}, "costs",
        params=[Q("month", "YYYY-MM; default: this month"), Q("userId", "admins: one user only")])},
    "/api/messages/{id}/feedback": {"post": op("Rate one of your answers", {**ok(ref("Message")), **errs(400, 401, 404)}, "quality",
        body(obj({"rating": {"enum": ["up", "down"]}, "comment": S}, ["rating"])), params=[P("id")])},
    "/api/quality/report": {"get": op("Per provider, model and A/B arm: satisfaction, groundedness, error rate, latency, cost per answer, with sample counts (admin)",
        {**ok(obj({"from": T, "to": T, "rows": arr(ref("QualityRow")), "arms": arr(ref("QualityRow"))})), **errs(400, 401, 403)}, "quality",
        params=[Q("from", "date or RFC 3339; default: start of this month"), Q("to", "exclusive; default: now")])},
    "/api/costs/budgets": {"get": op("This month's budgets that concern you, alerts, and a banner line", {**ok(ref("BudgetStatus")), **errs(401)}, "costs")},
    "/api/admin/budgets": {
        "get": op("Budget settings (admin; the webhook secret is never returned)", {**ok(ref("BudgetSettings")), **errs(401, 403)}, "admin"),
        "put": op("Set budgets, alert thresholds and the webhook (admin)", {**ok(ref("BudgetSettings")), **errs(400, 401, 403)}, "admin", body(ref("BudgetSettings")),
            desc="A field left out keeps its value; an empty webhookSecret keeps the stored one."),
    },
    "/api/costs/summary": {"get": op("Ledger totals by provider and service; members see their own, admins everyone's",
        {**ok(ref("CostSummary")), **errs(400, 401, 404)}, "costs",
        params=[Q("from", "date (YYYY-MM-DD) or RFC 3339; default: start of this month (UTC)"), Q("to", "exclusive; default: now"), Q("userId", "admins: one user only")])},
    "/v1/chat/completions": {"post": op("OpenAI-compatible chat completions (whole or streamed)",
        {**ok(ref("ChatCompletion")), **errs(400, 401, 402, 404, 429, 502, 503)}, "gateway",
        body(ref("ChatCompletionRequest")), security=[{"bearer": []}],
        desc="model: auto (tier from complexity), auto:small|medium|large, a model id from /v1/models, or rag / rag:<collection> "
             "(an answer from your documents, citations in penny.citations). tools pass through to providers that take them. "
             "With stream: true, Server-Sent Events of chat.completion.chunk objects end with data: [DONE]; "
             "stream_options.include_usage adds a usage chunk (with the penny object). A failure after the first token "
             "is an error event, never a clean end. Headers X-Penny-Provider, -Model, -Tier, -Cost-Usd, -Baseline-Cost-Usd, -Cache. "
             "Errors are OpenAI-shaped: {error: {message, type, param, code}}.")},
    "/v1/embeddings": {"post": op("OpenAI-compatible embeddings", {**ok(obj({"object": S, "data": arr(obj({"object": S, "index": I,
        "embedding": {"oneOf": [arr(N), S]}})), "model": S, "usage": obj({"prompt_tokens": I, "total_tokens": I}), "penny": ref("Penny")})),
        **errs(400, 401, 402, 404, 429, 502, 503)}, "gateway",
        body(obj({"model": S, "input": {"oneOf": [S, arr(S)]}, "encoding_format": {"enum": ["float", "base64"]}}, ["model", "input"])),
        security=[{"bearer": []}], desc="model: auto (the search index's model) or an embedding model id.")},
    "/v1/models": {"get": op("The models a client may ask for", {**ok(obj({"object": S, "data": arr(ref("Model"))})), **errs(401, 429)},
        "gateway", security=[{"bearer": []}])},
    "/v1/models/{id}": {"get": op("One model", {**ok(ref("Model")), **errs(401, 404, 429)}, "gateway", params=[P("id")], security=[{"bearer": []}])},
}

# Every request that writes may meet a full disk: nothing is saved.
DISK_FULL = {"description": "disk_full: penny's disk (or its database's) is full; nothing was saved", "content": ERR["content"]}
for methods in paths.values():
    for method, o in methods.items():
        if method != "get":
            o["responses"].setdefault("507", DISK_FULL)

doc = {
    "openapi": "3.1.0",
    "info": {"title": "penny", "version": "1", "description": "Self-hosted AI chat, document Q&A and gateway. Errors are {\"error\":{\"code\",\"message\"}}; any request may answer 500 internal_error, and any that writes 507 disk_full. Money is integer micro-dollars."},
    "components": {"schemas": schemas, "securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "description": "A JWT access token or a pk- API key"},
        "metricsToken": {"type": "http", "scheme": "bearer", "description": "PENNY_METRICS_TOKEN"},
        "cookie": {"type": "apiKey", "in": "cookie", "name": "penny_access", "description": "Unsafe methods also need the penny_csrf cookie value in X-CSRF-Token"}}},
    "paths": paths,
}
out = pathlib.Path(__file__).resolve().parent.parent / "app" / "httpapi" / "openapi.json"
out.write_text(json.dumps(doc, indent=1) + "\n")
