// The HTML of GET /: one self-contained page (inline style and script, no external
// fetch but /status.json and, for the players, /assets/hls.min.js). It polls
// /status.json every 2 s and shows: the hit ratio since start beside the last
// interval's, the rates, the upstream groups with each host's health badge (edge,
// origin), and per stream a state badge (live / paused / ended / waiting), when the
// last segment came, sparklines of its viewers, requests/s and origin requests/s
// over the last 5 minutes — kept by the page itself from its polls, a ring of at
// most 160 samples, drawn as inline SVG paths — and, once it has something to play,
// a muted <video> playing the stream's URL through hls.js (or natively where the
// browser plays HLS itself). A node-wide chart shows requests/s and origin requests/s.
#include "http/status_handler.hpp"

namespace hlscache {

const std::string& status_page_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hlscache status</title>
<link rel="icon" href="data:,">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 1.3em; margin: 0 0 .8em; }
  h1 small { color: #777; font-weight: normal; }
  h2 { font-size: 1.05em; margin: 1.2em 0 .5em; }
  .tiles { display: flex; flex-wrap: wrap; gap: .8em; margin-bottom: 1.2em; }
  .tile { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 9em; }
  .tile b { display: block; font-size: 1.5em; }
  .tile span { color: #666; }
  .pair { display: flex; gap: 1.4em; }
  .ok, .up { color: #18794e; } .degraded, .down { color: #b35c00; } .failing, .err, .ejected { color: #c62828; }
  .badge { display: inline-block; padding: 0 .5em; border-radius: 1em; font-size: .8em; font-weight: 600;
           text-transform: uppercase; letter-spacing: .04em; color: #fff; background: #888; vertical-align: middle; }
  .badge.live, .badge.up { background: #18794e; } .badge.paused, .badge.down { background: #b35c00; }
  .badge.ended { background: #555; } .badge.waiting { background: #999; } .badge.ejected { background: #c62828; }
  .panel { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6em; margin-bottom: 1em; }
  .groups { display: flex; flex-wrap: wrap; gap: 1em; }
  .group table { border-collapse: collapse; }
  .group td, .group th { padding: .15em .6em .15em 0; text-align: left; }
  .group th { color: #666; font-weight: normal; }
  .mono, .stream a { font-family: ui-monospace, monospace; font-size: .9em; }
  .streams { display: flex; flex-wrap: wrap; gap: 1em; }
  .stream { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6em; width: 420px; }
  .stream video { width: 100%; background: #000; aspect-ratio: 16 / 9; }
  .stream .info { color: #666; margin: .2em 0 .4em; }
  .chart { display: grid; grid-template-columns: 13.5em 1fr; align-items: center; gap: 2px .5em; margin: .3em 0; }
  .chart span { color: #666; font-size: .85em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .chart svg { width: 100%; height: 34px; background: #f4f6f8; border-radius: 3px; }
  .chart path { fill: none; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
  #node-panel { display: inline-block; width: min(640px, 100%); box-sizing: border-box; }
  #msg { color: #c62828; min-height: 1.4em; }
</style>
</head>
<body>
<h1>hlscache <small id="who"></small></h1>
<div id="msg"></div>
<div class="tiles">
  <div class="tile"><div class="pair">
    <div><b id="hit-start">–</b><span>hit ratio since start</span></div>
    <div><b id="hit-recent">–</b><span>hit ratio, last <span id="hit-window">–</span> s</span></div>
  </div></div>
  <div class="tile"><b id="rps">–</b><span>requests/s</span></div>
  <div class="tile"><b id="bw">–</b><span>Mbit/s out</span></div>
  <div class="tile"><b id="conns">–</b><span>connections</span></div>
  <div class="tile" id="up-tile"><b id="up">–</b><span>upstream</span></div>
</div>
<div class="panel" id="node-panel"><div class="chart" id="node-chart"></div></div>
<div id="upstream-section" hidden>
  <h2>Upstream hosts</h2>
  <div class="groups" id="upstream-groups"></div>
</div>
<div class="streams" id="streams"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const HISTORY_S = 300;      // the charts' span: up to 5 minutes (at least 30 s)...
const HISTORY_MAX = 160;    // ...of 2 s polls, bounded
const streamViews = new Map();  // stream name -> {box, badge, info, chart, video, hls, state, history}
const nodeHistory = [];
let hlsLoading = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
const pct = (r) => (r === null || r === undefined) ? "–" : (100 * r).toFixed(1) + " %";

// ---- charts: inline SVG sparklines over the last HISTORY_S seconds, drawn from a ring of samples

function push(history, sample) {
  history.push(sample);
  while (history.length > HISTORY_MAX || (history.length && sample.t - history[0].t > HISTORY_S * 1000)) history.shift();
}

// series: [{key, label, color, fmt}]; one row (label + sparkline) per series inside `box`.
function makeChart(box, series) {
  const rows = {};
  for (const s of series) {
    const label = el("span", "", s.label);
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 300 34");
    svg.setAttribute("preserveAspectRatio", "none");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("stroke", s.color);
    path.dataset.series = s.key;
    path.dataset.points = "0";
    svg.append(path);
    box.append(label, svg);
    rows[s.key] = { label, path, s };
  }
  return rows;
}

function drawChart(rows, history) {
  const now = history.length ? history[history.length - 1].t : 0;
  const span = Math.min(HISTORY_S, Math.max(30, history.length ? (now - history[0].t) / 1000 : 0));
  for (const key in rows) {
    const { label, path, s } = rows[key];
    const pts = history.filter((h) => typeof h[key] === "number");
    const max = Math.max(1, ...pts.map((h) => h[key]));
    let d = "";
    for (const h of pts) {
      const x = 300 - ((now - h.t) / 1000) * (300 / span);
      const y = 32 - (h[key] / max) * 30;
      d += (d ? " L" : "M") + x.toFixed(1) + "," + y.toFixed(1);
    }
    path.setAttribute("d", d);
    path.dataset.points = String(pts.length);
    const last = pts.length ? s.fmt(pts[pts.length - 1][key]) : "–";
    label.textContent = s.label + " " + last + " · max " + s.fmt(max);
  }
}

const num1 = (v) => (Math.round(v * 10) / 10).toString();
const nodeChart = makeChart($("node-chart"), [
  { key: "rps", label: "requests/s", color: "#1f6feb", fmt: num1 },
  { key: "orps", label: "origin requests/s", color: "#b35c00", fmt: num1 },
]);

// ---- players

function loadHls(src) {
  if (window.Hls) return Promise.resolve(true);
  if (!src) return Promise.resolve(false);
  if (!hlsLoading) {
    hlsLoading = new Promise((resolve) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = () => resolve(!!window.Hls);
      s.onerror = () => resolve(false);
      document.head.appendChild(s);
    });
  }
  return hlsLoading;
}

async function startPlayer(view, stream, playerSrc) {
  view.playerStarted = true;
  const video = el("video");
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.controls = true;
  view.box.insertBefore(video, view.note);
  view.video = video;
  const haveHls = await loadHls(playerSrc);
  if (haveHls && window.Hls.isSupported()) {
    const hls = new window.Hls({ liveSyncDurationCount: 3 });
    hls.on(window.Hls.Events.ERROR, (_e, data) => {
      if (data.fatal) view.note.textContent = "player error: " + data.type + " " + data.details;
    });
    hls.loadSource(stream.url);
    hls.attachMedia(video);
    view.hls = hls;
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = stream.url;
  } else {
    view.note.textContent = playerSrc ? "this browser cannot play HLS"
                                      : "player off: hls.js is not installed (tools/setup/fetch-assets.sh)";
    return;
  }
  video.play().catch(() => { view.note.textContent = "press play to start"; });
}

// A publisher came back after the stream ended or waited: the player had stopped at
// the ENDLIST (or never found a playlist); load the stream again.
function restartPlayer(view, stream) {
  view.note.textContent = "";
  if (view.hls) view.hls.loadSource(stream.url);
  else if (view.video && view.video.src) view.video.src = stream.url;
  if (view.video) view.video.play().catch(() => {});
}

function addStream(stream) {
  const box = el("div", "stream");
  box.dataset.stream = stream.name;
  const title = el("div");
  const badge = el("span", "badge");
  const a = el("a", "", stream.url);
  a.href = stream.url;
  title.append(document.createTextNode(stream.name + " "), badge, document.createTextNode(" "), a);
  const info = el("div", "info");
  const chart = el("div", "chart");
  const note = el("div", "note");
  box.append(title, info, chart, note);
  $("streams").append(box);
  const view = {
    box, badge, info, note, video: null, hls: null, state: null, playerStarted: false, history: [],
    chart: makeChart(chart, [
      { key: "viewers", label: "viewers", color: "#6f42c1", fmt: (v) => String(Math.round(v)) },
      { key: "rps", label: "requests/s", color: "#1f6feb", fmt: num1 },
      { key: "orps", label: "origin requests/s", color: "#b35c00", fmt: num1 },
    ]),
  };
  streamViews.set(stream.name, view);
  return view;
}

function showStream(st, playerSrc, t) {
  const view = streamViews.get(st.name) || addStream(st);
  const state = st.state || (st.renditions.some((r) => r.publishing) ? "live" : "waiting");
  view.badge.textContent = state;
  view.badge.className = "badge " + state;
  view.box.dataset.state = state;
  const age = st.last_segment_age_s;
  let info = (age === null || age === undefined) ? "no segment yet" : "last segment " + age.toFixed(1) + " s ago";
  info += " · " + st.viewers + " viewer" + (st.viewers === 1 ? "" : "s");
  if (st.renditions.length > 1)
    info += " · " + st.renditions.map((r) => r.name + " " + r.state).join(", ");
  view.info.textContent = info;
  if (state === "waiting" && !view.playerStarted) view.note.textContent = "waiting for a publisher";
  if (state !== "waiting" && !view.playerStarted) {
    view.note.textContent = "";
    startPlayer(view, st, playerSrc);
  } else if (state === "live" && (view.state === "ended" || view.state === "waiting") && view.playerStarted) {
    restartPlayer(view, st);
  }
  view.state = state;
  push(view.history, { t, viewers: st.viewers, rps: st.requests_per_s, orps: st.origin_requests_per_s });
  drawChart(view.chart, view.history);
}

// ---- upstream groups (edge, origin)

function showGroups(groups) {
  const box = $("upstream-groups");
  box.replaceChildren();
  for (const g of groups) {
    const panel = el("div", "panel group");
    panel.dataset.group = g.name;
    const head = el("div");
    head.append(el("b", "", g.name));
    if (g.dns) head.append(document.createTextNode(" · dns "), el("span", "mono", g.dns));
    head.append(document.createTextNode(g.routes.length ? " · routes " + g.routes.join(" ") : " · no route"));
    const table = el("table");
    const hr = el("tr");
    for (const h of ["host", "state", "requests", "errors"]) hr.append(el("th", "", h));
    table.append(hr);
    for (const h of g.hosts) {
      const tr = el("tr");
      tr.dataset.host = h.address;
      const badge = el("span", "badge " + h.state, h.state);
      const stateCell = el("td");
      stateCell.append(badge);
      if (h.state === "ejected") stateCell.append(document.createTextNode(" " + Math.ceil(h.ejected_for_s) + " s"));
      else if (h.state === "down") stateCell.append(document.createTextNode(" " + h.consecutive_failures + " failed"));
      tr.append(el("td", "mono", h.address), stateCell, el("td", "", String(h.requests_total)),
                el("td", "", String(h.errors_total)));
      table.append(tr);
    }
    if (!g.hosts.length) {
      const tr = el("tr");
      tr.append(el("td", "err", g.dns ? "no address (dns resolved to nothing)" : "no hosts"));
      table.append(tr);
    }
    panel.append(head, table);
    box.append(panel);
  }
}

function show(s) {
  const t = Date.now();
  $("who").textContent = s.role + " · " + s.server + " " + s.version + " · up " + Math.round(s.uptime_s) + " s";
  $("hit-start").textContent = pct(s.hit_ratio);
  $("hit-recent").textContent = s.rate_window_s > 0 ? pct(s.hit_ratio_recent) : "–";
  $("hit-window").textContent = s.rate_window_s > 0 ? Math.round(s.rate_window_s) : "–";
  $("rps").textContent = s.requests_per_s.toFixed(1);
  $("bw").textContent = (s.bytes_per_s * 8 / 1e6).toFixed(1);
  $("conns").textContent = s.connections;
  let origin = 0;
  if (s.upstream) {
    $("up").textContent = s.upstream.state;
    $("up").className = s.upstream.state;
    $("up-tile").title = s.upstream.hosts.join(", ") + " — " + s.upstream.requests_per_s.toFixed(1) + " req/s, " +
                         s.upstream.errors_per_s.toFixed(1) + " errors/s";
    origin = s.upstream.requests_per_s;
    $("upstream-section").hidden = !(s.upstream.groups && s.upstream.groups.length);
    showGroups(s.upstream.groups || []);
  } else {
    $("up").textContent = "none (local)";
    for (const st of s.streams) origin += st.origin_requests_per_s || 0;
  }
  push(nodeHistory, { t, rps: s.requests_per_s, orps: origin });
  drawChart(nodeChart, nodeHistory);
  for (const st of s.streams) showStream(st, s.player, t);
}

async function poll() {
  try {
    const r = await fetch("/status.json", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    show(await r.json());
    $("msg").textContent = "";
  } catch (e) {
    $("msg").textContent = "status unavailable: " + e.message;
  }
  setTimeout(poll, 2000);
}
poll();
</script>
</body>
</html>
)HTML";
  return page;
}

}  // namespace hlscache
