// The ops dashboard: sign-in, the live board fed by GET /v1/ops/stream, the
// drill-downs, the actions and the reports. No build step: ES modules,
// Preact + htm (lib.js).
import { html, render, useState, useEffect, useRef } from "./lib.js";
import { UPLOT_CSS } from "./lib.js";
import { t, LANGS, getLang, setLang } from "./i18n.js";
import { api, session, OpsStream } from "./api.js";
import { href, parseHash, ErrorBox } from "./ui.js";
import { Board } from "./board.js";
import { TicketList, TicketView, PartnerView, Unroutable, Visits, DeadLetters } from "./views.js";
import { Reports } from "./reports.js";

// The live list keeps the newest RECENT_MAX tickets; the trend the last
// TREND_MAX summaries: the page's memory stays flat however busy the
// platform is.
const RECENT_MAX = 100;
const TREND_MAX = 600;

function useHash() {
    const [hash, setHash] = useState(location.hash);
    useEffect(() => {
        const on = () => setHash(location.hash);
        addEventListener("hashchange", on);
        return () => removeEventListener("hashchange", on);
    }, []);
    return parseHash(hash);
}

function SignIn({ onSignedIn, message }) {
    const [token, setToken] = useState("");
    const [error, setError] = useState(message || null);
    const [busy, setBusy] = useState(false);
    const submit = async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        session.token = token.trim();
        try {
            onSignedIn(await api("GET", "/v1/ops/summary"));
        } catch (err) {
            session.token = "";
            setError(err);
        } finally {
            setBusy(false);
        }
    };
    return html`<form class="signin" onSubmit=${submit} data-testid="signin">
        <h2>${t("sign_in")}</h2>
        <label>${t("token")} <input type="password" autocomplete="off" value=${token} required
            onInput=${(e) => setToken(e.target.value)} data-testid="token" /></label>
        <p class="muted">${t("token_hint")}</p>
        <button type="submit" disabled=${busy} data-testid="signin-submit">${t("sign_in")}</button>
        <${SignInError} error=${error} />
    </form>`;
}

function SignInError({ error }) {
    if (!error) return null;
    const what = error.status === 403 ? t("not_allowed") : error.status === 401 ? t("bad_token")
        : error.status === 0 ? t("unreachable") : null;
    return html`<div data-testid="signin-error">${what ? html`<p class="error-title">${what}</p>` : null}<${ErrorBox} error=${error} /></div>`;
}

// The stream's frames, applied once per animation frame: a burst of
// changes re-renders the page once.
function useLive(signedIn, onDenied) {
    const [summary, setSummary] = useState(null);
    const [recent, setRecent] = useState([]);
    const [trend, setTrend] = useState({ x: [], open: [], breached: [] });
    const [state, setState] = useState("connecting");
    const pending = useRef({ summary: null, changes: [], reset: false, scheduled: false });
    const rows = useRef(new Map());
    useEffect(() => {
        if (!signedIn) return undefined;
        const p = pending.current;
        const flush = () => {
            p.scheduled = false;
            if (p.reset) rows.current.clear();
            for (const c of p.changes) {
                rows.current.delete(c.id);
                rows.current.set(c.id, c);
            }
            if (p.changes.length || p.reset) {
                while (rows.current.size > RECENT_MAX) rows.current.delete(rows.current.keys().next().value);
                setRecent(Array.from(rows.current.values()).sort((a, b) => (b.updated_ms || 0) - (a.updated_ms || 0)));
            }
            if (p.summary) {
                const s = p.summary;
                setSummary(s);
                setTrend((tr) => {
                    const keep = (a, v) => a.concat([v]).slice(-TREND_MAX);
                    const x = Math.floor((s.time_ms || Date.now()) / 1000);
                    if (tr.x.length && tr.x[tr.x.length - 1] >= x) return tr;
                    return { x: keep(tr.x, x), open: keep(tr.open, s.tickets ? s.tickets.open : null),
                             breached: keep(tr.breached, s.sla ? s.sla.breached : null) };
                });
            }
            p.summary = null;
            p.changes = [];
            p.reset = false;
        };
        const schedule = () => {
            if (!p.scheduled) {
                p.scheduled = true;
                requestAnimationFrame(flush);
            }
        };
        const stream = new OpsStream({
            summary: (s) => { p.summary = s; schedule(); },
            tickets: (f) => { p.changes.push(...(f.changes || [])); schedule(); },
            reset: () => { p.reset = true; p.changes = []; schedule(); },
            state: (name, detail) => {
                setState(name);
                if (name === "denied") onDenied(detail);
            },
        });
        stream.start();
        return () => stream.stop();
    }, [signedIn]);
    return { summary, setSummary, recent, trend, state };
}

