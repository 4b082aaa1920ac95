// Lumiere web page: upload, live progress over Server-Sent Events, playback, project list.
// Plain JS, no build step and no external resources (the page must work offline).
// Each project opens on its timeline page (timeline.js).
"use strict";

// Shared helpers (api, withKey, the pipeline table) are in lumiere.js, loaded first.

async function loadPipeline() {
  const table = await readPipeline();
  const list = $("stages");
  list.replaceChildren();
  for (const s of table.stages) {
    const li = document.createElement("li");
    li.dataset.stage = s.name;
    li.textContent = s.label;
    list.append(li);
  }
}

let current = null;    // the project shown in the project card
let source = null;     // its EventSource

// ------------------------------------------------------------------ create
function uploadForm(form) {
  // XMLHttpRequest (not fetch) because it reports upload progress for big songs.
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", API + "/projects");
    for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
    const bar = $("upload-bar");
    bar.hidden = false;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) bar.firstElementChild.style.width = `${(100 * e.loaded) / e.total}%`;
    };
    xhr.onload = () => {
      bar.hidden = true;
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status === 201) resolve(body);
      else reject(new Error(errorDetail(body, `upload failed (${xhr.status})`)));
    };
    xhr.onerror = () => { bar.hidden = true; reject(new Error("network error while uploading")); };
    xhr.send(form);
  });
}

async function onSubmit(event) {
  event.preventDefault();
  const errorEl = $("form-error");
  showError(errorEl, null);
  localStorage.setItem("lumiere.apiKey", $("api-key").value.trim());
  const form = new FormData();
  form.append("audio", $("audio").files[0]);
  form.append("prompt", $("prompt").value);
  for (const f of $("images").files) form.append("character_images", f);
  if ($("lyrics").files[0]) form.append("lyrics", $("lyrics").files[0]);
  for (const name of ["size", "fps", "quality", "seed", "key_moments", "style", "shot_backend", "keyframe_backend"]) {
    const v = $(name).value.trim();
    if (v) form.append(name, v);
  }
  $("submit").disabled = true;
  try {
    const project = await uploadForm(form);
    const started = await api(`/projects/${project.id}/process`, { method: "POST" });
    showProject(started);
    loadProjects();
  } catch (err) {
    showError(errorEl, err);
  } finally {
    $("submit").disabled = false;
  }
}

// ------------------------------------------------------------------ project card
function renderProject(p) {
  current = p;
  $("project-card").hidden = false;
  $("project-title").textContent = "Project " + p.id.slice(0, 8);
  $("project-prompt").textContent = p.prompt;
  setPill($("project-status"), p.status);
  $("timeline-link").href = `/projects/${p.id}`;
  renderProgress(p.status, p.progress);
  // An error shows once a run ended without finishing (the stage that failed, or why it stopped).
  const ended = isTerminal(p.status) && p.status !== finalState();
  showError($("project-error"), ended && (p.failed_stage || p.error)
    ? `${p.failed_stage || "a stage"} failed: ${p.error || "unknown error"}` : null);

  const facts = $("concept-facts");
  facts.replaceChildren();
  if (p.concept) {
    const c = p.concept;
    const items = [
      `${c.tempo_bpm.toFixed(1)} BPM`, `${c.duration_seconds.toFixed(1)} s`,
      c.key ? `${c.key} ${c.mode}` : null, plural(c.key_moments.length, "key moment"),
      plural(c.sections.length, "section"), ...(c.mood || []).slice(0, 3),
    ].filter(Boolean);
    for (const text of items) {
      const span = document.createElement("span");
      span.textContent = text;
      facts.append(span);
    }
  }
  facts.hidden = !p.concept;

  const frames = $("keyframes");
  if (frames.dataset.for !== p.id || frames.children.length !== p.keyframes.length) {
    frames.replaceChildren();
    frames.dataset.for = p.id;
    for (const k of p.keyframes) {
      const fig = document.createElement("figure");
      const img = document.createElement("img");
      img.src = withKey(k.url);
      img.alt = k.prompt || k.key_moment_id;
      img.title = k.prompt || "";
      const cap = document.createElement("figcaption");
      cap.textContent = `${k.time.toFixed(1)} s`;
      fig.append(img, cap);
      frames.append(fig);
    }
  }

  renderShotRecords(p);
  renderStoryboard(p);

  const player = $("player");
  const download = $("download");
  const playable = p.video_url || p.preview_url;  // the final video, else the quick preview
  if (playable) {
    const src = withKey(playable);
    if (player.dataset.src !== src) { player.src = src; player.dataset.src = src; }
    download.href = src;
    download.textContent = p.video_url ? "Download MP4" : "Download preview";
  } else {
    player.removeAttribute("src");
    delete player.dataset.src;
  }
  player.hidden = !playable;
  download.hidden = !playable;
  $("preview").hidden = isActive(p.status) || Boolean(p.video_url) || Boolean(p.preview_url);
  $("cancel").hidden = !isActive(p.status);
  // Startable when new, retryable when it ended without finishing.
  const startable = p.status === initialState() || (isTerminal(p.status) && p.status !== finalState());
  $("process").hidden = !startable;
  $("process").textContent = p.status === initialState() ? "Start" : "Retry";
  for (const row of document.querySelectorAll("#projects tbody tr")) {
    row.classList.toggle("selected", row.dataset.id === p.id);
  }
}

