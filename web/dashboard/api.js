// The platform's HTTP API as the page uses it: every call carries the
// signed-in user's token; an error keeps the API's own answer (status,
// code, message) so the page can show it verbatim.

const TOKEN_KEY = "asp.dashboard.token";

export class ApiError extends Error {
    constructor(status, code, message, body) {
        super(message);
        this.status = status;
        this.code = code;
        this.body = body;
    }
}

export const session = {
    get token() { return sessionStorage.getItem(TOKEN_KEY) || ""; },
    set token(v) {
        if (v) sessionStorage.setItem(TOKEN_KEY, v);
        else sessionStorage.removeItem(TOKEN_KEY);
    },
};

function authHeaders(extra) {
    const h = Object.assign({}, extra || {});
    if (session.token) h.Authorization = "Bearer " + session.token;
    return h;
}

async function errorOf(res) {
    let body = null, code = "http_" + res.status, message = res.status + " " + res.statusText;
    try {
        body = await res.json();
        if (body && body.error) {
            code = body.error.code || code;
            message = body.error.message || message;
        }
    } catch (_) { /* not JSON: keep the status line */ }
    return new ApiError(res.status, code, message, body);
}

// One JSON call. path: "/v1/..." with its query; body: an object or
// undefined. Resolves to the parsed answer, rejects with ApiError (status 0
// when the platform could not be reached).
export async function api(method, path, body) {
    const init = { method, headers: authHeaders({ Accept: "application/json" }), cache: "no-store" };
    if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
    }
    let res;
    try {
        res = await fetch(path, init);
    } catch (e) {
        throw new ApiError(0, "unreachable", String(e && e.message || e), null);
    }
    if (!res.ok) throw await errorOf(res);
    return res.status === 204 ? null : res.json();
}

// A file the API answers (the reports' CSV), saved by the browser under name.
export async function download(path, name) {
    const res = await fetch(path, { headers: authHeaders({ Accept: "text/csv" }), cache: "no-store" });
    if (!res.ok) throw await errorOf(res);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {}))
        if (v !== undefined && v !== null && v !== "") q.append(k, String(v));
    const s = q.toString();
    return s ? "?" + s : "";
}

// ---------------------------------------------------------------------
// GET /v1/ops/stream, Server-Sent Events read with fetch() so that the
// Authorization header goes with it (EventSource cannot send one, and a
// token in the URL would end up in logs). Reconnects with Last-Event-ID
// and a growing, jittered delay; a stream silent for longer than three
// keepalives is taken as dead and reopened.

const SILENCE_MS = 45000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

export class OpsStream {
    // on: { summary(S), tickets({changes, more}), reset(), state(name, detail) }
    // state names: "connecting", "live", "reconnecting", "denied".
    constructor(on) {
        this.on = on;
        this.lastId = null;
        this.stopped = false;
        this.backoff = BACKOFF_MIN_MS;
        this.controller = null;
    }

    start() {
        this.stopped = false;
        this._loop();
    }

    stop() {
        this.stopped = true;
        if (this.controller) this.controller.abort();
    }

    async _loop() {
        while (!this.stopped) {
            let retryMs = null;
            this.on.state(this.lastId ? "reconnecting" : "connecting");
            try {
                retryMs = await this._once();
            } catch (e) {
                if (this.stopped) return;
                if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
                    this.on.state("denied", e);
                    return;
                }
            }
            if (this.stopped) return;
            this.on.state("reconnecting");
            const wait = retryMs !== null ? retryMs : this.backoff * (0.5 + Math.random());
            this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
            await new Promise((r) => setTimeout(r, wait));
        }
    }

    // One connection, until it ends. Returns the delay the server asked
    // for (Retry-After on a 503), else null.
    async _once() {
        const controller = new AbortController();
        this.controller = controller;
        const headers = authHeaders({ Accept: "text/event-stream" });
        if (this.lastId) headers["Last-Event-ID"] = this.lastId;
        const res = await fetch("/v1/ops/stream", { headers, signal: controller.signal, cache: "no-store" });
        if (!res.ok) {
            const ra = parseInt(res.headers.get("Retry-After") || "", 10);
            const err = await errorOf(res);
            if (res.status === 401 || res.status === 403) throw err;
            return Number.isFinite(ra) ? ra * 1000 : null;
        }
        this.on.state("live");
        this.backoff = BACKOFF_MIN_MS;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        let timer = null;
        const arm = () => {
            clearTimeout(timer);
            timer = setTimeout(() => controller.abort(), SILENCE_MS);
        };
        arm();
        try {
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                arm();
                buf += value;
                // Frames end with a blank line (\n\n; \r\n\r\n normalised).
                buf = buf.replace(/\r\n?/g, "\n");
                let end;
                while ((end = buf.indexOf("\n\n")) >= 0) {
                    this._frame(buf.slice(0, end));
                    buf = buf.slice(end + 2);
                }
            }
        } catch (e) {
            if (!this.stopped && !controller.signal.aborted) throw e;
        } finally {
            clearTimeout(timer);
        }
        return null;
    }

    _frame(text) {
        let event = "message", id = null;
        const data = [];
        for (const line of text.split("\n")) {
            if (!line || line[0] === ":") continue;     // a comment: the keepalive
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            let value = colon < 0 ? "" : line.slice(colon + 1);
            if (value[0] === " ") value = value.slice(1);
            if (field === "event") event = value;
            else if (field === "data") data.push(value);
            else if (field === "id") id = value;
        }
        if (id !== null) this.lastId = id;
        if (event === "reset") {
            this.on.reset();
            return;
        }
        if (!data.length) return;
        let body;
        try {
            body = JSON.parse(data.join("\n"));
        } catch (_) {
            return;                                     // not ours: ignore the frame
        }
        if (event === "summary") this.on.summary(body);
        else if (event === "tickets") this.on.tickets(body);
    }
}
