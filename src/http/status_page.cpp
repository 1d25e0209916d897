// The HTML of GET /: one self-contained page (inline style and script, no external
// fetch but /status.json and, for the players, /assets/hls.min.js). It polls
// /status.json every 2 s; for each live stream it shows a muted <video> playing the
// stream's URL through hls.js (or natively where the browser plays HLS itself).
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
  .tiles { display: flex; flex-wrap: wrap; gap: .8em; margin-bottom: 1.2em; }
  .tile { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 9em; }
  .tile b { display: block; font-size: 1.5em; }
  .tile span { color: #666; }
  .ok { color: #18794e; } .degraded { color: #b35c00; } .failing, .err { color: #c62828; }
  .streams { display: flex; flex-wrap: wrap; gap: 1em; }
  .stream { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6em; width: 420px; }
  .stream video { width: 100%; background: #000; aspect-ratio: 16 / 9; }
  .stream a { font-family: ui-monospace, monospace; font-size: .9em; }
  #msg { color: #c62828; min-height: 1.4em; }
</style>
</head>
<body>
<h1>hlscache <small id="who"></small></h1>
<div id="msg"></div>
<div class="tiles">
  <div class="tile"><b id="hit">–</b><span>hit ratio (last interval)</span></div>
  <div class="tile"><b id="rps">–</b><span>requests/s</span></div>
  <div class="tile"><b id="bw">–</b><span>Mbit/s out</span></div>
  <div class="tile"><b id="conns">–</b><span>connections</span></div>
  <div class="tile" id="up-tile"><b id="up">–</b><span>upstream</span></div>
</div>
<div class="streams" id="streams"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const players = new Map();  // stream name -> {video, hls}
let hlsLoading = null;

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

async function addPlayer(stream, playerSrc) {
  const box = document.createElement("div");
  box.className = "stream";
  box.dataset.stream = stream.name;
  const title = document.createElement("div");
  const a = document.createElement("a");
  a.href = stream.url;
  a.textContent = stream.url;
  title.append(document.createTextNode(stream.name + " "), a);
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.controls = true;
  const note = document.createElement("div");
  note.className = "note";
  box.append(title, video, note);
  $("streams").append(box);
  const entry = { video, hls: null };
  players.set(stream.name, entry);
  const haveHls = await loadHls(playerSrc);
  if (haveHls && window.Hls.isSupported()) {
    const hls = new window.Hls({ liveSyncDurationCount: 3 });
    hls.on(window.Hls.Events.ERROR, (_e, data) => {
      if (data.fatal) note.textContent = "player error: " + data.type + " " + data.details;
    });
    hls.loadSource(stream.url);
    hls.attachMedia(video);
    entry.hls = hls;
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = stream.url;
  } else {
    note.textContent = playerSrc ? "this browser cannot play HLS"
                                 : "player off: hls.js is not installed (tools/setup/fetch-assets.sh)";
    return;
  }
  video.play().catch(() => { note.textContent = "press play to start"; });
}

function show(s) {
  $("who").textContent = s.role + " · " + s.server + " " + s.version + " · up " + Math.round(s.uptime_s) + " s";
  $("hit").textContent = s.rate_window_s > 0 ? (100 * s.hit_ratio_recent).toFixed(1) + " %" : "–";
  $("rps").textContent = s.requests_per_s.toFixed(1);
  $("bw").textContent = (s.bytes_per_s * 8 / 1e6).toFixed(1);
  $("conns").textContent = s.connections;
  if (s.upstream) {
    $("up").textContent = s.upstream.state;
    $("up").className = s.upstream.state;
    $("up-tile").title = s.upstream.hosts.join(", ") + " — " + s.upstream.requests_per_s.toFixed(1) + " req/s, " +
                         s.upstream.errors_per_s.toFixed(1) + " errors/s";
  } else {
    $("up").textContent = "none (local)";
  }
  for (const st of s.streams) if (!players.has(st.name)) addPlayer(st, s.player);
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
