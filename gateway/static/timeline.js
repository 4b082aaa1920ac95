// Lumiere timeline page: one project on the song's time axis — sections, waveform with beats
// and downbeats, the shots as keyframe thumbnails (live state while rendering), lyric lines and
// the player, whose playhead moves across all of them; click or arrow keys seek; a shot opens
// to edit its prompt or seed and regenerate it. Names of stages, states, shot states, framings
// and moves all come from the API (/pipeline, .../timeline).
"use strict";

const PROJECT_ID = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
// Each shot gets at least this many pixels of strip; more shots than fit scroll sideways.
const MIN_SHOT_PX = 56;
const TIMELINE_REFRESH_MS = 1000;

const view = {
  tl: null,          // GET .../timeline
  wave: null,        // GET .../waveform
  duration: 0,
  selected: null,    // index of the shot in the panel
  source: null,      // EventSource while a run is live
  eta: null,         // { t0, f0 } of the run being watched
  refreshing: null,  // pending timeline refresh
  videoSrc: "",
};

const pct = (t) => `${(100 * t) / (view.duration || 1)}%`;
const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

// ------------------------------------------------------------------ header: status, progress, ETA
function renderStatus(status, progress) {
  setPill($("tl-status"), status);
  const { fraction, completed } = runFraction(status, progress);
  $("tl-progress-fill").style.width = `${Math.round(fraction * 100)}%`;
  $("tl-progress").setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
  $("tl-message").textContent = completed ? "Done."
    : progress && progress.message ? `${progress.stage}: ${progress.message}` : "";
  // ETA from this page's own view of the run: the rate since it started watching.
  const now = performance.now() / 1000;
  let eta = "";
  if (isActive(status)) {
    if (!view.eta) view.eta = { t0: now, f0: fraction };
    const gained = fraction - view.eta.f0;
    const elapsed = now - view.eta.t0;
    if (gained > 0.01 && elapsed > 1) eta = `ETA ${clock((elapsed * (1 - fraction)) / gained)}`;
    else eta = "ETA …";
  } else {
    view.eta = null;
  }
  $("tl-eta").textContent = eta;
  const tl = view.tl;
  const hasVideo = Boolean(tl && tl.video_url);
  const hasPreview = Boolean(tl && tl.preview_url);
  $("tl-cancel").hidden = !isActive(status);
  const startable = status === initialState() || (isTerminal(status) && status !== finalState());
  $("tl-process").hidden = !(startable || (status === finalState() && !hasVideo));
  $("tl-process").textContent = status === initialState() || !hasVideo ? "Render video" : "Retry";
  $("tl-preview").hidden = isActive(status) || hasVideo || hasPreview;
  $("tl-regenerate").disabled = isActive(status) || !hasVideo;
  $("tl-regenerate").title = hasVideo ? "" : "render the video first";
}

// ------------------------------------------------------------------ the lanes
function layout() {
  const scroll = $("tl-scroll");
  const shots = view.tl ? view.tl.shots.length : 0;
  const width = Math.max(scroll.clientWidth, shots * MIN_SHOT_PX);
  $("tl-inner").style.width = `${width}px`;
  drawWave();
}

function renderSections() {
  const lane = $("tl-sections");
  lane.replaceChildren();
  for (const s of (view.tl && view.tl.sections) || []) {
    const div = document.createElement("div");
    div.className = "tl-section";
    div.dataset.role = s.role;
    div.style.left = pct(s.start);
    div.style.width = pct(s.end - s.start);
    div.textContent = s.role.replace(/_/g, " ");
    div.title = `${s.label || s.role}: ${s.start.toFixed(1)}–${s.end.toFixed(1)} s, energy ${s.energy.toFixed(2)}`;
    lane.append(div);
  }
}

function drawWave() {
  const canvas = $("tl-wave-canvas");
  const box = $("tl-wave");
  const dpr = window.devicePixelRatio || 1;
  const w = box.clientWidth;
  const h = box.clientHeight;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  const css = getComputedStyle(document.documentElement);
  const duration = view.duration || 1;
  const x = (t) => (t / duration) * w;
  const tl = view.tl;
  if (tl) {
    g.fillStyle = css.getPropertyValue("--beat").trim() || "#444";
    for (const t of tl.beats) g.fillRect(Math.round(x(t)), 0, 1, h);
    g.fillStyle = css.getPropertyValue("--downbeat").trim() || "#888";
    for (const t of tl.downbeats) g.fillRect(Math.round(x(t)) - 1, 0, 2, h);
  }
  const peaks = view.wave ? view.wave.peaks : [];
  if (peaks.length) {
    g.fillStyle = css.getPropertyValue("--wave").trim() || "#f5a524";
    const span = (view.wave.duration || duration) / duration;  // the waveform's share of the axis
    const step = (w * span) / peaks.length;
    const mid = h / 2;
    peaks.forEach((p, i) => {
      const half = Math.max(0.5, p * (mid - 2));
      g.fillRect(i * step, mid - half, Math.max(1, step - 0.5), 2 * half);
    });
  }
}

