// nekohooks console: the plugins table and the plugin page, on top of the /v1 control API.
// Every string a plugin supplies reaches the page through textContent (the el() helper below);
// nothing here parses HTML, so markup in a name, description, result or log line shows as text.
// One file on purpose (about 650 lines): the pages load it as it is, with no bundler or modules.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const main = document.getElementById("main");
const liveBadge = document.getElementById("live");
const toast = document.getElementById("toast");
const FIELD_PREFIX = "f";
let fieldCounter = 0;

// ---- DOM and HTTP helpers ---------------------------------------------------------------------

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Replace a node's children, skipping null/false like el() does.
function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function say(message, bad) {
  toast.textContent = message;
  toast.className = bad ? "toast bad" : "toast";
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { toast.textContent = ""; }, 5000);
}

class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.type = err.type || `HTTP ${status}`;
  }
}

async function api(method, path, body, accept) {
  const headers = { Accept: accept || "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = CSRF;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    showSignedOut();
    throw new ApiError(401, { error: { type: "Unauthorized", message: "the console session ended" } });
  }
  if (!response.ok) {
    let parsed = null;
    try { parsed = await response.json(); } catch (_) { /* not JSON: the status says enough */ }
    throw new ApiError(response.status, parsed);
  }
  return response;
}

async function getJSON(path) { return (await api("GET", path)).json(); }

function showSignedOut() {
  if (window.eventSource) window.eventSource.close();
  liveBadge.textContent = "signed out";
  liveBadge.className = "live";
  fill(main, el("section", { class: "refusal", role: "alert" },
    el("h1", { text: "Signed out" }),
    el("p", { text: "This console session has ended. Run `neko console` on the host for a new login link." })));
}

// ---- formatting -------------------------------------------------------------------------------

const stateOf = (p) => p.status || p.state || "unknown";
const errorOf = (p) => p.error || p.last_error || "";

function seconds(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return "—";
  n = Math.max(0, Math.floor(n));
  if (n < 60) return `${n}s`;
  if (n < 3600) return `${Math.floor(n / 60)}m ${n % 60}s`;
  if (n < 86400) return `${Math.floor(n / 3600)}h ${Math.floor((n % 3600) / 60)}m`;
  return `${Math.floor(n / 86400)}d ${Math.floor((n % 86400) / 3600)}h`;
}

// Seconds the plugin has been up, from the record's `uptime` (seconds when fetched) or its
// `started_at` (Unix time); null when it is not running.
function uptimeOf(p, fetchedAt) {
  if (stateOf(p) !== "running") return null;
  if (typeof p.uptime === "number") return p.uptime + (Date.now() - fetchedAt) / 1000;
  if (typeof p.started_at === "number" && p.started_at > 1e9) return Date.now() / 1000 - p.started_at;
  return null;
}

function isolationOf(p) {
  const iso = typeof p.isolation === "string" ? p.isolation : "in process";
  return p.pid ? `${iso} (pid ${p.pid})` : iso;
}

function when(value) {
  if (value === undefined || value === null || value === "") return "—";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const delta = (date.getTime() - Date.now()) / 1000;
  const rel = delta >= 0 ? `in ${seconds(delta)}` : `${seconds(-delta)} ago`;
  return `${date.toLocaleTimeString()} (${rel})`;
}

function total(value) {
  if (typeof value === "number") return value;
  if (value && typeof value === "object") return Object.values(value).reduce((a, b) => a + (Number(b) || 0), 0);
  return null;
}

function show(value) { return value === null || value === undefined ? "—" : String(value); }

function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

// ---- plugin actions (enable / disable / restart / reload) ----------------------------------------

