// The visualizer's page: one EventSource, keyed DOM updates (a node column or a task card
// is made once and then only changed), ages counted here. Nothing is fetched but this
// server's own /stream.
"use strict";

const nodesEl = document.getElementById("nodes");
const unassignedEl = document.getElementById("unassigned");
const statusEl = document.getElementById("status");
const summaryEl = document.getElementById("summary");
const errorEl = document.getElementById("error");
const columns = new Map();  // node id -> column element
const cards = new Map();    // task id -> card element
let first = true;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

function age(since) {
  if (since == null) return "";
  const s = Math.max(0, Math.floor(Date.now() / 1000 - since));
  if (s < 60) return `${s}s`;
  if (s < 600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

function makeColumn(node) {
  const col = el("section", "node");
  col.dataset.node = node.id;
  const h = el("h2");
  h.append(el("span", "hostname"), el("span", "leader"));
  const meta = el("div", "meta");
  meta.append(el("span", "badge role"), el("span", "badge state"), el("span", "badge avail"));
  col.append(h, meta, el("p", "labels"), el("div", "tasks"));
  return col;
}

function updateColumn(col, node) {
  col.dataset.hostname = node.hostname;
  setText(col.querySelector(".hostname"), node.hostname);
  const leader = col.querySelector(".leader");
  setText(leader, node.leader ? "★" : "");
  leader.title = node.leader ? "leader" : "";
  const role = col.querySelector(".role");
  setText(role, node.role === "manager" && !node.leader && node.reachability
    ? `manager (${node.reachability})` : (node.leader ? "manager, leader" : node.role));
  const state = col.querySelector(".state");
  setText(state, node.state);
  state.className = `badge state state-${node.state}`;
  const avail = col.querySelector(".avail");
  setText(avail, node.availability);
  avail.className = `badge avail avail-${node.availability}`;
  const labels = Object.entries(node.labels).map(([k, v]) => v ? `${k}=${v}` : k);
  setText(col.querySelector(".labels"), labels.join("  "));
  col.classList.toggle("down", node.state !== "ready");
  col.classList.toggle("drain", node.availability === "drain");
  col.classList.toggle("pause", node.availability === "pause");
}

function makeCard(task) {
  const card = el("article", "card");
  card.dataset.task = task.id;
  const line = el("div", "line");
  line.append(el("span", "state"), el("span", "age"));
  card.append(el("div", "name"), el("div", "image"), line, el("div", "err"));
  if (!first) {
    card.classList.add("new-card");
    card.addEventListener("animationend", () => card.classList.remove("new-card"), {once: true});
  }
  return card;
}

function updateCard(card, task, colour) {
  setText(card.querySelector(".name"),
          task.slot != null ? `${task.name}.${task.slot}` : task.name);
  setText(card.querySelector(".image"), task.image);
  setText(card.querySelector(".state"), task.state);
  setText(card.querySelector(".err"), task.err || "");
  card.dataset.since = task.since == null ? "" : String(task.since);
  setText(card.querySelector(".age"), age(task.since));
  card.title = `${task.id}\n${task.state} (desired ${task.desired})`;
  const cls = `card svc-${colour} ${task.state}` + (card.classList.contains("new-card") ? " new-card" : "");
  if (card.className !== cls) card.className = cls;
}

// Put `children` into `parent` in this order, moving only what is out of place.
function arrange(parent, children) {
  children.forEach((child, i) => {
    if (parent.children[i] !== child) parent.insertBefore(child, parent.children[i] || null);
  });
  while (parent.children.length > children.length) parent.lastElementChild.remove();
}

function render(snap) {
  errorEl.hidden = !snap.error;
  if (snap.error) setText(errorEl, `The agent did not answer: ${snap.error}`);
  const colours = new Map(snap.services.map(s => [s.id, s.colour]));

  const seenNodes = new Set();
  const order = snap.nodes.map(node => {
    seenNodes.add(node.id);
    let col = columns.get(node.id);
    if (!col) { col = makeColumn(node); columns.set(node.id, col); }
    updateColumn(col, node);
    return col;
  });
  for (const [id, col] of columns) if (!seenNodes.has(id)) { col.remove(); columns.delete(id); }
  arrange(nodesEl, order);

  const byNode = new Map(snap.nodes.map(n => [n.id, []]));
  const unassigned = [];
  const seenTasks = new Set();
  for (const task of snap.tasks) {
    seenTasks.add(task.id);
    let card = cards.get(task.id);
    if (!card) { card = makeCard(task); cards.set(task.id, card); }
    updateCard(card, task, colours.get(task.service) ?? 0);
    (byNode.get(task.node) || unassigned).push(card);
  }
  for (const [id, card] of cards) if (!seenTasks.has(id)) { card.remove(); cards.delete(id); }
  for (const [id, list] of byNode) arrange(columns.get(id).querySelector(".tasks"), list);
  arrange(unassignedEl.querySelector(".tasks"), unassigned);
  unassignedEl.hidden = unassigned.length === 0;

  const running = snap.tasks.filter(t => t.state === "running").length;
  setText(summaryEl, `${snap.nodes.length} nodes · ${snap.services.length} services · ` +
                     `${running}/${snap.tasks.length} tasks running`);
  first = false;
}

function tick() {
  for (const card of cards.values()) {
    const since = card.dataset.since;
    setText(card.querySelector(".age"), since ? age(Number(since)) : "");
  }
}

function connect() {
  const source = new EventSource("stream");
  source.addEventListener("snapshot", e => {
    statusEl.className = "status live";
    setText(statusEl, "live");
    render(JSON.parse(e.data));
  });
  source.onerror = () => {  // EventSource reconnects by itself
    statusEl.className = "status connecting";
    setText(statusEl, "reconnecting…");
  };
}

connect();
setInterval(tick, 1000);
