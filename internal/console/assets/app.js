// Trellis console: a read-only client of the server's HTTP APIs.
// Same-origin relative calls only, so whatever authenticates the API port
// authenticates the console.
"use strict";

const API = "/v20190125";
const SVG = "http://www.w3.org/2000/svg";
const state = { mesh: "", model: null, proxies: [], signals: null, edgeSignals: null, telemetry: true, selected: null, history: [] };

async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!r.ok) { const e = new Error(path + ": HTTP " + r.status); e.status = r.status; throw e; }
  return r.json();
}
const enc = encodeURIComponent;

// listAll follows nextToken.
async function listAll(path, key) {
  let out = [], token = "";
  for (;;) {
    const body = await getJSON(path + (token ? "?nextToken=" + enc(token) : ""));
    out = out.concat(body[key] || []);
    if (!body.nextToken) return out;
    token = body.nextToken;
  }
}

// loadMesh describes every resource of a mesh.
async function loadMesh(mesh) {
  const m = API + "/meshes/" + enc(mesh);
  const describe = (coll, refs, nameKey) =>
    Promise.all(refs.map(r => getJSON(coll + "/" + enc(r[nameKey]))));
  const [vsRefs, vrRefs, vnRefs, vgRefs] = await Promise.all([
    listAll(m + "/virtualServices", "virtualServices"), listAll(m + "/virtualRouters", "virtualRouters"),
    listAll(m + "/virtualNodes", "virtualNodes"), listAll(m + "/virtualGateways", "virtualGateways")]);
  const [meshData, vs, vr, vn, vg] = await Promise.all([getJSON(m),
    describe(m + "/virtualServices", vsRefs, "virtualServiceName"), describe(m + "/virtualRouters", vrRefs, "virtualRouterName"),
    describe(m + "/virtualNodes", vnRefs, "virtualNodeName"), describe(m + "/virtualGateways", vgRefs, "virtualGatewayName")]);
  const routes = (await Promise.all(vr.map(async r => {
    const coll = m + "/virtualRouter/" + enc(r.virtualRouterName) + "/routes";
    return describe(coll, await listAll(coll, "routes"), "routeName");
  }))).flat();
  const gwRoutes = (await Promise.all(vg.map(async g => {
    const coll = m + "/virtualGateway/" + enc(g.virtualGatewayName) + "/gatewayRoutes";
    return describe(coll, await listAll(coll, "gatewayRoutes"), "gatewayRouteName");
  }))).flat();
  return { mesh: meshData, vs, vr, vn, vg, routes, gwRoutes };
}

// routeSpec returns the protocol block of a route spec (http, http2, grpc, tcp).
function routeSpec(spec) {
  return spec.httpRoute || spec.http2Route || spec.grpcRoute || spec.tcpRoute || {};
}

// buildGraph turns described resources into columns of boxes and edges.
function buildGraph(md) {
  const nodes = [], edges = [], id = (k, n) => k + ":" + n;
  md.vg.forEach(g => nodes.push({ id: id("gw", g.virtualGatewayName), col: 0, kind: "gw", name: g.virtualGatewayName }));
  md.vs.forEach(s => nodes.push({ id: id("vs", s.virtualServiceName), col: 1, kind: "vs", name: s.virtualServiceName }));
  md.vr.forEach(r => nodes.push({ id: id("vr", r.virtualRouterName), col: 2, kind: "vr", name: r.virtualRouterName }));
  md.vn.forEach(n => nodes.push({ id: id("vn", n.virtualNodeName), col: 3, kind: "vn", name: n.virtualNodeName }));
  md.gwRoutes.forEach(gr => {
    const s = gr.spec || {}, block = s.httpRoute || s.http2Route || s.grpcRoute || {};
    const vs = block.action && block.action.target && block.action.target.virtualService;
    if (vs) edges.push({ from: id("gw", gr.virtualGatewayName), to: id("vs", vs.virtualServiceName), kind: "gw", label: gr.gatewayRouteName });
  });
  md.vs.forEach(s => {
    const p = (s.spec || {}).provider || {};
    if (p.virtualRouter) edges.push({ from: id("vs", s.virtualServiceName), to: id("vr", p.virtualRouter.virtualRouterName), kind: "provider" });
    if (p.virtualNode) edges.push({ from: id("vs", s.virtualServiceName), to: id("vn", p.virtualNode.virtualNodeName), kind: "provider", target: p.virtualNode.virtualNodeName });
  });
  md.routes.forEach(rt => {
    const targets = ((routeSpec(rt.spec || {}).action) || {}).weightedTargets || [];
    const total = targets.reduce((a, t) => a + (t.weight || 0), 0);
    targets.forEach(t => edges.push({ from: id("vr", rt.virtualRouterName), to: id("vn", t.virtualNode), kind: "route",
      target: t.virtualNode, weight: t.weight, share: total ? Math.round(100 * t.weight / total) : 0, label: rt.routeName }));
  });
  md.vn.forEach(n => ((n.spec || {}).backends || []).forEach(b => {
    if (b.virtualService) edges.push({ from: id("vn", n.virtualNodeName), to: id("vs", b.virtualService.virtualServiceName), kind: "backend" });
  }));
  const known = new Set(nodes.map(n => n.id));
  return { nodes, edges: edges.filter(e => known.has(e.from) && known.has(e.to)) };
}