// Which backend made each generated shot (procedural shots say nothing new).
function renderShotRecords(p) {
  const box = $("shot-records");
  box.replaceChildren();
  const made = p.segments.filter((s) => s.shot && s.shot.status !== "procedural");
  for (const s of made) {
    const span = document.createElement("span");
    const r = s.shot;
    span.textContent = `${r.shot_id || "segment " + s.index}: ${r.backend} · ${r.status}` +
      (r.seconds ? ` · ${r.seconds.toFixed(1)} s` : "");
    span.title = r.detail || "";
    box.append(span);
  }
  box.hidden = made.length === 0;
}

// The storyboard: fetched when the project has one and its keyframes or shot count changed.
// Names (framing, move) are the API's own, shown as they come.
async function renderStoryboard(p) {
  const box = $("storyboard");
  if (!p.shot_count) { box.hidden = true; delete box.dataset.version; return; }
  const version = `${p.id}:${p.shot_count}:${p.keyframes.length}:${p.updated_at}`;
  if (box.dataset.version === version) return;
  box.dataset.version = version;
  let board;
  try {
    board = await api(p.links.storyboard.slice(API.length));
  } catch (err) {
    box.hidden = true;
    return;
  }
  if (box.dataset.version !== version) return;  // a newer render started meanwhile
  $("storyboard-summary").textContent =
    `Storyboard: ${plural(board.shots.length, "shot")} (${board.source})`;
  const strip = $("storyboard-strip");
  strip.hidden = !board.strip_url;
  if (board.strip_url) strip.src = withKey(board.strip_url);
  const rows = board.shots.map((s) => {
    const tr = document.createElement("tr");
    const cells = [
      String(s.index + 1),
      `${s.start_time.toFixed(2)}–${s.end_time.toFixed(2)} s`,
      s.framing.replace(/_/g, " "),
      s.move.replace(/_/g, " "),
      s.prompt,
    ];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === 1) td.className = "time";
      tr.append(td);
    });
    return tr;
  });
  $("shots").tBodies[0].replaceChildren(...rows);
  box.hidden = false;
}

function renderProgress(status, progress) {
  const { done, fraction, completed } = runFraction(status, progress);
  // The running stage is the first one not finished (progress may still name the last one).
  document.querySelectorAll("#stages li").forEach((li, i) => {
    li.classList.toggle("done", i < done);
    li.classList.toggle("current", isActive(status) && i === done);
  });
  $("progress-fill").style.width = `${Math.round(fraction * 100)}%`;
  const msg = progress && progress.message ? `${progress.stage}: ${progress.message}` : "";
  $("progress-message").textContent = completed ? "Done." : msg;
}

function showProject(p) {
  renderProject(p);
  if (source) { source.close(); source = null; }
  if (isTerminal(p.status) || p.status === initialState()) return;
  source = new EventSource(withKey(`${API}/projects/${p.id}/events`));
  source.addEventListener("project", (e) => renderProject(JSON.parse(e.data)));
  const onUpdate = (e) => {
    const ev = JSON.parse(e.data);
    if (!current || ev.project_id !== current.id) return;
    setPill($("project-status"), ev.status);
    renderProgress(ev.status, ev.progress);
    if (e.type === "state" && !isTerminal(ev.status)) { refreshCurrent(); loadProjects(); }
  };
  source.addEventListener("state", onUpdate);
  source.addEventListener("progress", onUpdate);
  source.addEventListener("end", () => { source.close(); source = null; loadProjects(); });
  source.addEventListener("error", (e) => {
    // A server-sent error (e.g. the project was deleted) ends the stream; a dropped
    // connection has no data and EventSource reconnects by itself.
    if (e.data) {
      showError($("project-error"), JSON.parse(e.data).detail);
      source.close();
      source = null;
    }
  });
}