function actionButtons(p, onDone) {
  const name = p.name;
  const state = stateOf(p);
  const disabled = state === "disabled" || state === "stopped";
  const buttons = [];
  const make = (verb, label, cls) => el("button", {
    type: "button", class: cls, text: label, "aria-label": `${label} ${name}`,
    "data-action": verb,
    onclick: async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      try {
        const record = await (await api("POST", `/v1/plugins/${encodeURIComponent(name)}/${verb}`)).json();
        say(`${name}: ${verb} done (${stateOf(record)})`);
        if (onDone) onDone(record);
      } catch (err) {
        say(`${name}: ${verb} failed: ${err.type}: ${err.message}`, true);
      } finally {
        button.disabled = false;
      }
    },
  });
  buttons.push(disabled ? make("enable", "Enable", "secondary") : make("disable", "Disable", "danger"));
  if (!disabled) buttons.push(make("restart", "Restart", "secondary"));
  buttons.push(make("reload", "Reload", "secondary"));
  return el("div", { class: "actions" }, buttons);
}

// ---- the event stream -----------------------------------------------------------------------------

const EVENT_KINDS = ["state", "job", "restart", "fault", "loop-block", "message", "table", "log"];

function follow(onEvent) {
  const source = new EventSource("/v1/events");
  window.eventSource = source;
  source.onopen = () => { liveBadge.textContent = "live"; liveBadge.className = "live on"; };
  source.onerror = () => { liveBadge.textContent = "reconnecting…"; liveBadge.className = "live"; };
  const handle = (event) => {
    let data = {};
    try { data = JSON.parse(event.data); } catch (_) { return; }
    onEvent(data.kind || event.type, data);
  };
  source.onmessage = handle;
  for (const kind of EVENT_KINDS) source.addEventListener(kind, handle);
}

// Run `fn(key)` at most once per `ms` per key, for bursts of events about one plugin.
function debounced(fn, ms) {
  const pending = new Map();
  return (key) => {
    if (pending.has(key)) return;
    pending.set(key, setTimeout(() => { pending.delete(key); fn(key); }, ms));
  };
}

// ---- the plugins table ----------------------------------------------------------------------------

const COLUMNS = [
  ["Plugin", "nowrap"], ["State", ""], ["Distribution", "nowrap"], ["Isolation", "nowrap"],
  ["Uptime", "num nowrap"], ["Restarts", "num"], ["Last error", "err"], ["Calls", "num"],
  ["Failures", "num"], ["Actions", ""],
];

// What a row or a page header shows, minus what changes by itself (uptime, job times): rebuilding
// only when this changes keeps keyboard focus and half-pressed buttons where they are.
function sameness(record) {
  return JSON.stringify({ ...record, uptime: null, started_at: null, jobs: null });
}

function pluginRow(p, fetchedAt, refresh) {
  const state = stateOf(p);
  const up = el("span", { "data-uptime": "" });
  up.textContent = seconds(uptimeOf(p, fetchedAt));
  up.ticker = () => { up.textContent = seconds(uptimeOf(p, fetchedAt)); };
  const cells = [
    el("a", { href: `/plugins/${encodeURIComponent(p.name)}`, text: p.name }),
    el("span", { class: `state ${state}`, text: state, "data-state": state }),
    [p.distribution || "—", p.version ? ` ${p.version}` : ""].join(""),
    isolationOf(p),
    up,
    show(p.restarts),
    errorOf(p) ? `${p.phase ? p.phase + ": " : ""}${errorOf(p)}` : "",
    show(total(p.calls)),
    show(total(p.failures)),
    actionButtons(p, () => refresh(p.name)),
  ];
  return el("tr", { "data-plugin": p.name },
    cells.map((cell, i) => el("td", { class: COLUMNS[i][1] || undefined, "data-label": COLUMNS[i][0] }, cell)));
}