// proxyState is a /v1/proxies entry's state: "synced", "pending" or
// "nacked" (with Envoy's error detail).
function proxyState(p) {
  const st = { state: String(p.state || "pending").toLowerCase() };
  if (p.nack) { st.reason = p.nack.message; st.version = p.nack.version; }
  return st;
}

function proxyByResource() {
  const out = {};
  for (const p of state.proxies) {
    const key = (p.kind === "virtualGateway" ? "gw:" : "vn:") + p.name;
    const s = proxyState(p);
    if (!out[key] || s.state === "nacked") out[key] = s;
  }
  return out;
}

function signalsFor(kind, name) {
  if (!state.signals) return null;
  return state.signals.find(s => s.kind === kind && s.name === name) || null;
}

// nodesBehind resolves a virtual service to the virtual nodes that serve it.
function nodesBehind(md, vsName) {
  const vs = md.vs.find(s => s.virtualServiceName === vsName);
  const p = ((vs && vs.spec) || {}).provider || {};
  if (p.virtualNode) return new Set([p.virtualNode.virtualNodeName]);
  const out = new Set();
  if (p.virtualRouter) md.routes.filter(r => r.virtualRouterName === p.virtualRouter.virtualRouterName).forEach(r =>
    (((routeSpec(r.spec || {}).action) || {}).weightedTargets || []).forEach(t => out.add(t.virtualNode)));
  return out;
}

// callerSignals sums what one caller's proxies measured toward a virtual
// service's nodes: rates add up, success rate is rate-weighted, p99 is the
// highest of the parts.
function callerSignals(md, sourceKind, source, vsName) {
  if (!state.edgeSignals) return null;
  const dests = nodesBehind(md, vsName);
  const parts = state.edgeSignals.filter(e => e.sourceKind === sourceKind && e.source === source && dests.has(e.destination));
  if (!parts.length) return null;
  const sum = { requestRate: 0, successRate: null, latencyP99Ms: null };
  let ok = 0, rated = 0;
  for (const p of parts) {
    sum.requestRate += p.requestRate;
    if (p.successRate != null) { ok += p.successRate * p.requestRate; rated += p.requestRate; }
    if (p.latencyP99Ms != null) sum.latencyP99Ms = Math.max(sum.latencyP99Ms || 0, p.latencyP99Ms);
  }
  if (rated > 0) sum.successRate = ok / rated;
  return sum;
}

function edgeSignalsFor(md, e) {
  const [fk, fname] = [e.from.slice(0, 2), e.from.slice(3)], vs = e.to.slice(3);
  if (e.kind === "gw") return callerSignals(md, "virtualGateway", fname, vs);
  if (e.kind === "backend" && fk === "vn") return callerSignals(md, "virtualNode", fname, vs);
  return e.target ? signalsFor("virtualNode", e.target) : null;
}

function fmtSignals(s) {
  if (!s) return "";
  const pct = s.successRate == null ? "–" : (100 * s.successRate).toFixed(1) + "%";
  const p99 = s.latencyP99Ms == null ? "–" : s.latencyP99Ms.toFixed(1) + "ms";
  return s.requestRate.toFixed(1) + " rps · " + pct + " · p99 " + p99;
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
}

const KIND_LABEL = { gw: "virtual gateway", vs: "virtual service", vr: "virtual router", vn: "virtual node" };

