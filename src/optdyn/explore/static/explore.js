// optdyn explore: the page. It builds its controls from /api/schema, keeps the view (the
// problem, the run, the optimizers) and asks the server for the theory curves on every change,
// at most one request in flight (the latest view wins). window.explorer exposes the state
// (curves drawn, latencies) to the browser test and the latency benchmark.
"use strict";

const ex = {
  schema: null, limits: null, view: null, curves: null, sim: null, job: null,
  inflight: false, pending: false, tInput: null, drawn: 0, latencies: [], errors: 0,
};
window.explorer = ex;

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
};
const fmt = (v) => (v === null || v === undefined) ? "none" :
  (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)) ? v.toExponential(2) :
  String(Number(v.toPrecision(4)));

// ---------------------------------------------------------------- controls
function toSlider(f, v) { return f.scale === "log" ? Math.log10(v) : v; }
function fromSlider(f, s) {
  let v = f.scale === "log" ? Math.pow(10, s) : s;
  if (f.integer) v = Math.round(v);
  else v = Number(v.toPrecision(4));
  return v;
}

function numberRow(f, id, get, set) {
  const slider = el("input", {type: "range", id: id + "-slider"});
  if (f.scale === "log") {
    slider.min = Math.log10(f.min); slider.max = Math.log10(f.max); slider.step = 0.01;
  } else {
    slider.min = f.min; slider.max = f.max;
    slider.step = f.integer ? 1 : (f.step || (f.max - f.min) / 200);
  }
  const text = el("input", {type: "text", id: id + "-text"});
  const row = el("div", {class: "row", id: id + "-row"},
                 el("label", {for: id + "-text", text: f.label}), slider, text);
  const show = () => { const v = get(); text.value = String(v); slider.value = toSlider(f, v); };
  slider.addEventListener("input", () => {
    const v = fromSlider(f, Number(slider.value));
    text.value = String(v); set(v); changed();
  });
  text.addEventListener("change", () => {
    const raw = text.value.trim();
    const num = Number(raw);
    // what was typed goes to the server as typed: it checks it and names the field if bad
    set(raw !== "" && Number.isFinite(num) ? num : raw);
    if (Number.isFinite(num)) slider.value = toSlider(f, num);
    changed();
  });
  row.show = show;
  show();
  return row;
}

function choiceRow(f, id, get, set) {
  const sel = el("select", {id: id + "-select"});
  for (const c of f.choices) sel.append(el("option", {value: c, text: c}));
  sel.value = get();
  sel.addEventListener("change", () => { set(sel.value); updateVisibility(); changed(); });
  return el("div", {class: "row", id: id + "-row"}, el("label", {text: f.label}), sel,
            el("span"));
}

function fieldRow(f, id, obj) {
  const get = () => obj[f.name], set = (v) => { obj[f.name] = v; };
  const row = f.choices ? choiceRow(f, id, get, set) : numberRow(f, id, get, set);
  if (f.when) row.dataset.when = JSON.stringify(f.when);
  return row;
}

function updateVisibility() {
  for (const row of document.querySelectorAll("[data-when]")) {
    const when = JSON.parse(row.dataset.when);
    row.hidden = !Object.entries(when).every(([k, vals]) => vals.includes(ex.view.problem[k]));
  }
}

function buildProblem() {
  const box = $("problem"); box.replaceChildren();
  for (const f of ex.schema.problem) box.append(fieldRow(f, "problem-" + f.name, ex.view.problem));
  const run = $("run"); run.replaceChildren();
  for (const f of ex.schema.run) run.append(fieldRow(f, "run-" + f.name, ex.view));
  updateVisibility();
}

function buildOptimizers() {
  const box = $("optimizers"); box.replaceChildren();
  ex.view.optimizers.forEach((o, i) => {
    const spec = ex.schema.optimizers[o.kind];
    const remove = el("button", {type: "button", id: `opt-${i}-remove`, text: "remove"});
    remove.addEventListener("click", () => {
      ex.view.optimizers.splice(i, 1); ex.sim = null; buildOptimizers(); changed();
    });
    const card = el("div", {class: "card", id: `opt-${i}`},
                    el("div", {class: "head"}, el("span", {text: `${i + 1}. ${spec.label}`}),
                       remove));
    for (const f of spec.fields) card.append(fieldRow(f, `opt-${i}-${f.name}`, o));
    card.append(el("div", {class: "info", id: `opt-${i}-info`}),
                el("div", {class: "warn", id: `opt-${i}-warn`}));
    box.append(card);
  });
  recolor();
}

