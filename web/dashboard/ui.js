// Small pieces every view uses: links, numbers that drill down, tables,
// the API error shown verbatim, an action that asks before it acts, a
// chart, and the hash router.
import { html, useState, useEffect, useRef, uPlot } from "./lib.js";
import { t, num, word, time, getLang } from "./i18n.js";
import { api } from "./api.js";

// Routes are hashes: #/tickets?status=received, #/ticket/T..., #/partner/P...
export function href(path, params) {
    const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString() : "";
    return "#" + path + (q ? "?" + q : "");
}

export function parseHash(hash) {
    const h = (hash || "").replace(/^#/, "") || "/";
    const [path, q] = h.split("?");
    return { path, params: Object.fromEntries(new URLSearchParams(q || "")) };
}

// A number from the summary that opens the tickets behind it.
export function Num({ value, to, testid, digits }) {
    const text = num(value, digits);
    if (!to || value === null || value === undefined)
        return html`<span class="num" data-testid=${testid}>${text}</span>`;
    return html`<a class="num" href=${to} data-testid=${testid}>${text}</a>`;
}

export function Stat({ label, value, to, testid, warn }) {
    return html`<div class=${"stat" + (warn && value > 0 ? " warn" : "")}>
        <${Num} value=${value} to=${to} testid=${testid} />
        <span class="label">${label}</span>
    </div>`;
}

export function ErrorBox({ error }) {
    if (!error) return null;
    const status = error.status ? error.status + " " : "";
    return html`<pre class="error" role="alert" data-testid="error">${status}${error.code ? error.code + ": " : ""}${error.message}</pre>`;
}

// Loads fn() (a promise) when deps change; {data, error, loading, reload}.
export function useLoad(fn, deps) {
    const [state, setState] = useState({ data: null, error: null, loading: true });
    const [tick, setTick] = useState(0);
    useEffect(() => {
        let live = true;
        setState((s) => ({ data: s.data, error: null, loading: true }));
        fn().then((data) => live && setState({ data, error: null, loading: false }),
                  (error) => live && setState({ data: null, error, loading: false }));
        return () => { live = false; };
    }, [...deps, tick]);
    return { ...state, reload: () => setTick((n) => n + 1) };
}

// An action: a button that opens a small form, a confirmation, the API's
// answer or error verbatim. fields: [{name, label, value}]; run(values)
// returns the API call's promise.
export function Action({ label, fields, run, onDone, testid }) {
    const [open, setOpen] = useState(false);
    const [values, setValues] = useState({});
    const [error, setError] = useState(null);
    const [busy, setBusy] = useState(false);
    const [done, setDone] = useState(false);
    const start = () => {
        setValues(Object.fromEntries((fields || []).map((f) => [f.name, f.value || ""])));
        setError(null);
        setDone(false);
        setOpen(true);
    };
    const confirm = async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
            await run(values);
            setOpen(false);
            setDone(true);
            if (onDone) onDone();
        } catch (err) {
            setError(err);
        } finally {
            setBusy(false);
        }
    };
    if (!open)
        return html`<span class="action"><button type="button" onClick=${start} data-testid=${testid}>${label}</button>
            ${done ? html`<span class="ok">${t("done")}</span>` : null}</span>`;
    return html`<form class="action open" onSubmit=${confirm} data-testid=${testid + "-form"}>
        <strong>${t("confirm_q", { what: label })}</strong>
        ${(fields || []).map((f) => html`<label>${f.label}
            <input name=${f.name} value=${values[f.name] || ""} required=${!!f.required}
                   onInput=${(e) => setValues({ ...values, [f.name]: e.target.value })} /></label>`)}
        <button type="submit" disabled=${busy} data-testid=${testid + "-confirm"}>${t("confirm")}</button>
        <button type="button" onClick=${() => setOpen(false)}>${t("cancel")}</button>
        <${ErrorBox} error=${error} />
    </form>`;
}

