// Drives the ops dashboard in Debian's chromium (headless) as a person
// would, for tests/dashboard_test.py, which starts the cluster and runs:
//   scripts/dashboard.sh node tests/dashboard_driver.js <config.json>
// playwright-core comes from tools/dashboard's pins (NODE_PATH); it
// downloads no browser. The config names the page, the tokens, the
// tickets to create and where screenshots and the CSV go. Every step
// prints one line; any failure, an uncaught error in the page or a
// Content-Security-Policy violation exits 1 with the reason.
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const T = cfg.timeout_scale || 1;
const problems = [];

function log(...a) { console.log("[driver " + new Date().toISOString().slice(11, 19) + "]", ...a); }
function fail(msg) { throw new Error(msg); }

// The HTTP POST a curl would send: the platform's API, not the page.
async function post(pathname, token, body) {
    const res = await fetch(cfg.base + pathname, {
        method: "POST", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
    });
    const json = await res.json();
    if (res.status >= 300) fail("POST " + pathname + ": " + res.status + " " + JSON.stringify(json));
    return json;
}

async function text(page, sel) { return ((await page.textContent(sel)) || "").trim(); }

async function shot(page, name) {
    const file = path.join(cfg.shots, "dashboard-" + name + ".png");
    await page.screenshot({ path: file, fullPage: true });
    log("screenshot", file);
}

async function signIn(page, token) {
    await page.fill("[data-testid=token]", token);
    await page.click("[data-testid=signin-submit]");
}

async function refused(page, who, token) {
    await signIn(page, token);
    await page.waitForSelector("[data-testid=signin-error]", { timeout: 10000 * T });
    const said = await text(page, "[data-testid=signin-error]");
    if (!said.includes("403") || !said.includes("Not allowed here"))
        fail(who + " token: the sign-in said " + JSON.stringify(said) + ", want a 403 'Not allowed here'");
    if (await page.$("[data-testid=board]")) fail(who + " token opened the board");
    log(who + " token refused:", said.replace(/\s+/g, " "));
}

// Asks tests/dashboard_test.py to do what only it can (restart a
// service): writes the request, waits for the answer file.
async function ask(what) {
    const done = path.join(cfg.dir, "done-" + what);
    fs.writeFileSync(path.join(cfg.dir, "ask-" + what), "");
    const deadline = Date.now() + 120000 * T;
    while (!fs.existsSync(done)) {
        if (Date.now() > deadline) fail("the test did not " + what);
        await new Promise((r) => setTimeout(r, 100));
    }
}

async function reassign(page, who) {
    await page.click("[data-testid=reassign]");
    await page.fill("[data-testid=reassign-form] input[name=owner]", cfg.new_owner);
    await page.fill("[data-testid=reassign-form] input[name=reason]", "breached: taken over by " + who);
    await page.click("[data-testid=reassign-confirm]");
}

