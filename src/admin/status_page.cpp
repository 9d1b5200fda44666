// The status page, one self-contained document: inline style and script, no fonts, images
// or libraries from elsewhere. The script polls status.json every second and redraws; the
// badge turns green while answers come, red when one fails. The chart's bars are
// requests per second between samples, in one flat colour (#1f6feb).
#include "ferry/admin/status.h"

namespace ferry::admin {

std::string_view statusPage() {
  static constexpr std::string_view Page = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ferry status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  header { display: flex; align-items: center; gap: 12px; padding: 10px 16px;
           background: #24292f; color: #fff; }
  header h1 { font-size: 18px; margin: 0; }
  #live { display: inline-block; width: 80px; height: 24px; border-radius: 4px;
          background: #8c959f; color: #fff; text-align: center; line-height: 24px; }
  #live.ok { background: #2ea043; }
  #live.down { background: #d1242f; }
  main { padding: 12px 16px; display: grid; gap: 12px;
         grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); }
  section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 12px; }
  section.wide { grid-column: 1 / -1; }
  section.two { grid-column: span 2; }
  h2 { font-size: 13px; text-transform: uppercase; color: #57606a; margin: 0 0 6px; }
  .big { font-size: 26px; font-weight: 600; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: right; padding: 2px 6px; border-bottom: 1px solid #eaeef2; }
  td:first-child, th:first-child { text-align: left; }
  .meta { color: #d0d7de; font-size: 12px; }
  #chart { width: 100%; height: 160px; background: #fff; }
</style>
</head>
<body>
<header>
  <h1>ferry</h1><span id="live">waiting</span>
  <span class="meta">version <span id="version">?</span> · config <span id="config">?</span>
    · up <span id="uptime">?</span></span>
</header>
<main>
  <section><h2>Requests</h2>
    <div class="big"><span id="rate">0</span>/s</div>
    <div><span id="requests-total">0</span> in all</div></section>
  <section><h2>Hit ratio</h2>
    <div class="big" id="hit-ratio">–</div>
    <table id="cache-status"></table></section>
  <section><h2>Connections</h2>
    <div class="big" id="clients">0</div><div>clients open</div>
    <div><span id="tunnels">0</span> tunnels · origins <span id="origins-open">0</span> open,
      <span id="origins-idle">0</span> idle</div></section>
  <section><h2>Cache memory</h2>
    <div class="big" id="cache-used">0</div>
    <div>of <span id="cache-budget">0</span> · <span id="cache-entries">0</span> entries</div>
  </section>
  <section class="wide"><h2>Requests per second, last minutes</h2>
    <svg id="chart" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></section>
  <section class="two"><h2>Latency (ms, bucket bounds)</h2><table id="latency"></table></section>
  <section><h2>Top hosts</h2><table id="hosts"></table></section>
  <section class="wide"><h2>Origin pools</h2><table id="origins"></table></section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}
function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
}
function rows(table, head, list) {
  table.replaceChildren();
  const tr = table.insertRow();
  for (const h of head) { const th = document.createElement("th"); th.textContent = h; tr.append(th); }
  for (const cells of list) {
    const row = table.insertRow();
    for (const c of cells) row.insertCell().textContent = c;
  }
}
function ms(v) { return v === null ? "> 60000" : String(v); }
function chart(history) {
  const svg = $("chart"), s = history.samples, ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const rates = [];
  for (let i = 1; i < s.length; i++) {
    const dt = (s[i][0] - s[i - 1][0]) / 1000;
    rates.push(dt > 0 ? (s[i][1] - s[i - 1][1]) / dt : 0);
  }
  const slots = 600000 / Math.max(history.interval_ms, 1);
  const w = 600 / slots, max = Math.max(1, ...rates);
  rates.forEach((r, i) => {
    if (r <= 0) return;
    const h = Math.max(2, (r / max) * 150);
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", 600 - (rates.length - i) * w);
    bar.setAttribute("y", 160 - h);
    bar.setAttribute("width", Math.max(w - 0.5, 1));
    bar.setAttribute("height", h);
    bar.setAttribute("fill", "#1f6feb");
    svg.append(bar);
  });
  return rates.length ? rates[rates.length - 1] : 0;
}
function show(st) {
  $("version").textContent = st.version;
  $("config").textContent = st.config_file;
  $("uptime").textContent = duration(st.uptime_s);
  $("requests-total").textContent = st.requests.total;
  $("rate").textContent = chart(st.history).toFixed(1);
  const cs = st.cache_status, looked = cs.hit + cs.revalidated + cs.miss;
  $("hit-ratio").textContent = looked ? (100 * cs.hit / looked).toFixed(1) + " %" : "–";
  rows($("cache-status"), ["Cache-Status", "exchanges"], Object.entries(cs));
  $("clients").textContent = st.connections.clients;
  $("tunnels").textContent = st.connections.tunnels;
  $("origins-open").textContent = st.connections.origins_open;
  $("origins-idle").textContent = st.connections.origins_idle;
  $("cache-used").textContent = bytes(st.cache.memory_used);
  $("cache-budget").textContent = bytes(st.cache.memory_budget);
  $("cache-entries").textContent = st.cache.entries;
  rows($("latency"), ["", "count", "p50", "p90", "p99"], Object.entries(st.latency).map(
      ([name, l]) => [name.replace(/_seconds$/, ""), l.count, ms(l.p50_ms), ms(l.p90_ms),
                      ms(l.p99_ms)]));
  rows($("hosts"), ["host", "requests"], st.top_hosts.map((h) => [h.host, h.requests]));
  rows($("origins"), ["origin", "idle", "busy", "opened", "reused"],
       st.origins.map((o) => [o.origin, o.idle, o.busy, o.opened, o.reused]));
}
async function poll() {
  try {
    const answer = await fetch("status.json", {cache: "no-store"});
    if (!answer.ok) throw new Error(answer.status);
    show(await answer.json());
    $("live").className = "ok";
    $("live").textContent = "live";
  } catch (e) {
    $("live").className = "down";
    $("live").textContent = "no answer";
  }
}
poll();
setInterval(poll, 1000);
</script>
</body>
</html>
)HTML";
  return Page;
}

} // namespace ferry::admin
