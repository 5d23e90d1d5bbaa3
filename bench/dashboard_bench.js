// The ops dashboard's figures with many open tickets, for
// bench/dashboard_bench.py (which starts the cluster and seeds them):
//   scripts/dashboard.sh node bench/dashboard_bench.js <config.json>
// Prints one JSON line: first paint (sign-in to the board showing the
// open count, and the first page load), the time from a POST /v1/tickets
// answer to its row in the live list (p50, p99, max over cfg.changes),
// the page's JS heap and the renderer's memory after the changes and
// after cfg.soak_s more seconds of live updates.
"use strict";
const fs = require("fs");
const { chromium } = require("playwright-core");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));

function pct(xs, p) {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
}

// The config's ticket with its own phone and serial: a new customer each.
function body(i) {
    const b = JSON.parse(JSON.stringify(cfg.ticket));
    b.customer.phone = "137" + String(i).padStart(8, "0");
    b.product.serial = "SND" + String(i).padStart(9, "0");
    return b;
}

async function post(body) {
    const res = await fetch(cfg.base + "/v1/tickets", {
        method: "POST", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + cfg.tokens.agent },
    });
    const json = await res.json();
    if (res.status !== 201) throw new Error("POST /v1/tickets: " + res.status + " " + JSON.stringify(json));
    return json.id;
}

async function memory(page, cdp) {
    await cdp.send("HeapProfiler.collectGarbage");
    const m = (await cdp.send("Performance.getMetrics")).metrics;
    const get = (n) => (m.find((x) => x.name === n) || {}).value;
    return { js_heap_mb: +(get("JSHeapUsedSize") / 1048576).toFixed(1),
             dom_nodes: get("Nodes"), documents: get("Documents") };
}

async function main() {
    const browser = await chromium.launch({
        executablePath: cfg.chromium, headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
    page.setDefaultTimeout(120000);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    const out = { open_tickets: cfg.open };

    let t0 = Date.now();
    await page.goto(cfg.base + "/dashboard/");
    await page.waitForSelector("[data-testid=signin]");
    out.page_load_ms = Date.now() - t0;
    await page.fill("[data-testid=token]", cfg.tokens.ops);
    t0 = Date.now();
    await page.click("[data-testid=signin-submit]");
    await page.waitForFunction((want) => {
        const el = document.querySelector("[data-testid=tickets-open]");
        return el && parseInt(el.textContent.replace(/\D/g, ""), 10) >= want;
    }, cfg.open);
    out.first_paint_ms = Date.now() - t0;
    await page.waitForSelector("[data-testid=stream-state].live");
    out.live_ms = Date.now() - t0;
    out.memory_signed_in = await memory(page, cdp);

    const lat = [];
    for (let i = 0; i < cfg.changes; i++) {
        const id = await post(body(i));
        const t = Date.now();
        await page.waitForSelector("[data-testid=recent] tr[data-ticket='" + id + "']");
        lat.push(Date.now() - t);
    }
    out.update_ms = { p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(...lat), n: lat.length };
    out.memory_after_changes = await memory(page, cdp);

    // A soak: tickets keep coming for soak_s seconds; the heap must not grow with them.
    const end = Date.now() + cfg.soak_s * 1000;
    let n = 0;
    while (Date.now() < end) {
        await post(body(1000 + n++));
        await new Promise((r) => setTimeout(r, 1000 / cfg.soak_rate));
    }
    await new Promise((r) => setTimeout(r, 3000));
    out.soak = { seconds: cfg.soak_s, tickets: n };
    out.memory_after_soak = await memory(page, cdp);
    // The drill-down the board's open count leads to: first page of 100k.
    t0 = Date.now();
    await page.click("[data-testid=tickets-open]");
    await page.waitForSelector("[data-testid=ticket-list] tr[data-ticket]");
    out.drilldown_ms = Date.now() - t0;
    console.log(JSON.stringify(out));
    await browser.close();
}

main().catch((e) => { console.error("dashboard bench: " + e.message); process.exit(1); });