// drawGraph lays the boxes out in four columns and draws curved edges.
function drawGraph(g) {
  const svg = document.getElementById("graph");
  svg.replaceChildren();
  const W = svg.clientWidth || 900, bw = Math.min(160, W * 0.18), bh = 40;
  // The router → node column gap is the widest: route weights and live figures go there.
  const colX = [12, W * 0.21, W * 0.42, W - bw - 12];
  const rows = [0, 0, 0, 0], pos = {};
  for (const n of g.nodes) {
    const r = rows[n.col]++;
    pos[n.id] = { x: colX[n.col], y: 20 + r * 80 };
  }
  const H = Math.max(200, 40 + 80 * Math.max(...rows));
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.style.height = H + "px";
  const status = proxyByResource();
  const eg = el("g"), ng = el("g");
  svg.append(eg, ng);
  for (const e of g.edges) {
    const a = pos[e.from], b = pos[e.to];
    let d, lx, ly;
    if (e.kind === "backend") {
      const x1 = a.x, y1 = a.y + bh / 2, x2 = b.x + bw / 2, y2 = b.y + bh;
      d = `M${x1},${y1} C${x1 - 120},${y1 + 60} ${x2},${y2 + 80} ${x2},${y2}`;
      lx = (x1 + x2) / 2; ly = Math.max(y1, y2) + 40;
    } else {
      const x1 = a.x + bw, y1 = a.y + bh / 2, x2 = b.x, y2 = b.y + bh / 2, mx = (x1 + x2) / 2;
      d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
      // Labels sit at the target end, where the edges of one router fan out.
      lx = mx; ly = (y1 + y2) / 2;
      if (e.kind === "route") { lx = x2 - 6; ly = y2 - 2; }
    }
    eg.append(el("path", { d, class: "edge " + e.kind, "data-from": e.from, "data-to": e.to }));
    if (e.kind === "route") {
      eg.append(el("text", { x: lx, y: ly - 4, "text-anchor": "end", class: "label weight", "data-edge": e.from + ">" + e.to }, e.share + "% (w " + e.weight + ")"));
    }
    const sig = edgeSignalsFor(state.model, e);
    if (e.kind === "gw") { lx = (a.x + bw + b.x) / 2; ly = a.y + bh + 4; }
    if (sig) eg.append(el("text", { x: lx, y: ly + 12, "text-anchor": e.kind === "route" ? "end" : "middle", class: "stats", "data-edge": e.from + ">" + e.to }, fmtSignals(sig)));
  }
  for (const n of g.nodes) {
    const p = pos[n.id], st = status[n.id];
    const box = el("g", { class: "box " + n.kind + (st && st.state === "nacked" ? " nack" : ""), "data-id": n.id, transform: `translate(${p.x},${p.y})` });
    box.append(el("rect", { width: bw, height: bh }));
    box.append(el("text", { x: 8, y: 12, class: "kind" }, KIND_LABEL[n.kind]));
    box.append(el("text", { x: 8, y: 28 }, n.name));
    if (st && st.state === "nacked") box.append(el("text", { x: bw - 8, y: 12, "text-anchor": "end", class: "flag" }, "NACK"));
    const title = el("title", {}, n.name + (st ? " — " + st.state + (st.reason ? ": " + st.reason : "") : ""));
    box.append(title);
    box.addEventListener("click", () => selectResource(resourceForNode(n)));
    ng.append(box);
  }
}

function renderProxies() {
  const tb = document.getElementById("proxy-rows");
  tb.replaceChildren();
  if (!state.proxies.length) {
    const tr = document.createElement("tr");
    tr.innerHTML = '<td colspan="4" class="muted">no proxy of this mesh is connected</td>';
    tb.append(tr);
  }
  for (const p of state.proxies) {
    const s = proxyState(p), tr = document.createElement("tr");
    tr.dataset.node = p.nodeId;
    tr.className = "proxy " + s.state;
    const cells = [p.nodeId, p.stream, p.configVersion || "–"];
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.append(td); }
    const td = document.createElement("td");
    const b = document.createElement("span");
    b.className = s.state; b.textContent = s.state.toUpperCase();
    td.append(b);
    if (s.reason) { const r = document.createElement("div"); r.className = "reason"; r.textContent = s.reason; td.append(r); }
    tr.append(td);
    tb.append(tr);
  }
}

// ---- resource browser ----