async function refreshCurrent() {
  if (!current) return;
  try { renderProject(await api(`/projects/${current.id}`)); } catch (_) { /* next event retries */ }
}

// ------------------------------------------------------------------ projects list
async function loadProjects() {
  const tbody = document.querySelector("#projects tbody");
  let body;
  try {
    body = await api("/projects?limit=50");
  } catch (err) {
    $("no-projects").hidden = false;
    $("no-projects").textContent = String(err.message || err);
    return;
  }
  tbody.replaceChildren();
  for (const p of body.projects) {
    const tr = document.createElement("tr");
    tr.dataset.id = p.id;
    const prompt = document.createElement("td");
    prompt.className = "prompt-cell";
    prompt.textContent = p.prompt;
    const status = document.createElement("td");
    const pill = document.createElement("span");
    setPill(pill, p.status);
    status.append(pill);
    const created = document.createElement("td");
    created.textContent = p.created_at ? new Date(p.created_at).toLocaleString() : "";
    const open = document.createElement("td");
    open.className = "row-actions";
    const btn = document.createElement("button");
    btn.className = "link";
    btn.textContent = p.video_url ? "watch" : "open";
    btn.addEventListener("click", async () => showProject(await api(`/projects/${p.id}`)));
    const timeline = document.createElement("a");
    timeline.className = "link";
    timeline.href = `/projects/${p.id}`;
    timeline.textContent = "timeline";
    const del = document.createElement("button");
    del.className = "link danger";
    del.textContent = "delete";
    del.disabled = isActive(p.status);
    del.title = del.disabled ? "cancel it first" : "delete the project and its files";
    del.addEventListener("click", () => deleteProject(p));
    open.append(btn, timeline, del);
    tr.append(prompt, status, created, open);
    if (current && current.id === p.id) tr.classList.add("selected");
    tbody.append(tr);
  }
  $("no-projects").hidden = body.projects.length > 0;
  $("no-projects").textContent = "No projects yet.";
}

async function deleteProject(p) {
  if (!confirm(`Delete "${p.prompt.slice(0, 60)}" and all its files?`)) return;
  try {
    await api(`/projects/${p.id}`, { method: "DELETE" });
    if (current && current.id === p.id) {
      if (source) { source.close(); source = null; }
      current = null;
      $("project-card").hidden = true;
    }
  } catch (err) {
    alert(String(err.message || err));
  }
  loadProjects();
}

async function loadHealth() {
  const el = $("health");
  try {
    const resp = await fetch("/health");
    const body = await resp.json();
    el.textContent = body.status === "ok" ? "all services up" : body.status;
    el.className = "health " + body.status;
  } catch (_) {
    el.textContent = "gateway unreachable";
    el.className = "health unavailable";
  }
}

// ------------------------------------------------------------------ wiring
async function start() {
  $("api-key").value = apiKey();
  loadHealth();
  setInterval(loadHealth, 15000);
  try {
    await loadPipeline();
  } catch (err) {
    showError($("form-error"), err);
    return;
  }
  $("create-form").addEventListener("submit", onSubmit);
  $("refresh").addEventListener("click", loadProjects);
  $("cancel").addEventListener("click", async () => {
    try { renderProject(await api(`/projects/${current.id}/cancel`, { method: "POST" })); }
    catch (err) { showError($("project-error"), err); }
  });
  $("process").addEventListener("click", async () => {
    try { showProject(await api(`/projects/${current.id}/process`, { method: "POST" })); }
    catch (err) { showError($("project-error"), err); }
  });
  $("preview").addEventListener("click", async () => {
    try { showProject(await api(`/projects/${current.id}/preview`, { method: "POST" })); }
    catch (err) { showError($("project-error"), err); }
  });
  loadProjects();
}
start();