function View({ route, live }) {
    const { path, params } = route;
    const m = path.match(/^\/(ticket|partner)\/(.+)$/);
    if (m && m[1] === "ticket") return html`<${TicketView} id=${decodeURIComponent(m[2])} />`;
    if (m && m[1] === "partner") return html`<${PartnerView} id=${decodeURIComponent(m[2])} />`;
    if (path === "/tickets") return html`<${TicketList} params=${params} />`;
    if (path === "/unroutable") return html`<${Unroutable} />`;
    if (path === "/visits") return html`<${Visits} />`;
    if (path === "/dead") return html`<${DeadLetters} />`;
    if (path === "/reports") return html`<${Reports} />`;
    return html`<${Board} summary=${live.summary} recent=${live.recent} trend=${live.trend} />`;
}

function App() {
    const [, setLangTick] = useState(0);
    const [signedIn, setSignedIn] = useState(false);
    const [checking, setChecking] = useState(!!session.token);
    const [message, setMessage] = useState(null);
    const route = useHash();
    const signOut = (why) => {
        session.token = "";
        setSignedIn(false);
        setMessage(why || null);
    };
    const live = useLive(signedIn, signOut);
    // A token kept in this tab from before a reload: check it again.
    useEffect(() => {
        if (!session.token) return;
        api("GET", "/v1/ops/summary").then((s) => { live.setSummary(s); setSignedIn(true); },
                                           (e) => signOut(e)).finally(() => setChecking(false));
    }, []);
    const changeLang = (e) => { setLang(e.target.value); setLangTick((n) => n + 1); document.title = t("title"); };
    document.title = t("title");
    return html`<div class="app">
        <header>
            <h1><a href="#/">${t("title")}</a></h1>
            ${signedIn ? html`<nav>
                <a href=${href("/")} data-testid="nav-board">${t("nav_board")}</a>
                <a href=${href("/reports")} data-testid="nav-reports">${t("nav_reports")}</a>
                <a href=${href("/dead")} data-testid="nav-dead">${t("nav_dead")}</a>
            </nav>
            <span class=${"stream " + live.state} data-testid="stream-state">${t(live.state)}</span>` : null}
            <span class="spacer"></span>
            <label class="lang">${t("language")}
                <select value=${getLang()} onChange=${changeLang} data-testid="lang">
                    ${LANGS.map(([v, name]) => html`<option value=${v}>${name}</option>`)}</select></label>
            ${signedIn ? html`<button type="button" onClick=${() => signOut()} data-testid="signout">${t("sign_out")}</button>` : null}
        </header>
        <main>
            ${signedIn ? html`<${View} route=${route} live=${live} />`
                : checking ? html`<p class="muted">${t("loading")}</p>`
                : html`<${SignIn} message=${message} onSignedIn=${(s) => { live.setSummary(s); setMessage(null); setSignedIn(true); }} />`}
        </main>
    </div>`;
}

// uPlot's stylesheet, from the versioned vendor folder lib.js names.
const css = document.createElement("link");
css.rel = "stylesheet";
css.href = UPLOT_CSS;
document.head.appendChild(css);

render(html`<${App} />`, document.getElementById("app"));