async function pluginsPage() {
  document.title = "Plugins · nekohooks console";
  const tbody = el("tbody");
  const table = el("table", { id: "plugins" },
    el("caption", { class: "sr-only", text: "Plugins" }),
    el("thead", {}, el("tr", {}, COLUMNS.map(([label]) => el("th", { scope: "col", text: label })))),
    tbody);
  const rescan = el("button", {
    type: "button", class: "secondary", text: "Rescan installed plugins",
    onclick: async () => {
      try {
        const changes = await (await api("POST", "/v1/rescan")).json();
        say(`rescan: ${changes.added.length} added, ${changes.removed.length} removed`);
        await loadAll();
      } catch (err) { say(`rescan failed: ${err.type}: ${err.message}`, true); }
    },
  });
  const toolbar = el("div", { class: "toolbar" }, rescan);
  fill(main, el("h1", { text: "Plugins" }), toolbar, table);
  addPackageForms(toolbar, loadAll);

  const rows = new Map();
  const records = new Map();
  let stats = {};
  // Build a plugin's row from its record and figures; keep keyboard focus on the same control.
  function place(name) {
    const record = records.get(name);
    if (!record) return;
    const merged = { ...record, ...(stats[name] || {}) };
    const key = sameness(merged);
    const old = rows.get(name);
    if (old && old.dataset.key === key) return;  // nothing shown changed (uptime ticks by itself)
    const row = pluginRow(merged, Date.now(), refreshOne);
    row.dataset.key = key;
    if (old) {
      const focused = old.contains(document.activeElement) ? document.activeElement : null;
      old.replaceWith(row);
      if (focused) {
        const again = focused.dataset.action
          ? row.querySelector("[data-action]") : row.querySelector("a");
        if (again) again.focus();
      }
    } else {
      tbody.append(row);
    }
    rows.set(name, row);
  }
  async function loadStats() {
    try { stats = await getJSON("/console/api/stats"); } catch (_) { /* figures stay as they were */ }
  }
  async function refreshOne(name) {
    try {
      const [record] = await Promise.all([getJSON(`/v1/plugins/${encodeURIComponent(name)}`), loadStats()]);
      records.set(name, record);
      place(name);
    } catch (err) {
      if (err.status === 404 && rows.has(name)) { rows.get(name).remove(); rows.delete(name); records.delete(name); }
    }
  }
  async function loadAll() {
    const [plugins] = await Promise.all([getJSON("/v1/plugins"), loadStats()]);
    const seen = new Set();
    for (const p of plugins) { seen.add(p.name); records.set(p.name, p); place(p.name); }
    for (const [name, row] of rows) if (!seen.has(name)) { row.remove(); rows.delete(name); records.delete(name); }
    if (!plugins.length) fill(tbody, el("tr", {}, el("td", { colspan: COLUMNS.length, class: "empty", text: "No plugins installed." })));
  }
  const later = debounced(refreshOne, 150);
  const laterAll = debounced(loadAll, 150);
  follow((kind, data) => { if (kind === "table" || !data.plugin) laterAll("*"); else later(data.plugin); });
  setInterval(() => tbody.querySelectorAll("[data-uptime]").forEach((n) => n.ticker && n.ticker()), 1000);
  // Calls are not events: re-read the figures now and then (only the numbers change).
  setInterval(async () => { await loadStats(); for (const name of records.keys()) place(name); }, 5000);
  await loadAll();
}

// Install / uninstall: only when the host says its config allows it.
async function addPackageForms(toolbar, reload) {
  let settings = {};
  try { settings = await getJSON("/console/api/settings"); } catch (_) { return; }
  if (!settings.install) return;
  const pkgId = `${FIELD_PREFIX}${++fieldCounter}`;
  const pkg = el("input", { id: pkgId, type: "text", required: true, autocomplete: "off", placeholder: "distribution name" });
  const install = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      if (!pkg.value.trim()) { say("name a distribution to install", true); return; }
      const button = event.currentTarget.querySelector("button");
      button.disabled = true;
      say(`installing ${pkg.value.trim()}…`);
      try {
        const out = await (await api("POST", "/console/api/install", { requirement: pkg.value.trim() })).json();
        say(`installed; added: ${out.added.join(", ") || "no plugin"}`);
        pkg.value = "";
        await reload();
      } catch (err) { say(`install failed: ${err.type}: ${err.message}`, true); } finally { button.disabled = false; }
    },
  }, el("div", { class: "field" }, el("label", { for: pkgId, text: "Install a plugin" }), pkg),
  el("button", { type: "submit", text: "Install" }));
  toolbar.append(install);
}