function shotLabel(s) {
  const state = s.state;
  return `shot ${s.index + 1}, ${s.start_time.toFixed(1)} to ${s.end_time.toFixed(1)} seconds, ${state}`;
}

function stateClass(state) {
  const k = view.tl.shot_states.indexOf(state);
  return `s-${k < 0 ? "x" : k}`;
}

function thumbUrl(s) {
  if (!s.keyframe_url) return "";
  return withKey(s.keyframe_url + (s.keyframe_version ? `?v=${s.keyframe_version}` : ""));
}

function renderShots() {
  const lane = $("tl-shots");
  const shots = view.tl ? view.tl.shots : [];
  // Keep the buttons (and the focus) when only states or images changed.
  if (lane.children.length !== shots.length) {
    lane.replaceChildren();
    for (let i = 0; i < shots.length; i++) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "tl-shot-thumb";
      btn.setAttribute("role", "listitem");
      btn.dataset.index = String(i);
      const img = document.createElement("img");
      img.alt = "";
      const num = document.createElement("span");
      num.className = "tl-shot-num";
      btn.append(img, num);
      btn.addEventListener("click", () => { openShot(i); seek(view.tl.shots[i].start_time); });
      btn.addEventListener("keydown", (e) => {
        if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
          e.preventDefault();
          const next = lane.children[i + (e.key === "ArrowRight" ? 1 : -1)];
          if (next) next.focus();
        }
      });
      lane.append(btn);
    }
  }
  shots.forEach((s, i) => {
    const btn = lane.children[i];
    btn.style.left = pct(s.start_time);
    btn.style.width = pct(s.end_time - s.start_time);
    btn.className = `tl-shot-thumb ${stateClass(s.state)}${view.selected === i ? " selected" : ""}`;
    btn.dataset.state = s.state;
    btn.setAttribute("aria-label", shotLabel(s));
    btn.title = `${shotLabel(s)}\n${s.prompt}`;
    const img = btn.querySelector("img");
    const src = thumbUrl(s);
    if (src && img.dataset.src !== src) { img.src = src; img.dataset.src = src; }
    img.hidden = !src;
    btn.querySelector(".tl-shot-num").textContent = String(s.index + 1);
  });
}

function renderLyrics() {
  const lane = $("tl-lyrics");
  lane.replaceChildren();
  const lines = (view.tl && view.tl.lyrics) || [];
  lane.hidden = lines.length === 0;
  for (const line of lines) {
    const div = document.createElement("div");
    div.className = "tl-lyric";
    div.style.left = pct(line.start);
    div.style.width = pct(Math.max(line.end - line.start, 0.5));
    div.textContent = line.text;
    div.title = `${line.start.toFixed(1)} s: ${line.text}`;
    lane.append(div);
  }
}

function renderLegend() {
  const legend = $("tl-legend");
  legend.replaceChildren();
  for (const state of (view.tl && view.tl.shot_states) || []) {
    const item = document.createElement("span");
    item.className = `tl-key ${stateClass(state)}`;
    item.textContent = state;
    legend.append(item);
  }
}

function renderFacts() {
  const tl = view.tl;
  const facts = [];
  if (tl.tempo_bpm) facts.push(`${tl.tempo_bpm.toFixed(1)} BPM`);
  if (view.duration) facts.push(`${view.duration.toFixed(1)} s`);
  if (tl.shots.length) facts.push(plural(tl.shots.length, "shot"));
  if (tl.sections.length) facts.push(plural(tl.sections.length, "section"));
  if (tl.lyrics.length) facts.push(plural(tl.lyrics.length, "lyric line"));
  $("tl-facts").textContent = facts.join(" · ");
}