function resources(md) {
  const out = [{ kind: "mesh", name: state.mesh, data: md.mesh }];
  const add = (kind, list, nameKey, parentKey) => list.forEach(d => out.push({ kind, name: (parentKey ? d[parentKey] + "/" : "") + d[nameKey], data: d }));
  add("virtualGateway", md.vg, "virtualGatewayName");
  add("gatewayRoute", md.gwRoutes, "gatewayRouteName", "virtualGatewayName");
  add("virtualService", md.vs, "virtualServiceName");
  add("virtualRouter", md.vr, "virtualRouterName");
  add("route", md.routes, "routeName", "virtualRouterName");
  add("virtualNode", md.vn, "virtualNodeName");
  return out;
}

function resourceForNode(n) {
  const kind = { gw: "virtualGateway", vs: "virtualService", vr: "virtualRouter", vn: "virtualNode" }[n.kind];
  return (state.model ? resources(state.model) : []).find(r => r.kind === kind && r.name === n.name);
}

function renderResources() {
  const ul = document.getElementById("resources");
  ul.replaceChildren();
  for (const r of resources(state.model)) {
    const li = document.createElement("li");
    li.dataset.arn = r.data.metadata.arn;
    if (state.selected === r.data.metadata.arn) li.className = "sel";
    const k = document.createElement("span");
    k.className = "k"; k.textContent = r.kind;
    li.append(k, document.createTextNode(r.name));
    li.addEventListener("click", () => selectResource(r));
    ul.append(li);
  }
}

async function selectResource(r) {
  if (!r) return;
  state.selected = r.data.metadata.arn;
  document.querySelectorAll("#resources li").forEach(li => li.classList.toggle("sel", li.dataset.arn === state.selected));
  document.getElementById("detail-title").textContent = r.kind + " " + r.name + " · version " + r.data.metadata.version;
  document.getElementById("spec").textContent = toYAML({ spec: r.data.spec, metadata: r.data.metadata });
  await loadHistory(true);
}

async function loadHistory(reset) {
  const box = document.getElementById("history");
  if (!state.selected) return;
  let body;
  try { body = await getJSON("/trellis/v1/history?arn=" + enc(state.selected)); }
  catch (e) { if (e.status === 404) { box.hidden = true; return; } throw e; }
  state.history = body.versions;
  const from = document.getElementById("from"), to = document.getElementById("to");
  const prevFrom = from.value, prevTo = to.value;
  for (const sel of [from, to]) {
    sel.replaceChildren(...state.history.map(v => new Option("v" + v.version + " (rev " + v.revision + ")", String(v.version))));
  }
  const n = state.history.length;
  const has = v => state.history.some(h => String(h.version) === v);
  from.value = !reset && has(prevFrom) ? prevFrom : String(state.history[Math.max(0, n - 2)].version);
  to.value = !reset && has(prevTo) ? prevTo : String(state.history[n - 1].version);
  box.hidden = false;
  renderDiff();
}

function renderDiff() {
  const pick = v => state.history.find(h => String(h.version) === v);
  const a = pick(document.getElementById("from").value), b = pick(document.getElementById("to").value);
  const pre = document.getElementById("diff");
  pre.replaceChildren();
  if (!a || !b) return;
  for (const [op, line] of diffLines(toYAML(a.spec).split("\n"), toYAML(b.spec).split("\n"))) {
    const s = document.createElement("span");
    s.className = op === "+" ? "add" : op === "-" ? "del" : "ctx";
    s.textContent = op + " " + line;
    pre.append(s);
  }
}

// diffLines is a longest-common-subsequence line diff.
function diffLines(a, b) {
  const n = a.length, m = b.length, L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
    L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push([" ", a[i]]); i++; j++; }
    else if (L[i + 1][j] >= L[i][j + 1]) out.push(["-", a[i++]]);
    else out.push(["+", b[j++]]);
  }
  while (i < n) out.push(["-", a[i++]]);
  while (j < m) out.push(["+", b[j++]]);
  return out;
}