// Uninstall: a second press within 5 s confirms (no modal dialog; works from the keyboard).
async function uninstallButton(name) {
  let settings = {};
  try { settings = await getJSON("/console/api/settings"); } catch (_) { return null; }
  if (!settings.install) return null;
  let armed = null;
  const button = el("button", {
    type: "button", class: "danger", text: "Uninstall…", "aria-label": `Uninstall ${name}`, "data-uninstall": "",
    onclick: async () => {
      if (!armed) {
        button.textContent = `Really uninstall ${name}?`;
        armed = setTimeout(() => { armed = null; button.textContent = "Uninstall…"; }, 5000);
        return;
      }
      clearTimeout(armed);
      armed = null;
      button.disabled = true;
      try {
        const out = await (await api("POST", "/console/api/uninstall", { plugin: name })).json();
        say(`uninstalled; removed: ${out.removed.join(", ") || "nothing"}`);
        location.assign("/");
      } catch (err) {
        say(`uninstall failed: ${err.type}: ${err.message}`, true);
        button.disabled = false;
        button.textContent = "Uninstall…";
      }
    },
  });
  return button;
}

// ---- the plugin page -------------------------------------------------------------------------------

function section(title, ...content) {
  return el("section", { "aria-label": title }, el("h2", { text: title }), ...content);
}

async function pluginPage(name) {
  document.title = `${name} · nekohooks console`;
  let p;
  const withStats = async (record) => {
    let stats = {};
    try { stats = (await getJSON("/console/api/stats"))[name] || {}; } catch (_) { /* no figures */ }
    return { ...record, ...stats };
  };
  try { p = await withStats(await getJSON(`/v1/plugins/${encodeURIComponent(name)}`)); } catch (err) {
    fill(main, el("h1", { text: name }), el("p", { class: "lead", role: "alert", text: `${err.type}: ${err.message}` }),
      el("a", { href: "/", text: "Back to the plugins" }));
    return;
  }
  const fetchedAt = Date.now();
  const uninstall = await uninstallButton(name);
  const head = el("div");
  const jobs = el("div");
  const logs = el("ol", { class: "lines", "aria-label": "Recent log lines" });
  const messages = el("ol", { class: "lines", "aria-label": "Recent messages" });
  const config = el("pre", { "aria-label": "plugin.toml" });
  const entries = el("div", { class: "grid" }, (p.entries || []).map((entry) => entryCard(name, entry, () => refresh(name))));

  function renderHead(record) {
    const key = sameness(record);
    if (head.dataset.key === key) return;
    head.dataset.key = key;
    const active = document.activeElement;
    const focused = head.contains(active) && active.dataset.action ? active.dataset.action : null;
    const state = stateOf(record);
    const uptime = uptimeOf(record, fetchedAt);
    fill(head, 
      el("p", {}, el("a", { href: "/", text: "← All plugins" })),
      el("h1", {}, record.name, " ", el("span", { class: `state ${state}`, text: state, "data-state": state })),
      record.description ? el("p", { class: "lead", text: record.description }) : null,
      el("div", { class: "meta" },
        el("span", {}, "distribution ", el("b", { text: `${record.distribution || "—"} ${record.version || ""}` })),
        el("span", {}, "isolation ", el("b", { text: isolationOf(record) })),
        el("span", {}, "uptime ", el("b", { text: seconds(uptime) })),
        el("span", {}, "restarts ", el("b", { text: show(record.restarts) })),
        el("span", {}, "calls ", el("b", { text: show(total(record.calls)) })),
        el("span", {}, "failures ", el("b", { text: show(total(record.failures)) }))),
      errorOf(record) ? el("p", { class: "lead", role: "alert" }, el("b", { text: "Last error: " }),
        `${record.phase ? record.phase + ": " : ""}${errorOf(record)}`) : null,
      el("div", { class: "actions" }, actionButtons(record, () => refresh(name)), uninstall));
    if (focused) {
      const again = head.querySelector(`[data-action="${focused}"]`) || head.querySelector("[data-action]");
      if (again) again.focus();
    }
  }

  function renderJobs(record) {
    const list = jobList(record);
    const key = JSON.stringify(list);
    if (jobs.dataset.key === key) return;
    jobs.dataset.key = key;
    if (!list.length) { fill(jobs, el("p", { class: "empty", text: "No periodic jobs." })); return; }
    const cols = ["Job", "Schedule", "Last run", "Next run", "Runs", "Failed", "Skipped"];
    fill(jobs, el("table", { id: "jobs" },
      el("thead", {}, el("tr", {}, cols.map((c) => el("th", { scope: "col", text: c })))),
      el("tbody", {}, list.map((j) => el("tr", { "data-job": j.id }, [
        j.id, j.schedule, when(j.last_run), when(j.next_run), show(j.runs), show(j.failed), show(j.skipped),
      ].map((v, i) => el("td", { "data-label": cols[i], class: i >= 4 ? "num" : undefined }, v)))))));
  }

  async function renderRecent() {
    let recent;
    try { recent = await getJSON(`/console/api/plugins/${encodeURIComponent(name)}/recent`); } catch (_) { return; }
    config.textContent = recent.plugin_toml === null ? "(no plugin.toml)" : recent.plugin_toml;
    const line = (item, extra) => el("li", {}, el("span", { class: "t", text: new Date(item.time * 1000).toLocaleTimeString() }),
      extra, item.text);
    fill(logs, ...(recent.logs.length ? recent.logs.map((l) =>
      line(l, el("span", { class: `lv-${l.level}`, text: `${l.level} ` }))) : [el("li", { class: "empty", text: "No log lines yet." })]));
    fill(messages, ...(recent.messages.length ? recent.messages.map((m) =>
      line(m, `→ ${m.target}: `)) : [el("li", { class: "empty", text: "No messages yet." })]));
  }

  renderHead(p);
  renderJobs(p);
  fill(main, head,
    section("Periodic jobs", jobs),
    section("Entries", (p.entries || []).length ? entries : el("p", { class: "empty", text: "No entries." })),
    el("div", { class: "grid" },
      section("Recent log lines", logs),
      section("Recent messages", messages),
      section("plugin.toml", config)));
  await renderRecent();

  const refresh = debounced(async () => {
    try { p = await withStats(await getJSON(`/v1/plugins/${encodeURIComponent(name)}`)); renderHead(p); renderJobs(p); } catch (_) { /* gone: keep the last view */ }
    await renderRecent();
  }, 200);
  follow((kind, data) => { if (!data.plugin || data.plugin === name) refresh(name); });
  setInterval(renderRecent, 5000);  // log lines are not events: re-read them now and then
}