// ------------------------------------------------------------------ the player and the playhead
function renderPlayer() {
  const tl = view.tl;
  const player = $("tl-player");
  // The final video, else the preview (the animatic) on the same timeline.
  const url = tl.video_url || tl.preview_url;
  const version = tl.updated_at ? `?v=${encodeURIComponent(tl.updated_at)}` : "";
  const src = url ? withKey(url + version) : "";
  if (src && src !== view.videoSrc) {
    const at = player.currentTime || 0;
    player.src = src;
    player.addEventListener("loadedmetadata", () => { player.currentTime = at; }, { once: true });
  }
  view.videoSrc = src;
  player.hidden = !src;
  $("tl-no-video").hidden = Boolean(src);
  $("tl-playing").textContent = tl.video_url ? "Playing the video."
    : tl.preview_url ? "Playing the preview (animatic): render the video for the full quality." : "";
  const download = $("tl-download");
  download.hidden = !src;
  if (src) {
    download.href = withKey(url);
    download.textContent = tl.video_url ? "Download MP4" : "Download preview";
  }
}

function movePlayhead() {
  const t = $("tl-player").currentTime || 0;
  const head = $("tl-playhead");
  head.style.left = pct(t);
  const wave = $("tl-wave");
  wave.setAttribute("aria-valuenow", t.toFixed(1));
  wave.setAttribute("aria-valuetext", `${clock(t)} of ${clock(view.duration)}`);
  // The shot under the playhead is marked; the strip scrolls to keep the playhead in view.
  const shots = view.tl ? view.tl.shots : [];
  const lane = $("tl-shots");
  shots.forEach((s, i) => {
    const on = t >= s.start_time && t < s.end_time;
    if (lane.children[i]) lane.children[i].classList.toggle("playing", on);
  });
  const scroll = $("tl-scroll");
  const x = head.offsetLeft;
  if (!$("tl-player").paused && (x < scroll.scrollLeft || x > scroll.scrollLeft + scroll.clientWidth - 20)) {
    scroll.scrollLeft = Math.max(0, x - scroll.clientWidth / 3);
  }
}

function tick() {
  movePlayhead();
  if (!$("tl-player").paused) requestAnimationFrame(tick);
}

function seek(t) {
  const player = $("tl-player");
  const clamped = Math.max(0, Math.min(t, view.duration || t));
  if (player.src) player.currentTime = clamped;
  movePlayhead();
}

function seekFromPointer(e) {
  if (e.target.closest(".tl-shot-thumb")) return;  // a shot opens instead (and seeks too)
  const rect = $("tl-inner").getBoundingClientRect();
  seek(((e.clientX - rect.left) / rect.width) * view.duration);
}

function onKey(e) {
  const player = $("tl-player");
  const beat = view.tl && view.tl.tempo_bpm ? 60 / view.tl.tempo_bpm : 1;
  const step = e.shiftKey ? 4 * beat : beat;
  if (e.key === "ArrowRight") seek(player.currentTime + step);
  else if (e.key === "ArrowLeft") seek(player.currentTime - step);
  else if (e.key === "Home") seek(0);
  else if (e.key === "End") seek(view.duration);
  else if (e.key === " " || e.key === "k") { if (player.paused) player.play(); else player.pause(); }
  else return;
  e.preventDefault();
}

// ------------------------------------------------------------------ one shot: inspect and edit
function openShot(i) {
  const s = view.tl.shots[i];
  if (!s) return;
  const changed = view.selected !== i;
  view.selected = i;
  $("tl-shot").hidden = false;
  $("tl-shot-title").textContent = `Shot ${s.index + 1}`;
  setShotState(s.state);
  const img = $("tl-shot-image");
  img.hidden = !s.keyframe_url;
  if (s.keyframe_url) { img.src = thumbUrl(s); img.alt = `keyframe of shot ${s.index + 1}`; }
  const facts = [
    ["time", `${s.start_time.toFixed(2)}–${s.end_time.toFixed(2)} s${bars(s)}`],
    ["section", s.section ? `${s.section.role.replace(/_/g, " ")} (${s.section.label})` : "–"],
    ["framing", s.framing.replace(/_/g, " ")],
    ["move", s.move.replace(/_/g, " ")],
    ["entry", s.entry.replace(/_/g, " ")],
    ["seed", String(s.seed)],
  ];
  const dl = $("tl-shot-facts");
  dl.replaceChildren();
  for (const [k, v] of facts) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
  if (changed) {
    $("tl-shot-prompt").value = s.prompt;
    $("tl-shot-seed").value = "";
    $("tl-shot-seed").placeholder = String(s.seed);
    showError($("tl-shot-error"), null);
  }
  renderShots();
}

// Bars are counted from 0 with an exclusive end (-1 without a bar grid); people count from 1.
function bars(s) {
  if (s.start_bar < 0) return "";
  if (s.end_bar - s.start_bar <= 1) return ` (bar ${s.start_bar + 1})`;
  return ` (bars ${s.start_bar + 1}–${s.end_bar})`;
}