// toYAML renders JSON values as block YAML (keys sorted).
function toYAML(v, indent = "") {
  const scalar = x => {
    if (x === null || x === undefined) return "null";
    if (typeof x === "string") return /^[\w./:@-]+$/.test(x) && !/^(true|false|null|[\d.eE+-]+)$/.test(x) ? x : JSON.stringify(x);
    return String(x);
  };
  if (Array.isArray(v)) {
    if (!v.length) return "[]";
    return v.map(x => {
      const inner = toYAML(x, indent + "  ");
      return indent + "- " + (typeof x === "object" && x !== null && !Array.isArray(x) && Object.keys(x).length ? inner.trimStart() : inner.trim());
    }).join("\n");
  }
  if (v && typeof v === "object") {
    const keys = Object.keys(v).sort();
    if (!keys.length) return "{}";
    return keys.map(k => {
      const x = v[k];
      if (x && typeof x === "object" && (Array.isArray(x) ? x.length : Object.keys(x).length))
        return indent + k + ":\n" + toYAML(x, indent + "  ");
      return indent + k + ": " + (x && typeof x === "object" ? (Array.isArray(x) ? "[]" : "{}") : scalar(x));
    }).join("\n");
  }
  return indent + scalar(v);
}

// ---- refresh ----

async function refreshMeshes() {
  const meshes = (await listAll(API + "/meshes", "meshes")).map(m => m.meshName).sort();
  const sel = document.getElementById("mesh");
  const want = state.mesh || new URLSearchParams(location.search).get("mesh") || meshes[0] || "";
  sel.replaceChildren(...meshes.map(m => new Option(m, m)));
  state.mesh = meshes.includes(want) ? want : (meshes[0] || "");
  sel.value = state.mesh;
}

async function refreshModel() {
  await refreshMeshes();
  state.model = state.mesh ? await loadMesh(state.mesh) : { mesh: null, vs: [], vr: [], vn: [], vg: [], routes: [], gwRoutes: [] };
  if (state.model.mesh) renderResources(); else document.getElementById("resources").replaceChildren();
  if (state.selected) {
    const r = resources(state.model).find(x => x.data.metadata && x.data.metadata.arn === state.selected);
    if (r) {
      document.getElementById("detail-title").textContent = r.kind + " " + r.name + " · version " + r.data.metadata.version;
      document.getElementById("spec").textContent = toYAML({ spec: r.data.spec, metadata: r.data.metadata });
      await loadHistory(false);
    }
  }
}

async function refreshLive() {
  state.proxies = state.mesh ? ((await getJSON("/v1/proxies?mesh=" + enc(state.mesh)).catch(e => {
    if (e.status === 404) return {}; // a server without xDS has no proxies
    throw e;
  })).proxies || []) : [];
  if (state.telemetry && state.mesh) {
    try {
      const q = "?mesh=" + enc(state.mesh);
      const [sig, edg] = await Promise.all([getJSON("/v1/telemetry/signals" + q), getJSON("/v1/telemetry/edges" + q)]);
      state.signals = sig.nodes || []; state.edgeSignals = edg.edges || [];
    } catch (e) { if (e.status === 404) { state.telemetry = false; state.signals = state.edgeSignals = null; } else throw e; }
  }
  renderProxies();
}

function redraw() {
  if (state.model) drawGraph(buildGraph(state.model.mesh ? state.model : { vs: [], vr: [], vn: [], vg: [], routes: [], gwRoutes: [] }));
  document.body.dataset.ready = "1";
}

// serialize runs refreshes one at a time; a request made while one runs is coalesced.
let running = null, again = null;
function schedule(full) {
  if (running) { again = again || full ? true : false; return running; }
  running = (async () => {
    try {
      if (full) await refreshModel();
      await refreshLive();
      redraw();
      document.getElementById("rev").textContent = "revision " + state.rev;
    } catch (e) {
      console.error("console refresh:", e.message);
    } finally {
      running = null;
      if (again !== null) { const f = again; again = null; schedule(f); }
    }
  })();
  return running;
}

function connect() {
  const es = new EventSource("/trellis/v1/events");
  const live = document.getElementById("live");
  es.addEventListener("open", () => { live.className = "live on"; });
  es.addEventListener("error", () => {
    live.className = "live off";
    // EventSource retries by itself unless the server refused the stream
    // (e.g. 503 at the stream bound); then start over a little later.
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
  });
  es.addEventListener("revision", ev => { state.rev = JSON.parse(ev.data).revision; schedule(true); });
  es.addEventListener("tick", () => schedule(false));
}

document.getElementById("mesh").addEventListener("change", ev => {
  state.mesh = ev.target.value; state.selected = null; state.telemetry = true;
  document.getElementById("history").hidden = true;
  document.getElementById("spec").textContent = "";
  schedule(true);
});
document.getElementById("from").addEventListener("change", renderDiff);
document.getElementById("to").addEventListener("change", renderDiff);
window.addEventListener("resize", redraw);
state.rev = 0;
connect();
