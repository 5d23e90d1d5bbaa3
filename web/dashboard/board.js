// The board: every number of GET /v1/ops/summary (the contract in
// docs/http-api.md, "Ops API"), live from the stream, each a link to the
// tickets behind it; the live trend; the recent tickets the stream reports.
import { html } from "./lib.js";
import { t, num, word, time, duration } from "./i18n.js";
import { href, Num, Stat, Chart } from "./ui.js";

const Q = (params) => href("/tickets", params);

function Tickets({ s }) {
    const by = s.by_status || {}, types = s.by_type || {};
    const max = Math.max(1, ...Object.values(by).filter((v) => typeof v === "number"));
    return html`<section class="panel" data-testid="panel-tickets">
        <h2>${t("tickets")}</h2>
        <${Stat} label=${t("open_tickets")} value=${s.open} to=${Q({ open: "true" })} testid="tickets-open" />
        <h3>${t("by_status")}</h3>
        <table class="bars">${Object.entries(by).map(([st, n]) => html`<tr key=${st}>
            <th>${word("st", st)}</th>
            <td><${Num} value=${n} to=${Q({ status: st })} testid=${"status-" + st} /></td>
            <td class="bar"><span style=${{ width: (typeof n === "number" ? (100 * n) / max : 0) + "%" }}></span></td>
        </tr>`)}</table>
        <h3>${t("by_type")}</h3>
        <table class="bars">${Object.entries(types).map(([ty, n]) => html`<tr key=${ty}>
            <th>${word("ty", ty)}</th><td><${Num} value=${n} to=${Q({ type: ty, open: "true" })} testid=${"type-" + ty} /></td>
        </tr>`)}</table>
    </section>`;
}

function Queues({ q }) {
    return html`<section class="panel" data-testid="panel-queues">
        <h2>${t("queues")}</h2>
        <div class="stats">
            <${Stat} label=${t("q_unroutable")} value=${q.unroutable} to=${href("/unroutable")} testid="q-unroutable" warn />
            <${Stat} label=${t("q_waiting_parts")} value=${q.waiting_parts} to=${Q({ queue: "waiting_parts" })} testid="q-waiting_parts" />
            <${Stat} label=${t("q_waiting_customer")} value=${q.waiting_customer} to=${Q({ queue: "waiting_customer" })} testid="q-waiting_customer" />
            <${Stat} label=${t("q_survey_pending")} value=${q.survey_pending} to=${Q({ queue: "survey_pending" })} testid="q-survey_pending" />
            <${Stat} label=${t("q_visits_open")} value=${q.visits_open} to=${href("/visits")} testid="q-visits_open" />
            <${Stat} label=${t("q_dead_letters")} value=${q.dead_letters} to=${href("/dead")} testid="q-dead_letters" warn />
        </div>
    </section>`;
}

function SlaRows({ rows, key1 }) {
    return html`<table class="list"><thead><tr><th>${t(key1)}</th><th>${t("sla_due_1h")}</th>
        <th>${t("sla_breached")}</th><th>${t("sla_escalated")}</th></tr></thead>
        <tbody>${(rows || []).map((r) => {
            const k = r[key1];
            const link = (sla) => Q({ sla, [key1]: k });
            return html`<tr key=${k}><th>${key1 === "partner" ? html`<a href=${href("/partner/" + k)}>${k}</a>` : k}</th>
                <td><${Num} value=${r.due_1h} to=${link("due_1h")} testid=${"sla-" + key1 + "-" + k + "-due_1h"} /></td>
                <td><${Num} value=${r.breached} to=${link("breached")} testid=${"sla-" + key1 + "-" + k + "-breached"} /></td>
                <td><${Num} value=${r.escalated} to=${link("escalated")} testid=${"sla-" + key1 + "-" + k + "-escalated"} /></td></tr>`;
        })}</tbody></table>`;
}

function Sla({ s }) {
    return html`<section class="panel" data-testid="panel-sla">
        <h2>${t("sla")}</h2>
        <div class="stats">
            <${Stat} label=${t("sla_due_1h")} value=${s.due_1h} to=${Q({ sla: "due_1h" })} testid="sla-due_1h" warn />
            <${Stat} label=${t("sla_breached")} value=${s.breached} to=${Q({ sla: "breached" })} testid="sla-breached" warn />
            <${Stat} label=${t("sla_escalated")} value=${s.escalated} to=${Q({ sla: "escalated" })} testid="sla-escalated" warn />
        </div>
        <h3>${t("by_region")}</h3><${SlaRows} rows=${s.by_region} key1="region" />
        <h3>${t("by_partner")}</h3><${SlaRows} rows=${s.by_partner} key1="partner" />
    </section>`;
}