function recolor() {
  if (!ex.curves) return;
  ex.curves.curves.forEach((c, i) => {
    const card = $(`opt-${i}`);
    if (!card) return;
    card.style.setProperty("--c", c.color);
    const info = c.has_theory ?
      `critical lr ${c.critical_lr === null ? "none (never diverges)" : fmt(c.critical_lr)}` +
      ` · limit risk ${c.limit_risk === null ? "inf" : fmt(c.limit_risk)}` : "";
    $(`opt-${i}-info`).textContent = info;
    $(`opt-${i}-warn`).textContent = c.message || "";
  });
}

// ---------------------------------------------------------------- requests
function showError(msg, field) {
  const box = $("message");
  for (const r of document.querySelectorAll(".row.bad")) r.classList.remove("bad");
  if (!msg) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false; box.textContent = msg;
  if (field) {
    // problem.d -> problem-d, optimizers[0].lr -> opt-0-lr, steps -> run-steps
    const id = field.replace(/^optimizers\[(\d+)\]\./, "opt-$1-").replace(/^problem\./, "problem-");
    const row = $(id + "-row") || $("run-" + field + "-row");
    if (row) row.classList.add("bad");
  }
}

async function api(method, path, body) {
  const r = await fetch(path, {method, headers: {"Content-Type": "application/json"},
                               body: body === undefined ? undefined : JSON.stringify(body)});
  let data;
  try { data = await r.json(); } catch (e) { data = {error: `the server answered ${r.status}`}; }
  if (!r.ok) { const err = new Error(data.error || `error ${r.status}`); err.field = data.field;
               throw err; }
  return data;
}

function changed() {
  if (ex.tInput === null) ex.tInput = performance.now();
  if (ex.inflight) { ex.pending = true; return; }
  refresh();
}

async function refresh() {
  ex.inflight = true; ex.pending = false;
  const t0 = ex.tInput ?? performance.now();
  ex.tInput = null;
  // a slow change (a large Toeplitz or Haar problem, momentum's block law) says it is working
  const slow = setTimeout(() => { $("timing").textContent = "computing the theory curves ..."; },
                          300);
  try {
    const data = await api("POST", "/api/curves", ex.view);
    ex.curves = data;
    showError(null);
    await draw();
    const ms = performance.now() - t0;
    ex.latencies.push(ms);
    $("timing").textContent = `redrawn in ${ms.toFixed(0)} ms (theory ${data.elapsed_ms} ms)`;
  } catch (e) {
    ex.errors += 1;
    showError(e.message, e.field);
    $("timing").textContent = "";
  }
  clearTimeout(slow);
  ex.inflight = false;
  if (ex.pending) refresh();
}

// ---------------------------------------------------------------- drawing
function simKey(i) {
  return JSON.stringify([ex.view.problem, ex.view.steps, ex.view.optimizers[i]]);
}

function traces() {
  const out = [];
  const notes = [];
  ex.curves.curves.forEach((c, i) => {
    const s = ex.sim && ex.sim.keys[i] === simKey(i) ? ex.sim.configs[i] : null;
    if (s && s.mean) {
      out.push({x: s.x, y: s.lo, mode: "lines", line: {width: 0}, hoverinfo: "skip",
                showlegend: false, legendgroup: "c" + i});
      out.push({x: s.x, y: s.hi, mode: "lines", line: {width: 0}, fill: "tonexty",
                fillcolor: c.color + "33", hoverinfo: "skip", showlegend: false,
                legendgroup: "c" + i});
      out.push({x: s.x, y: s.mean, mode: "lines", name: c.label + " (simulation)",
                line: {color: c.color, width: 1.6}, legendgroup: "c" + i, showlegend: false});
    }
    if (s && s.n_div) notes.push(`${c.label}: ${s.n_div} of ${s.n_runs} simulated runs diverged`);
    if (!c.has_theory) { notes.push(`${c.label}: ${c.message}`); return; }
    out.push({x: c.x, y: c.risk, mode: "lines", name: c.label, legendgroup: "c" + i,
              line: {color: c.color, width: 2, dash: "dash"}, meta: "theory"});
    if (c.limit_risk !== null && c.x.length) {
      out.push({x: [c.x[0], c.x[c.x.length - 1]], y: [c.limit_risk, c.limit_risk],
                mode: "lines", line: {color: c.color, width: 1, dash: "dot"},
                name: `limit risk ${fmt(c.limit_risk)}`, showlegend: false, hoverinfo: "name",
                legendgroup: "c" + i});
    }
    if (c.message) notes.push(`${c.label}: ${c.message}`);
  });
  const list = $("notes"); list.replaceChildren(...notes.map((n) => el("li", {text: n})));
  return out;
}