async function main() {
    const browser = await chromium.launch({
        executablePath: cfg.chromium, headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1440, height: 1000 },
                                               locale: "en-US" });
    const page = await context.newPage();
    page.setDefaultTimeout(30000 * T);
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    // The headers of every request of the stream (Last-Event-ID).
    const streams = [];
    page.on("request", (r) => { if (r.url().endsWith("/v1/ops/stream")) streams.push(r.headers()); });
    page.on("console", (m) => {
        // A refused call is logged by the browser as a failed resource:
        // expected here. A CSP violation or a script error is not.
        if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push("console: " + m.text());
    });
    try {
        await page.goto(cfg.base + "/dashboard/");
        await page.waitForSelector("[data-testid=signin]");
        log("page loaded, sign-in shown");

        await refused(page, "customer", cfg.tokens.customer);
        await refused(page, "agent", cfg.tokens.agent);

        await signIn(page, cfg.tokens.ops);
        await page.waitForSelector("[data-testid=board]");
        await page.waitForSelector("[data-testid=stream-state].live", { timeout: 30000 * T });
        log("signed in as ops; the stream is live");

        // A ticket created with a plain HTTP POST appears live.
        const live = await post("/v1/tickets", cfg.tokens.agent, cfg.tickets.live);
        const row = "[data-testid=recent] tr[data-ticket='" + live.id + "']";
        await page.waitForSelector(row, { timeout: 60000 * T });
        log("ticket", live.id, "appeared live, status", await page.getAttribute(row, "data-status"));
        const seen = new Set();
        const deadline = Date.now() + 180000 * T;
        for (;;) {
            const st = await page.getAttribute(row, "data-status");
            if (!seen.has(st)) { seen.add(st); log("  status", st); }
            if (st === "closed") {
                if (seen.size < 2) fail("ticket " + live.id + " showed only " + [...seen] + ": no change seen live");
                break;
            }
            if (Date.now() > deadline) fail("ticket " + live.id + " never showed closed (saw " + [...seen] + ")");
            await page.waitForTimeout(200);
        }
        await page.waitForFunction(() => document.querySelectorAll("[data-testid=trend-chart] canvas").length > 0,
                                   null, { timeout: 30000 * T });
        await shot(page, "board");

        // intake restarts under the page: the stream reconnects, sending
        // Last-Event-ID, and the ticket created meanwhile shows up.
        const streamsBefore = streams.length;
        await ask("restart-intake");
        const gap = await post("/v1/tickets", cfg.tokens.agent, cfg.tickets.gap);
        await page.waitForSelector("[data-testid=recent] tr[data-ticket='" + gap.id + "']", { timeout: 60000 * T });
        await page.waitForSelector("[data-testid=stream-state].live", { timeout: 60000 * T });
        const again = streams.slice(streamsBefore);
        if (!again.length || !again.every((h) => h["last-event-id"]))
            fail("the stream's reconnects did not send Last-Event-ID: " + JSON.stringify(again));
        log("intake restarted: the stream reconnected", again.length, "time(s) with Last-Event-ID; shows", gap.id);

        // A breach: from the board's number to its ticket, then reassign it.
        const late = await post("/v1/tickets", cfg.tokens.agent, cfg.tickets.breach);
        log("ticket", late.id, "created to breach");
        await page.waitForFunction(() => {
            const el = document.querySelector("[data-testid=sla-breached]");
            return el && el.tagName === "A" && parseInt(el.textContent.replace(/\D/g, ""), 10) > 0;
        }, null, { timeout: 90000 * T });
        await page.click("[data-testid=sla-breached]");
        await page.waitForSelector("[data-testid=view-tickets]");
        const link = "[data-testid=ticket-list] tr[data-ticket='" + late.id + "'] a[href='#/ticket/" + late.id + "']";
        await page.waitForSelector(link, { timeout: 30000 * T });
        log("the breached list holds", late.id);
        await page.click(link);
        await page.waitForSelector("[data-testid=ticket-fields]");
        await page.waitForSelector("[data-testid=ticket-clocks] tr.bad", { timeout: 30000 * T });
        // Ops reassign where they act (docs/http-api.md, Roles): the
        // breached ticket goes to another owner, and the timeline says so.
        const before = await page.$$eval("[data-testid=ticket-timeline] tbody tr", (r) => r.length);
        await reassign(page, "ops");
        await page.waitForFunction((n) => document.querySelectorAll("[data-testid=ticket-timeline] tbody tr").length > n,
                                   before, { timeout: 30000 * T });
        const fields = await text(page, "[data-testid=ticket-fields]");
        if (!fields.includes(cfg.new_owner)) fail("after the reassign the ticket shows " + JSON.stringify(fields));
        log("reassigned", late.id, "to", cfg.new_owner, "as ops; the timeline grew from", before);
        await shot(page, "ticket");

        // An action the API refuses shows the API's error verbatim: a
        // re-dispatch of a ticket no partner worked on is a 409.
        await page.click("[data-testid=redispatch]");
        await page.fill("[data-testid=redispatch-form] input[name=reason]", "try another center");
        await page.click("[data-testid=redispatch-confirm]");
        await page.waitForSelector("[data-testid=redispatch-form] [data-testid=error]");
        const refusal = await text(page, "[data-testid=redispatch-form] [data-testid=error]");
        if (!refusal.includes("409")) fail("re-dispatch: the page said " + JSON.stringify(refusal) + ", want the API's 409");
        log("refused re-dispatch shown:", refusal);

        // The queues: the breached ticket is unroutable (no partner serves
        // its region); the board's number lists it. Dead letters and open
        // visits answer without an error.
        await page.click("[data-testid=nav-board]");
        await page.waitForFunction(() => {
            const el = document.querySelector("[data-testid=q-unroutable]");
            return el && el.tagName === "A" && parseInt(el.textContent.replace(/\D/g, ""), 10) > 0;
        });
        await page.click("[data-testid=q-unroutable]");
        await page.waitForSelector("[data-testid=view-unroutable] a[href='#/ticket/" + late.id + "']");
        for (const [nav, view] of [["#/dead", "view-dead"], ["#/visits", "view-visits"]]) {
            await page.evaluate((h) => { location.hash = h; }, nav);
            await page.waitForSelector("[data-testid=" + view + "] table");
            if (await page.$("[data-testid=" + view + "] [data-testid=error]")) fail(nav + " shows an error");
        }
        log("unroutable queue lists", late.id, "; dead letters and visits answer");

        // A partner: its registry entry, scorecard and open work; ops
        // suspend it and see the registry say so.
        const partner = await post("/v1/partners", cfg.tokens.ops, cfg.partner);
        await page.click("[data-testid=signout]");
        await signIn(page, cfg.tokens.ops);
        await page.evaluate((id) => { location.hash = "#/partner/" + id; }, partner.partner_id);
        await page.waitForSelector("[data-testid=partner-fields]");
        await page.waitForSelector("[data-testid=view-partner] [data-testid=ticket-list]");
        await page.click("[data-testid=suspend]");
        await page.click("[data-testid=suspend-confirm]");
        await page.waitForFunction(() => {
            const el = document.querySelector("[data-testid=partner-status]");
            return el && el.textContent.trim() === "suspended";
        });
        log("partner", partner.partner_id, "suspended from its page");
        await shot(page, "partner");

        // Reports: a table, a chart and the API's CSV.
        await page.click("[data-testid=nav-reports]");
        await page.waitForSelector("[data-testid=report-table]", { timeout: 60000 * T });
        await page.waitForSelector("[data-testid=report-chart] canvas");
        const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=report-csv]")]);
        await download.saveAs(cfg.csv);
        log("CSV saved as", download.suggestedFilename());
        await shot(page, "reports");

        // zh-CN.
        await page.selectOption("[data-testid=lang]", "zh-CN");
        await page.click("[data-testid=nav-board]");
        await page.waitForSelector("[data-testid=panel-tickets]");
        const h1 = await text(page, "header h1");
        const h2 = await text(page, "[data-testid=panel-tickets] h2");
        const lang = await page.getAttribute("html", "lang");
        if (h1 !== "运维看板" || h2 !== "工单" || lang !== "zh-CN")
            fail("zh-CN: header " + JSON.stringify(h1) + ", panel " + JSON.stringify(h2) + ", lang " + lang);
        log("zh-CN labels shown:", h1, "/", h2);
        await shot(page, "zh-CN");

        if (problems.length) fail("the page reported: " + problems.join(" | "));
        console.log(JSON.stringify({ result: "ok", live: live.id, breach: late.id }));
    } catch (e) {
        try { await shot(page, "failure"); } catch (_) { /* the page may be gone */ }
        log("FAILED:", e.message, problems.length ? "(page: " + problems.join(" | ") + ")" : "");
        process.exitCode = 1;
    } finally {
        await browser.close();
    }
}

main().catch((e) => { log("FAILED:", e.stack || e); process.exit(1); });