function Partners({ p }) {
    const pct = p.capacity ? Math.min(100, (100 * (p.load || 0)) / p.capacity) : 0;
    return html`<section class="panel wide" data-testid="panel-partners">
        <h2>${t("partners")}</h2>
        <div class="stats">
            <${Stat} label=${t("p_registered")} value=${p.registered} />
            <${Stat} label=${t("p_connected")} value=${p.connected} />
            <${Stat} label=${t("p_suspended")} value=${p.suspended} />
            <div class="stat"><span class="num">${num(p.load)} / ${num(p.capacity)}</span><span class="label">${t("p_load")}</span>
                <span class="meter"><span style=${{ width: pct + "%" }}></span></span></div>
            <${Stat} label=${t("p_offers_pending")} value=${p.offers_pending} />
            <${Stat} label=${t("p_offers_lapsed_1h")} value=${p.offers_lapsed_1h} warn />
        </div>
        <h3>${t("top_partners")}</h3>
        <table class="list" data-testid="top-partners"><thead><tr><th>${t("partner")}</th><th>${t("name")}</th><th>${t("status")}</th>
            <th>${t("connected")}</th><th>${t("load")}</th><th>${t("score")}</th></tr></thead>
        <tbody>${(p.top || []).map((r) => html`<tr key=${r.id}>
            <td><a href=${href("/partner/" + r.id)} data-testid=${"partner-" + r.id}>${r.id}</a></td><td>${r.name}</td>
            <td>${word("ps", r.status)}</td><td>${r.connected ? t("yes") : t("no")}</td>
            <td><a href=${Q({ partner: r.id, open: "true" })}>${num(r.load)}</a> / ${num(r.capacity)}</td>
            <td>${num(r.score, 1)}</td></tr>`)}</tbody></table>
    </section>`;
}

function Notifications({ n }) {
    return html`<section class="panel" data-testid="panel-notifications">
        <h2>${t("notifications")}</h2>
        <div class="stats">
            <${Stat} label=${t("n_pending")} value=${n.pending} />
            <${Stat} label=${t("n_failing")} value=${n.failing} warn />
            <${Stat} label=${t("n_dead")} value=${n.dead} to=${href("/dead")} testid="n-dead" warn />
        </div>
    </section>`;
}

function Services({ list }) {
    return html`<section class="panel double" data-testid="panel-services">
        <h2>${t("services")}</h2>
        <table class="list"><thead><tr><th>${t("service")}</th><th>${t("up")}</th><th>${t("age")}</th>
            <th>${t("rate")}</th><th>${t("p50")}</th><th>${t("p99")}</th></tr></thead>
        <tbody>${(list || []).map((s) => html`<tr key=${s.name} class=${s.up === false ? "bad" : ""}>
            <th>${s.name}</th><td>${s.up === null || s.up === undefined ? t("na") : s.up ? t("yes") : t("down")}</td>
            <td>${duration(s.age_ms)}</td><td>${num(s.rate_per_s, 1)}</td><td>${num(s.p50_ms, 2)}</td><td>${num(s.p99_ms, 2)}</td>
        </tr>`)}</tbody></table>
    </section>`;
}

function Trend({ trend }) {
    if (trend.x.length < 2) return null;
    return html`<section class="panel wide">
        <h2>${t("trend")}</h2>
        <${Chart} x=${trend.x} testid="trend-chart" series=${[
            { label: t("open_tickets"), values: trend.open, color: "#2f6fb3" },
            { label: t("sla_breached"), values: trend.breached, color: "#c0392b" },
        ]} />
    </section>`;
}

export function Recent({ rows }) {
    return html`<section class="panel wide" data-testid="panel-recent">
        <h2>${t("recent")}</h2>
        ${rows.length ? null : html`<p class="muted">${t("recent_empty")}</p>`}
        <table class="list" data-testid="recent"><thead><tr><th>${t("id")}</th><th>${t("status")}</th><th>${t("type")}</th>
            <th>${t("region")}</th><th>${t("partner")}</th><th>${t("priority")}</th><th>${t("updated_ms")}</th></tr></thead>
        <tbody>${rows.map((r) => html`<tr key=${r.id} data-ticket=${r.id} data-status=${r.status}>
            <td><a href=${href("/ticket/" + r.id)}>${r.id}</a></td><td class="status">${word("st", r.status)}</td>
            <td>${word("ty", r.type)}</td><td>${r.region || t("na")}</td>
            <td>${r.partner ? html`<a href=${href("/partner/" + r.partner)}>${r.partner}</a>` : t("na")}</td>
            <td>${r.priority}</td><td>${time(r.updated_ms)}</td></tr>`)}</tbody></table>
    </section>`;
}

export function Board({ summary, recent, trend }) {
    if (!summary) return html`<p class="muted">${t("loading")}</p>`;
    const s = summary;
    return html`<div class="board" data-testid="board">
        <p class="muted" data-testid="summary-time">${t("updated", { time: time(s.time_ms) })}</p>
        <div class="grid">
            <${Tickets} s=${s.tickets || {}} />
            <${Queues} q=${s.queues || {}} />
            <${Sla} s=${s.sla || {}} />
            <${Notifications} n=${s.notifications || {}} />
            <${Services} list=${s.services} />
            <${Partners} p=${s.partners || {}} />
            <${Trend} trend=${trend} />
            <${Recent} rows=${recent} />
        </div>
    </div>`;
}
