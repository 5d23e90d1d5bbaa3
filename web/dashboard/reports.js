// The reports (GET /v1/reports): a period by region, partner or category
// as a table and a bar chart of one figure, and the API's own CSV.
import { html, useState } from "./lib.js";
import { t, num, percent, getLang } from "./i18n.js";
import { api, download, query } from "./api.js";
import { ErrorBox, useLoad, Chart } from "./ui.js";

// The figures of a group, in the API's order: counts, ratios, a mean.
const METRICS = [
    ["tickets_created", "count"], ["work_orders_completed", "count"], ["on_time", "rate"],
    ["sla_compliance", "rate"], ["first_time_fix", "rate"], ["repeat_repair", "rate"],
    ["install_return", "rate"], ["satisfaction", "mean"], ["complaints", "count"],
    ["sla_warnings", "count"], ["sla_breaches", "count"], ["compensation", "count"],
];

function value(g, name, kind) {
    const v = g[name];
    if (kind === "count") return v === undefined ? null : v;
    return v ? (kind === "rate" ? v.rate : v.mean) : null;
}

function show(g, name, kind) {
    const v = value(g, name, kind);
    if (kind === "rate") return percent(v);
    if (kind === "mean") return num(v, 2);
    return num(v);
}

// The period the page opens on: this UTC month (quarter, year).
function current(period) {
    const d = new Date();
    const y = d.getUTCFullYear(), m = d.getUTCMonth() + 1;
    if (period === "quarter") return y + "-Q" + Math.ceil(m / 3);
    if (period === "year") return String(y);
    return y + "-" + String(m).padStart(2, "0");
}

export function Reports() {
    const [form, setForm] = useState({ period: "month", at: current("month"), by: "region" });
    const [asked, setAsked] = useState(form);
    const [metric, setMetric] = useState("work_orders_completed");
    const [csvError, setCsvError] = useState(null);
    const load = useLoad(() => api("GET", "/v1/reports" + query({ ...asked, format: "json" })), [JSON.stringify(asked)]);
    const groups = (load.data && load.data.groups) || [];
    const kind = METRICS.find(([n]) => n === metric)[1];
    const submit = (e) => { e.preventDefault(); setAsked({ ...form }); };
    const csv = async () => {
        setCsvError(null);
        try {
            await download("/v1/reports" + query({ ...asked, format: "csv" }),
                           "report-" + asked.period + "-" + asked.at + "-" + asked.by + ".csv");
        } catch (e) {
            setCsvError(e);
        }
    };
    const set = (k) => (e) => {
        const next = { ...form, [k]: e.target.value };
        if (k === "period") next.at = current(e.target.value);
        setForm(next);
    };
    const values = groups.map((g) => value(g, metric, kind));
    return html`<div data-testid="view-reports" lang=${getLang()}>
        <h2>${t("reports")}</h2>
        <form class="filters" onSubmit=${submit}>
            <label>${t("period")} <select value=${form.period} onChange=${set("period")} data-testid="report-period">
                <option value="month">${t("month")}</option><option value="quarter">${t("quarter")}</option>
                <option value="year">${t("year")}</option></select></label>
            <label>${t("at")} <input value=${form.at} onInput=${set("at")} size="8" data-testid="report-at" /></label>
            <label>${t("by")} <select value=${form.by} onChange=${set("by")} data-testid="report-by">
                <option value="region">${t("region")}</option><option value="partner">${t("partner")}</option>
                <option value="category">${t("category")}</option></select></label>
            <button type="submit" data-testid="report-show">${t("show")}</button>
            <button type="button" onClick=${csv} data-testid="report-csv">${t("csv")}</button>
        </form>
        <${ErrorBox} error=${load.error || csvError} />
        ${groups.length ? html`
            <label>${t("metric")} <select value=${metric} onChange=${(e) => setMetric(e.target.value)} data-testid="report-metric">
                ${METRICS.map(([n]) => html`<option value=${n}>${t("m_" + n)}</option>`)}</select></label>
            <${Chart} bars x=${groups.map((_, i) => i)} categories=${groups.map((g) => g.id || t("na"))} testid="report-chart"
                series=${[{ label: t("m_" + metric), values, color: "#2f6fb3" }]} />
            <div class="scroll"><table class="list" data-testid="report-table"><thead><tr><th>${t(asked.by)}</th>
                ${METRICS.map(([n]) => html`<th>${t("m_" + n)}</th>`)}</tr></thead>
            <tbody>${groups.map((g) => html`<tr key=${g.id}><th>${g.id || t("na")}</th>
                ${METRICS.map(([n, k]) => html`<td>${show(g, n, k)}</td>`)}</tr>`)}</tbody></table></div>`
            : load.loading ? html`<p class="muted">${t("loading")}</p>` : html`<p class="muted" data-testid="report-empty">${t("no_groups")}</p>`}
    </div>`;
}
