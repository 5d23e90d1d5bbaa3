// The drill-down pages: a list of tickets (the query a number stands for),
// one ticket (fields, clocks, timeline, the ops' actions), one partner
// (registry entry, scorecard, open work, suspend/reactivate), the
// unroutable queue, the open return visits, the dead letters (replay).
import { html, useState } from "./lib.js";
import { t, num, word, time, duration } from "./i18n.js";
import { api, query } from "./api.js";
import { href, ErrorBox, useLoad, Action, TicketTable } from "./ui.js";

const enc = encodeURIComponent;

function describe(params) {
    const words = Object.entries(params).map(([k, v]) => {
        if (k === "status") return word("st", v);
        if (k === "type") return word("ty", v);
        if (k === "sla") return t("sla_" + v);
        if (k === "queue") return t("q_" + v);
        if (k === "open") return v === "true" ? t("open_tickets") : "";
        return t(k) + " " + v;
    });
    return words.filter(Boolean).join(" · ") || t("tickets");
}

export function TicketList({ params }) {
    return html`<div data-testid="view-tickets">
        <h2>${t("list_title", { what: describe(params) })}</h2>
        <${TicketTable} params=${params} />
    </div>`;
}

function Fields({ tk }) {
    const c = tk.customer || {}, p = tk.product || {};
    const rows = [
        [t("status"), word("st", tk.status)], [t("type"), word("ty", tk.type)], [t("priority"), tk.priority],
        [t("owner"), tk.owner || t("na")], [t("customer"), [c.name, c.phone, c.region].filter(Boolean).join(" · ")],
        [t("product"), [p.category, p.model, p.serial].filter(Boolean).join(" · ")],
        [t("partner"), tk.partner_id ? html`<a href=${href("/partner/" + tk.partner_id)}>${tk.partner_id}</a>` : t("na")],
        [t("created_ms"), time(tk.created_ms)], [t("updated_ms"), time(tk.updated_ms)],
    ];
    return html`<table class="fields" data-testid="ticket-fields">${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}
        ${tk.description ? html`<tr><th>${t("detail")}</th><td>${tk.description}</td></tr>` : null}</table>`;
}

function Clocks({ clocks }) {
    const list = Array.isArray(clocks) ? clocks : (clocks && clocks.clocks) || [];
    return html`<table class="list" data-testid="ticket-clocks"><thead><tr><th>${t("clock")}</th><th>${t("state")}</th>
        <th>${t("due")}</th><th>${t("remaining")}</th><th>${t("level")}</th><th>${t("breached")}</th></tr></thead>
        <tbody>${list.map((c) => html`<tr key=${c.clock} class=${c.breached ? "bad" : ""}>
            <td>${c.clock}</td><td>${c.state}</td><td>${time(c.due_ms)}</td><td>${duration(c.remaining_ms)}</td>
            <td>${c.level === undefined ? t("na") : c.level}</td><td>${c.breached ? t("yes") : t("no")}</td></tr>`)}</tbody></table>`;
}

function Timeline({ events }) {
    const list = (events && events.events) || [];
    return html`<table class="list" data-testid="ticket-timeline"><thead><tr><th>${t("time")}</th><th>${t("event")}</th>
        <th>${t("detail")}</th></tr></thead>
        <tbody>${list.slice().reverse().map((e, i) => html`<tr key=${i} data-event=${e.type}>
            <td>${time(e.time_ms)}</td><td>${e.type}</td><td><code>${JSON.stringify(e.data || {})}</code></td></tr>`)}</tbody></table>`;
}

