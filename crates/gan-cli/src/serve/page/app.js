// gan serve's page script: vanilla JavaScript compiled into the binary (no build step).
// It calls the JSON API (GET /api/info, POST /api/generate, POST /api/interpolate) with
// "format": "json", which returns every image as a PNG data URL and D's scores.
"use strict";

const $ = (id) => document.getElementById(id);
let info = null;
let lastHead = [];
let generation = 0; // only the answer to the latest request is shown

async function api(path, body) {
  const res = await fetch(path, body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`${res.status}: ${data.error}`);
  return data;
}

function showError(e) {
  $("error").textContent = e ? String(e.message || e) : "";
}

// Common request fields from the controls.
function common() {
  const body = {
    seed: Math.max(0, Math.floor(Number($("seed").value) || 0)),
    truncation: Number($("truncation").value),
    step: Number($("step").value),
    format: "json",
  };
  if (info.classes && $("class").value !== "all") body.class = Number($("class").value);
  return body;
}

function tiles(container, data, columns) {
  container.style.gridTemplateColumns = `repeat(${columns}, max-content)`;
  container.replaceChildren(...data.images.map((src, i) => {
    const fig = document.createElement("figure");
    const img = document.createElement("img");
    img.className = "sample";
    img.src = src;
    img.alt = `image ${i}`;
    const cap = document.createElement("figcaption");
    cap.className = "score";
    const group = Math.floor(i / data.pack);
    const d = i % data.pack === 0 ? data.scores[group] : undefined;
    let text = d === undefined ? "" : `D = ${d.toFixed(3)}`;
    if (data.classes) text += ` (class ${data.classes[i]})`;
    cap.textContent = text || "\u00a0";
    fig.append(img, cap);
    return fig;
  }));
}

async function generate() {
  const token = ++generation;
  const body = common();
  body.count = Math.min(info.max_count, Math.max(1, Math.floor(Number($("count").value) || 1)));
  if ($("use-sliders").checked) {
    body.z = [...document.querySelectorAll("#slider-list input")].map((s) => Number(s.value));
  }
  $("status").textContent = "generating...";
  try {
    const data = await api("/api/generate", body);
    if (token !== generation) return;
    showError(null);
    tiles($("grid"), data, data.columns);
    lastHead = data.z_head;
    if (!$("use-sliders").checked) setSliders(lastHead);
    $("status").textContent =
      `seed ${data.seed}, step ${data.step}: ${data.count} images` +
      (data.scores.length ? `, mean D = ${mean(data.scores).toFixed(3)}` : "");
    await interpolate();
  } catch (e) {
    if (token === generation) { showError(e); $("status").textContent = ""; }
  }
}

async function interpolate() {
  const body = common();
  body.steps = Math.min(info.max_count, Math.max(2, Math.floor(Number($("interp-steps").value) || 2)));
  if (info.classes && body.class === undefined) body.class = 0;
  try {
    const data = await api("/api/interpolate", body);
    tiles($("strip"), data, data.columns);
  } catch (e) {
    showError(e);
  }
}

const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;

function setSliders(values) {
  document.querySelectorAll("#slider-list input").forEach((s, i) => {
    if (values[i] !== undefined) s.value = values[i];
    s.nextElementSibling.textContent = Number(s.value).toFixed(2);
  });
}

let timer = null;
function soon() { clearTimeout(timer); timer = setTimeout(generate, 150); }

function build() {
  $("run-name").textContent = info.run;
  $("facts").textContent =
    `${info.dataset}, ${info.arch}, ${info.latent_dim}-dim ${info.prior} latent, ` +
    `${info.classes ? info.classes + " classes" : "unconditional"}, ` +
    `${info.ema ? "G_ema" : "G"} at step ${info.latest_step}, ${info.loss} loss`;
  if (info.classes) {
    $("class-label").hidden = false;
    const opts = [["all", "all (one row each)"]];
    for (let c = 0; c < info.classes; c++) opts.push([String(c), String(c)]);
    $("class").replaceChildren(...opts.map(([v, t]) => new Option(t, v)));
  }
  $("step").replaceChildren(...info.steps.map((s) =>
    new Option(s === info.latest_step ? `${s} (latest)` : String(s), String(s), false, s === info.latest_step)));
  const range = info.prior === "uniform" ? 1 : 3;
  $("slider-list").replaceChildren(...Array.from({ length: info.sliders }, (_, i) => {
    const label = document.createElement("label");
    const s = document.createElement("input");
    Object.assign(s, { type: "range", min: -range, max: range, step: 0.01, value: 0 });
    const out = document.createElement("output");
    label.append(`z${i} `, s, out);
    s.addEventListener("input", () => {
      out.textContent = Number(s.value).toFixed(2);
      if ($("use-sliders").checked) soon();
    });
    return label;
  }));
  $("truncation").addEventListener("input", () => {
    $("truncation-value").textContent = Number($("truncation").value).toFixed(2);
  });
  $("use-sliders").addEventListener("change", generate);
  $("generate").addEventListener("click", generate);
  $("interpolate").addEventListener("click", interpolate);
  $("random").addEventListener("click", () => {
    $("seed").value = Math.floor(Math.random() * 1e6);
    generate();
  });
  for (const id of ["class", "step", "truncation"]) $(id).addEventListener("change", generate);
}

api("/api/info")
  .then((i) => { info = i; build(); return generate(); })
  .catch(showError);