// A uPlot chart. series: [{label, values, color}], x: numbers; bars draws
// bars (categories: labels for x = 0..n-1), else lines over time (x in s).
export function Chart({ x, series, bars, categories, height, testid }) {
    const ref = useRef(null);
    const plot = useRef(null);
    useEffect(() => {
        const el = ref.current;
        if (!el) return undefined;
        const width = Math.max(el.clientWidth || 600, 300);
        const opts = {
            width, height: height || 220,
            legend: { show: true },
            // Bars sit on 0, half a slot in from each edge; a time axis
            // shows clock times in the page's language.
            scales: bars ? { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] },
                             y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } } : {},
            axes: [bars ? {
                values: (u, splits) => splits.map((v) => (Number.isInteger(v) && categories[v] !== undefined ? categories[v] : "")),
                splits: () => categories.map((_, i) => i),
            } : {
                values: (u, splits) => splits.map((v) => new Date(v * 1000).toLocaleTimeString(getLang())),
            }, {}],
            series: [{ label: bars ? t("by") : t("time") }].concat(series.map((s) => ({
                label: s.label, stroke: s.color, fill: bars ? s.color + "99" : undefined, width: bars ? 0 : 2,
                paths: bars ? uPlot.paths.bars({ size: [0.6, 80] }) : undefined,
                points: { show: !bars },
            }))),
        };
        const data = [x].concat(series.map((s) => s.values));
        if (plot.current) plot.current.destroy();
        plot.current = new uPlot(opts, data, el);
        return undefined;
    }, [bars, height, JSON.stringify(categories || []), series.length, series.map((s) => s.label).join()]);
    useEffect(() => {
        if (plot.current) plot.current.setData([x].concat(series.map((s) => s.values)));
    });
    useEffect(() => () => plot.current && plot.current.destroy(), []);
    return html`<div class="chart" ref=${ref} data-testid=${testid}></div>`;
}

// A page of tickets (GET /v1/tickets with the drill-down query), More for
// the next page: never all of them at once.
export function TicketTable({ params, pageSize }) {
    const [rows, setRows] = useState([]);
    const [cursor, setCursor] = useState(null);
    const [error, setError] = useState(null);
    const [loading, setLoading] = useState(false);
    const [partial, setPartial] = useState(false);
    const key = JSON.stringify(params);
    const load = async (from, replace) => {
        setLoading(true);
        setError(null);
        try {
            const q = new URLSearchParams({ ...params, limit: String(pageSize || 50) });
            if (from) q.set("cursor", from);
            const page = await api("GET", "/v1/tickets?" + q.toString());
            setRows((r) => (replace ? [] : r).concat(page.tickets || []));
            setCursor(page.next_cursor || null);
            setPartial(!!page.partial);
        } catch (e) {
            setError(e);
        } finally {
            setLoading(false);
        }
    };
    useEffect(() => { setRows([]); setCursor(null); load(null, true); }, [key]);
    return html`<div>
        <${ErrorBox} error=${error} />
        <table class="list" data-testid="ticket-list">
            <thead><tr><th>${t("id")}</th><th>${t("status")}</th><th>${t("type")}</th><th>${t("priority")}</th>
                <th>${t("region")}</th><th>${t("partner")}</th><th>${t("owner")}</th><th>${t("updated_ms")}</th></tr></thead>
            <tbody>${rows.map((r) => html`<${TicketRow} key=${r.id} r=${r} />`)}</tbody>
        </table>
        ${!loading && !error && !rows.length ? html`<p class="muted">${t("no_tickets")}</p>` : null}
        ${partial && cursor ? html`<p class="muted">${t("partial")}</p>` : null}
        ${loading ? html`<p class="muted">${t("loading")}</p>` : null}
        ${cursor && !loading ? html`<button type="button" onClick=${() => load(cursor, false)} data-testid="more">${t("more")}</button>` : null}
    </div>`;
}

function TicketRow({ r }) {
    return html`<tr data-ticket=${r.id}>
        <td><a href=${href("/ticket/" + r.id)}>${r.id}</a></td>
        <td>${word("st", r.status)}</td><td>${word("ty", r.type)}</td><td>${r.priority}</td>
        <td>${r.customer ? r.customer.region : ""}</td>
        <td>${r.partner_id ? html`<a href=${href("/partner/" + r.partner_id)}>${r.partner_id}</a>` : t("na")}</td>
        <td>${r.owner || t("na")}</td><td>${time(r.updated_ms)}</td>
    </tr>`;
}