export function TicketView({ id }) {
    const load = useLoad(() => Promise.all([
        api("GET", "/v1/tickets/" + enc(id)),
        api("GET", "/v1/tickets/" + enc(id) + "/timeline"),
        api("GET", "/v1/tickets/" + enc(id) + "/clocks"),
    ]), [id]);
    const post = (path, body) => api("POST", "/v1/tickets/" + enc(id) + path, body);
    const [tk, events, clocks] = load.data || [];
    return html`<div data-testid="view-ticket">
        <h2>${t("ticket", { id })}</h2>
        <${ErrorBox} error=${load.error} />
        ${tk ? html`
            <${Fields} tk=${tk} />
            <h3>${t("actions")}</h3>
            <div class="actions">
                <${Action} label=${t("a_reassign")} testid="reassign" onDone=${load.reload}
                    fields=${[{ name: "owner", label: t("new_owner"), required: true }, { name: "reason", label: t("reason") }]}
                    run=${(v) => post("/owner", v.reason ? { owner: v.owner, reason: v.reason } : { owner: v.owner })} />
                <${Action} label=${t("a_redispatch")} testid="redispatch" onDone=${load.reload}
                    fields=${[{ name: "reason", label: t("reason"), required: true }]}
                    run=${(v) => post("/redispatch", { reason: v.reason })} />
                <${Action} label=${t("a_override")} testid="override" onDone=${load.reload}
                    fields=${[{ name: "partner_id", label: t("partner_id"), required: true }, { name: "note", label: t("note") }]}
                    run=${(v) => post("/dispatch", v.note ? { partner_id: v.partner_id, note: v.note } : { partner_id: v.partner_id })} />
            </div>
            <h3>${t("clocks")}</h3><${Clocks} clocks=${clocks} />
            <h3>${t("timeline")}</h3><${Timeline} events=${events} />` : load.loading ? html`<p class="muted">${t("loading")}</p>` : null}
    </div>`;
}

function Scorecard({ q }) {
    if (!q) return null;
    const parts = ["score", "on_time", "first_fix", "repeat", "install_return", "satisfaction", "complaints", "sla"];
    const permille = (v) => (v === null || v === undefined ? t("na") : num(v / 10, 1) + " %");
    return html`<table class="list" data-testid="scorecard"><thead><tr><th></th>
        <th>${t("window_long", { d: num(q.window_days) })}</th><th>${t("window_short", { d: num(q.short_days) })}</th></tr></thead>
        <tbody>${parts.map((k) => html`<tr key=${k}><th>${t("sc_" + k)}</th><td>${permille(q[k])}</td><td>${permille(q["short_" + k])}</td></tr>`)}
        <tr><th>${t("sc_breaches")}</th><td>${num(q.breaches)}</td><td></td></tr>
        <tr><th>${t("sc_samples")}</th><td>${num(q.samples)}</td><td></td></tr></tbody></table>`;
}

export function PartnerView({ id }) {
    const load = useLoad(() => Promise.all([
        api("GET", "/v1/partners/" + enc(id)),
        api("GET", "/v1/partners/" + enc(id) + "/quality").catch((e) => ({ error: e })),
    ]), [id]);
    const [p, quality] = load.data || [];
    const setStatus = (status) => api("PATCH", "/v1/partners/" + enc(id), { status });
    return html`<div data-testid="view-partner">
        <h2>${t("partner_title", { id })}</h2>
        <${ErrorBox} error=${load.error} />
        ${p ? html`
            <h3>${t("registry")}</h3>
            <table class="fields" data-testid="partner-fields">
                <tr><th>${t("name")}</th><td>${p.name}</td></tr>
                <tr><th>${t("status")}</th><td data-testid="partner-status">${word("ps", p.status)}</td></tr>
                <tr><th>${t("region")}</th><td>${(p.regions || []).join(", ")}</td></tr>
                <tr><th>${t("category")}</th><td>${(p.categories || []).join(", ")}</td></tr>
                <tr><th>${t("capacity")}</th><td>${num(p.capacity_cap)}</td></tr>
                <tr><th>${t("updated_ms")}</th><td>${time(p.updated_ms)}</td></tr>
            </table>
            <div class="actions">
                ${p.status === "active" ? html`<${Action} label=${t("a_suspend")} testid="suspend" onDone=${load.reload} run=${() => setStatus("suspended")} />` : null}
                ${p.status === "suspended" ? html`<${Action} label=${t("a_reactivate")} testid="reactivate" onDone=${load.reload} run=${() => setStatus("active")} />` : null}
            </div>
            <h3>${t("scorecard")}</h3>
            ${quality && quality.error ? html`<${ErrorBox} error=${quality.error} />` : html`<${Scorecard} q=${quality} />`}
            <h3>${t("open_work")}</h3>
            <${TicketTable} params=${{ partner: id, open: "true" }} />` : load.loading ? html`<p class="muted">${t("loading")}</p>` : null}
    </div>`;
}