function setShotState(state) {
  const pill = $("tl-shot-state");
  pill.textContent = state;
  pill.className = `pill ${stateClass(state)}`;
}

async function regenerateShot(e) {
  e.preventDefault();
  const s = view.tl.shots[view.selected];
  const body = { shot: s.id, prompt: $("tl-shot-prompt").value.trim() };
  const seed = $("tl-shot-seed").value.trim();
  if (seed) body.seed = Number(seed);
  showError($("tl-shot-error"), null);
  $("tl-regenerate").disabled = true;
  try {
    const started = await api(`/projects/${PROJECT_ID}/regenerate`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    renderStatus(started.status, started.progress);
    watch(started.status);
    await refreshTimeline();
  } catch (err) {
    showError($("tl-shot-error"), err);
    $("tl-regenerate").disabled = false;
  }
}

// ------------------------------------------------------------------ data and live updates
async function refreshTimeline() {
  const tl = await api(`/projects/${PROJECT_ID}/timeline`);
  const first = !view.tl;
  view.tl = tl;
  view.duration = tl.duration || (view.wave && view.wave.duration) || 0;
  $("tl-prompt").textContent = tl.prompt;
  document.title = `Lumiere — ${tl.prompt.slice(0, 60)}`;
  renderStatus(tl.status, tl.progress);
  renderFacts();
  renderSections();
  renderLyrics();
  renderLegend();
  if (first || $("tl-inner").style.width === "") layout();
  renderShots();
  renderPlayer();
  drawWave();
  movePlayhead();
  if (view.selected !== null) openShot(view.selected);
  return tl;
}

function scheduleRefresh() {
  if (view.refreshing) return;
  view.refreshing = setTimeout(async () => {
    try { await refreshTimeline(); } catch (_) { /* the next event retries */ }
    view.refreshing = null;
  }, TIMELINE_REFRESH_MS);
}

function watch(status) {
  if (view.source) { view.source.close(); view.source = null; }
  if (isTerminal(status) || status === initialState()) return;
  const source = new EventSource(withKey(`${API}/projects/${PROJECT_ID}/events`));
  view.source = source;
  const onUpdate = (e) => {
    const ev = JSON.parse(e.data);
    renderStatus(ev.status, ev.progress);
    scheduleRefresh();
  };
  source.addEventListener("project", onUpdate);
  source.addEventListener("state", onUpdate);
  source.addEventListener("progress", onUpdate);
  source.addEventListener("end", async () => {
    source.close();
    if (view.source === source) view.source = null;
    await refreshTimeline();
  });
  source.addEventListener("error", (e) => {
    if (e.data) { showError($("tl-error"), JSON.parse(e.data).detail); source.close(); }
  });
}

async function startRun(path) {
  showError($("tl-error"), null);
  try {
    const started = await api(`/projects/${PROJECT_ID}/${path}`, { method: "POST" });
    renderStatus(started.status, started.progress);
    watch(started.status);
  } catch (err) {
    showError($("tl-error"), err);
  }
}

async function loadWave() {
  const points = Math.min(4000, Math.max(200, Math.round($("tl-inner").clientWidth)));
  try {
    view.wave = await api(`/projects/${PROJECT_ID}/waveform?points=${points}`);
    if (!view.duration) view.duration = view.wave.duration;
    drawWave();
  } catch (err) {
    showError($("tl-error"), err);
  }
}

async function start() {
  try {
    await readPipeline();
    const tl = await refreshTimeline();
    watch(tl.status);
  } catch (err) {
    showError($("tl-error"), err);
    return;
  }
  loadWave();
  const player = $("tl-player");
  player.addEventListener("play", () => requestAnimationFrame(tick));
  player.addEventListener("seeked", movePlayhead);
  player.addEventListener("pause", movePlayhead);
  player.addEventListener("timeupdate", movePlayhead);
  $("tl-inner").addEventListener("click", seekFromPointer);
  $("tl-wave").addEventListener("keydown", onKey);
  $("tl-shot-form").addEventListener("submit", regenerateShot);
  $("tl-shot-close").addEventListener("click", () => {
    const i = view.selected;
    view.selected = null;
    $("tl-shot").hidden = true;
    renderShots();
    if (i !== null && $("tl-shots").children[i]) $("tl-shots").children[i].focus();
  });
  $("tl-process").addEventListener("click", () => startRun("process"));
  $("tl-preview").addEventListener("click", () => startRun("preview"));
  $("tl-cancel").addEventListener("click", () => startRun("cancel"));
  let resize = null;
  window.addEventListener("resize", () => { clearTimeout(resize); resize = setTimeout(layout, 100); });
}
start();