// The record's jobs as rows: `jobs` (a list) if the API gives one, else from `schedules` and
// the per-job counters.
function jobList(p) {
  if (Array.isArray(p.jobs)) {
    return p.jobs.map((j) => ({
      id: j.id, schedule: j.schedule || j.describe || "", last_run: j.last_run, next_run: j.next_run,
      runs: j.runs, failed: j.failed ?? j.failures, skipped: j.skipped,
    }));
  }
  const schedules = p.schedules || {};
  const runs = p.job_runs || {}, failed = p.job_failures || {}, skipped = p.job_skipped || {};
  return Object.keys(schedules).map((id) => ({
    id, schedule: schedules[id], runs: runs[id] ?? 0, failed: failed[id] ?? 0, skipped: skipped[id] ?? 0,
  }));
}

// ---- forms generated from an entry's JSON Schema -------------------------------------------------

function schemaType(spec) {
  let type = spec.type;
  if (Array.isArray(type)) type = type.find((t) => t !== "null") || "string";
  if (!type && spec.enum) return "enum";
  return type || "json";
}

function makeField(prop, spec, required) {
  const id = `${FIELD_PREFIX}${++fieldCounter}`;
  const helpId = `${id}-help`;
  const errId = `${id}-err`;
  const type = spec.enum ? "enum" : schemaType(spec);
  const label = el("label", { for: id }, spec.title || prop, required ? el("span", { class: "req", "aria-hidden": "true", text: " *" }) : null);
  const hints = [];
  if (spec.description) hints.push(spec.description);
  if (spec.minimum !== undefined) hints.push(`≥ ${spec.minimum}`);
  if (spec.exclusiveMinimum !== undefined) hints.push(`> ${spec.exclusiveMinimum}`);
  if (spec.maximum !== undefined) hints.push(`≤ ${spec.maximum}`);
  if (spec.exclusiveMaximum !== undefined) hints.push(`< ${spec.exclusiveMaximum}`);
  if (type === "array" || type === "object" || type === "json") hints.push(`JSON ${type === "json" ? "value" : type}`);
  const describedBy = [hints.length ? helpId : null, errId].filter(Boolean).join(" ");
  const common = { id, name: prop, "aria-describedby": describedBy, "aria-required": required ? "true" : undefined };
  let input;
  if (type === "enum") {
    input = el("select", common,
      required ? null : el("option", { value: "", text: "(not set)" }),
      spec.enum.map((v, i) => el("option", { value: String(i), text: pretty(v) })));
    const def = spec.enum.findIndex((v) => JSON.stringify(v) === JSON.stringify(spec.default));
    if (def >= 0) input.value = String(def);
  } else if (type === "boolean") {
    input = el("input", { ...common, type: "checkbox" });
    input.checked = spec.default === true;
  } else if (type === "integer" || type === "number") {
    input = el("input", {
      ...common, type: "number", inputmode: type === "integer" ? "numeric" : "decimal",
      step: type === "integer" ? "1" : "any", min: spec.minimum, max: spec.maximum,
    });
    if (spec.default !== undefined) input.value = String(spec.default);
  } else if (type === "string") {
    input = el("input", { ...common, type: "text", minlength: spec.minLength, maxlength: spec.maxLength, autocomplete: "off" });
    if (spec.default !== undefined) input.value = String(spec.default);
  } else {
    input = el("textarea", { ...common, rows: 3, spellcheck: "false" });
    if (spec.default !== undefined) input.value = JSON.stringify(spec.default);
  }
  const error = el("span", { id: errId, class: "field-error", role: "alert" });
  const wrap = el("div", { class: type === "boolean" ? "field check" : "field", "data-field": prop },
    type === "boolean" ? [input, label] : [label, input],
    hints.length ? el("small", { id: helpId, text: hints.join(" · ") }) : null, error);

  // Returns [present, value] or throws a message for the field.
  function read() {
    if (type === "boolean") return [true, input.checked];
    const raw = input.value;
    if (raw === "" || (type !== "string" && raw.trim() === "")) {
      if (required) throw new Error("required");
      return [false, undefined];
    }
    if (type === "enum") return [true, spec.enum[Number(raw)]];
    let value;
    if (type === "integer" || type === "number") {
      value = Number(raw);
      if (!Number.isFinite(value)) throw new Error("must be a number");
      if (type === "integer" && !Number.isInteger(value)) throw new Error("must be a whole number");
      if (spec.minimum !== undefined && value < spec.minimum) throw new Error(`must be at least ${spec.minimum}`);
      if (spec.maximum !== undefined && value > spec.maximum) throw new Error(`must be at most ${spec.maximum}`);
      if (typeof spec.exclusiveMinimum === "number" && value <= spec.exclusiveMinimum) throw new Error(`must be more than ${spec.exclusiveMinimum}`);
      if (typeof spec.exclusiveMaximum === "number" && value >= spec.exclusiveMaximum) throw new Error(`must be less than ${spec.exclusiveMaximum}`);
      if (spec.multipleOf && Math.abs(value / spec.multipleOf - Math.round(value / spec.multipleOf)) > 1e-9) throw new Error(`must be a multiple of ${spec.multipleOf}`);
      return [true, value];
    }
    if (type === "string") {
      const length = [...raw].length;
      if (spec.minLength !== undefined && length < spec.minLength) throw new Error(`must be at least ${spec.minLength} characters`);
      if (spec.maxLength !== undefined && length > spec.maxLength) throw new Error(`must be at most ${spec.maxLength} characters`);
      if (spec.pattern !== undefined && !new RegExp(spec.pattern, "u").test(raw)) throw new Error(`must match ${spec.pattern}`);
      return [true, raw];
    }
    try { value = JSON.parse(raw); } catch (_) { throw new Error("is not valid JSON"); }
    if (type === "array" && !Array.isArray(value)) throw new Error("must be a JSON array");
    if (type === "object" && (typeof value !== "object" || value === null || Array.isArray(value))) throw new Error("must be a JSON object");
    return [true, value];
  }
  function check() {
    try {
      const out = read();
      input.removeAttribute("aria-invalid");
      error.textContent = "";
      return out;
    } catch (err) {
      input.setAttribute("aria-invalid", "true");
      error.textContent = `${spec.title || prop} ${err.message}`;
      return null;
    }
  }
  input.addEventListener("change", check);
  return { prop, wrap, input, check };
}