export function Unroutable() {
    const load = useLoad(() => api("GET", "/v1/queues/unroutable" + query({ limit: 100 })), []);
    const items = (load.data && load.data.items) || [];
    return html`<div data-testid="view-unroutable">
        <h2>${t("unroutable_title")}</h2><${ErrorBox} error=${load.error} />
        <table class="list"><thead><tr><th>${t("id")}</th><th>${t("status")}</th><th>${t("region")}</th><th>${t("reason")}</th>
            <th>${t("refusals")}</th><th>${t("since")}</th></tr></thead>
        <tbody>${items.map((r) => html`<tr key=${r.ticket_id}><td><a href=${href("/ticket/" + r.ticket_id)}>${r.ticket_id}</a></td>
            <td>${word("st", r.status)}</td><td>${r.region}</td><td>${r.reason}</td><td>${num(r.refusals)}</td><td>${time(r.since_ms)}</td></tr>`)}</tbody></table>
    </div>`;
}

export function Visits() {
    const [offset, setOffset] = useState(0);
    const load = useLoad(() => api("GET", "/v1/visits" + query({ state: "open", limit: 50, offset })), [offset]);
    const d = load.data || {};
    return html`<div data-testid="view-visits">
        <h2>${t("visits_title")}</h2><${ErrorBox} error=${load.error} />
        <table class="list"><thead><tr><th>${t("visit")}</th><th>${t("id")}</th><th>${t("partner")}</th><th>${t("due_ms")}</th></tr></thead>
        <tbody>${(d.visits || []).map((v) => html`<tr key=${v.visit_id} class=${v.overdue ? "bad" : ""}><td>${v.visit_id}</td>
            <td><a href=${href("/ticket/" + v.ticket_id)}>${v.ticket_id}</a></td><td>${v.partner_id || t("na")}</td><td>${time(v.due_ms)}</td></tr>`)}</tbody></table>
        ${d.next_offset ? html`<button type="button" onClick=${() => setOffset(d.next_offset)}>${t("more")}</button>` : null}
    </div>`;
}

export function DeadLetters() {
    const [offset, setOffset] = useState(0);
    const load = useLoad(() => api("GET", "/v1/notifications/dead" + query({ limit: 50, offset })), [offset]);
    const d = load.data || {};
    const items = d.items || [];
    return html`<div data-testid="view-dead">
        <h2>${t("dead_title")} (${num(d.count)})</h2><${ErrorBox} error=${load.error} />
        <table class="list"><thead><tr><th>${t("id")}</th><th>${t("template")}</th><th>${t("channel")}</th><th>${t("attempts")}</th>
            <th>${t("last_error")}</th><th>${t("dead_ms")}</th><th></th></tr></thead>
        <tbody>${items.map((n) => html`<tr key=${n.id} data-notification=${n.id}>
            <td><a href=${href("/ticket/" + n.ticket_id)}>${n.ticket_id}</a></td><td>${n.template}</td><td>${n.channel}</td>
            <td>${num(n.attempts)}</td><td>${n.last_error}</td><td>${time(n.dead_ms)}</td>
            <td><${Action} label=${t("a_replay")} testid=${"replay-" + n.id} onDone=${load.reload}
                run=${() => api("POST", "/v1/notifications/" + enc(n.id) + "/replay")} /></td></tr>`)}</tbody></table>
        ${offset + items.length < (d.count || 0) ? html`<button type="button" onClick=${() => setOffset(offset + items.length)}>${t("more")}</button>` : null}
    </div>`;
}
