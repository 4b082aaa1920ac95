// Shared by the pages: the API client (key, errors) and the server's pipeline table.
// Plain JS, no build step and no external resources (the pages must work offline).
"use strict";

const API = "/api/v1";
const $ = (id) => document.getElementById(id);
// The pipeline (stages in order, their labels, the state each reaches, the state sets) is the
// server's table, read from /api/v1/pipeline at start-up: the pages restate none of it.
const PIPELINE = { stages: [], states: [], active: new Set(), terminal: new Set(), doneBy: {} };

async function readPipeline() {
  const table = await api("/pipeline");
  PIPELINE.stages = table.stages;
  PIPELINE.states = table.states;
  PIPELINE.active = new Set(table.active_states);
  PIPELINE.terminal = new Set(table.terminal_states);
  // How many stages are finished once a project reaches a state.
  PIPELINE.doneBy = Object.fromEntries(table.stages.map((s, i) => [s.reaches, i + 1]));
  return table;
}
const isActive = (status) => PIPELINE.active.has(status);
const isTerminal = (status) => PIPELINE.terminal.has(status);
// The first state of a run (a new project) and the state the last stage reaches.
const initialState = () => PIPELINE.states[0];
const finalState = () => PIPELINE.stages[PIPELINE.stages.length - 1].reaches;

// How far a run is: stages finished, and the whole run's fraction (where the running stage's
// span starts, or further if the orchestrator's own whole-run fraction says so, capped at that
// span's end).
function runFraction(status, progress) {
  const stages = PIPELINE.stages;
  const completed = status === finalState();
  const done = completed ? stages.length : (PIPELINE.doneBy[status] ?? 0);
  let fraction = completed ? 1 : (done > 0 ? stages[done - 1].span[1] : 0);
  if (isActive(status) && done < stages.length && progress) {
    const [, end] = stages[done].span;
    fraction = Math.max(fraction, Math.min(progress.fraction || 0, end));
  }
  return { done, fraction, completed };
}

function apiKey() { return localStorage.getItem("lumiere.apiKey") || ""; }
function withKey(url) {
  const key = apiKey();
  if (!key) return url;
  return url + (url.includes("?") ? "&" : "?") + "api_key=" + encodeURIComponent(key);
}
function headers() { return apiKey() ? { "X-API-Key": apiKey() } : {}; }

function errorDetail(body, fallback) {
  let detail = body && body.detail;
  if (Array.isArray(detail)) detail = detail.map((d) => d.msg).join("; ");
  return detail || fallback;
}

async function api(path, options = {}) {
  const resp = await fetch(API + path, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
  let body = null;
  const type = resp.headers.get("content-type") || "";
  if (type.includes("json")) body = await resp.json();
  if (!resp.ok) throw new Error(errorDetail(body, `${resp.status} ${resp.statusText}`));
  return body;
}

function plural(n, word) { return `${n} ${word}${n === 1 ? "" : "s"}`; }

function showError(el, err) {
  el.textContent = err ? String(err.message || err) : "";
  el.hidden = !err;
}

// A status as a pill: its text and class (active states share one look).
function setPill(pill, status) {
  pill.textContent = status.replace(/_/g, " ");
  pill.className = "pill " + (isActive(status) ? "active" : status);
}