function entryCard(plugin, entry, onCalled) {
  const schema = entry.parameters || entry.input_schema || {};
  const properties = schema.properties || {};
  const required = new Set(schema.required || []);
  const fields = Object.entries(properties).map(([prop, spec]) => makeField(prop, spec || {}, required.has(prop)));
  const streaming = /generator/.test(entry.kind || "");
  const result = el("div", { class: "result", role: "status", "aria-live": "polite", "data-result": "" });
  const submit = el("button", { type: "submit", text: `Call ${entry.id}` });
  const form = el("form", {
    novalidate: true, "aria-label": `Call ${plugin}.${entry.id}`,
    onsubmit: async (event) => {
      event.preventDefault();
      const args = {};
      let firstBad = null;
      for (const field of fields) {
        const out = field.check();
        if (out === null) { firstBad = firstBad || field.input; continue; }
        if (out[0]) args[field.prop] = out[1];
      }
      if (firstBad) { firstBad.focus(); return; }
      submit.disabled = true;
      const started = performance.now();
      const status = el("div", { class: "status", text: "calling…" });
      result.replaceChildren(status);
      try {
        const path = `/v1/call/${encodeURIComponent(plugin)}.${encodeURIComponent(entry.id)}`;
        if (streaming) {
          const list = el("ol", { class: "lines", "data-items": "" });
          result.append(list);
          const response = await api("POST", path, args, "application/x-ndjson");
          await readLines(response, (item) => list.append(el("li", { text: pretty(item) })));
          status.textContent = `${list.children.length} item(s) in ${Math.round(performance.now() - started)} ms`;
        } else {
          const body = await (await api("POST", path, args)).json();
          status.textContent = `ok in ${Math.round(performance.now() - started)} ms`;
          result.append(el("pre", { "data-value": "", text: pretty(body.result) }));
        }
        status.className = "status good";
      } catch (err) {
        status.className = "status bad";
        status.textContent = "failed";
        result.append(el("pre", { "data-error": "", text: `${err.type}: ${err.message}` }));
      } finally {
        submit.disabled = false;
        onCalled();  // the plugin's call figures changed
      }
    },
  }, fields.map((f) => f.wrap), submit);
  return el("article", { class: "card", "data-entry": entry.id },
    el("h3", { text: `${plugin}.${entry.id}` }),
    entry.description ? el("p", { text: entry.description }) : null,
    form, result);
}

// Stream JSON lines from a fetch response, calling onItem for each decoded item.
async function readLines(response, onItem) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    let cut;
    while ((cut = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, cut).trim();
      buffer = buffer.slice(cut + 1);
      if (!line) continue;
      const item = JSON.parse(line);
      if (item && typeof item === "object" && item.error) throw new ApiError(500, item);
      if (item && typeof item === "object" && item.end === true) return;
      onItem(item && typeof item === "object" && "item" in item ? item.item : item);
    }
    if (done) break;
  }
}

// ---- start ---------------------------------------------------------------------------------------

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("POST", "/logout"); } catch (_) { /* signed out either way */ }
  showSignedOut();
});

const match = location.pathname.match(/^\/plugins\/([^/]+)$/);
(match ? pluginPage(decodeURIComponent(match[1])) : pluginsPage()).catch((err) => {
  if (err.status !== 401) say(`${err.type || "error"}: ${err.message}`, true);
});