async function draw() {
  recolor();
  const layout = {
    margin: {l: 70, r: 10, t: 30, b: 55},
    xaxis: {type: "log", title: {text: ex.curves.x_label}, exponentformat: "power", dtick: 1,
            showline: true, mirror: true, ticks: "outside"},
    yaxis: {type: "log", title: {text: "excess risk R"}, exponentformat: "power", dtick: 1,
            showline: true, mirror: true, ticks: "outside"},
    legend: {x: 1.01, y: 1, xanchor: "left", yanchor: "top"},
    title: {text: `theory dashed, limit risks dotted, d = ${ex.view.problem.d}` +
                  (ex.sim ? ", simulation: mean and 10-90% band" : ""), font: {size: 13}},
    plot_bgcolor: "white", paper_bgcolor: "white",
  };
  await Plotly.react("plot", traces(), layout, {displaylogo: false, responsive: true});
  await new Promise((r) => requestAnimationFrame(() => r()));
  ex.drawn += 1;
  $("plot").dataset.drawn = String(ex.drawn);
}

// ---------------------------------------------------------------- simulation and save
async function simulate() {
  showError(null);
  try {
    const st = await api("POST", "/api/simulate", ex.view);
    const keys = ex.view.optimizers.map((_, i) => simKey(i));
    ex.job = {id: st.id, keys};
    $("simulate").disabled = true; $("cancel").disabled = false;
    const bar = $("progress"); bar.hidden = false; bar.max = st.total; bar.value = 0;
    poll(st.id);
  } catch (e) { showError(e.message, e.field); }
}

async function poll(id) {
  let st;
  try { st = await api("GET", `/api/simulate/${id}`); }
  catch (e) { showError(e.message); return endSim(); }
  if (!ex.job || ex.job.id !== id) return;
  $("progress").value = st.done;
  $("sim-status").textContent =
    `simulation: ${st.done}/${st.total} seeds, ${st.elapsed_s} s` +
    (st.state === "running" ? "" : ` (${st.state})`);
  if (st.configs) { ex.sim = {keys: ex.job.keys, configs: st.configs}; if (ex.curves) await draw(); }
  if (st.error) showError(st.error);
  if (st.state === "running") setTimeout(() => poll(id), 300); else endSim();
}

function endSim() {
  $("simulate").disabled = false; $("cancel").disabled = true; $("progress").hidden = true;
}

async function cancel() {
  if (!ex.job) return;
  try { await api("DELETE", `/api/simulate/${ex.job.id}`); }
  catch (e) { showError(e.message); }
}

async function save() {
  try {
    const r = await api("POST", "/api/save", {view: ex.view, job: ex.job ? ex.job.id : null});
    $("saved").textContent = `saved ${r.spec} (rerun: optdyn run ${r.spec}) and ${r.figure}`;
    ex.saved = r;
  } catch (e) { showError(e.message, e.field); }
}

// ---------------------------------------------------------------- start
async function init() {
  const s = await api("GET", "/api/schema");
  ex.schema = s.schema; ex.limits = s.limits; ex.view = structuredClone(s.default);
  const add = $("add-kind");
  for (const [k, v] of Object.entries(ex.schema.optimizers)) {
    add.append(el("option", {value: k, text: v.label}));
  }
  $("add-optimizer").addEventListener("click", () => {
    if (ex.view.optimizers.length >= ex.limits.optimizers) {
      showError(`optimizers: at most ${ex.limits.optimizers} at once`); return;
    }
    const spec = ex.schema.optimizers[add.value];
    const o = {kind: add.value};
    for (const f of spec.fields) o[f.name] = f.default;
    ex.view.optimizers.push(o); buildOptimizers(); changed();
  });
  $("simulate").addEventListener("click", simulate);
  $("cancel").addEventListener("click", cancel);
  $("save").addEventListener("click", save);
  buildProblem(); buildOptimizers();
  await refresh();
  buildOptimizers();
  document.body.dataset.ready = "1";
}

init().catch((e) => showError(`the page could not start: ${e.message}`));
