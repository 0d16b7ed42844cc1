// The demo console: plays a Feishu client against the real bot. Everything the
// bot says comes from the fake Feishu's record of what it sent; cards arrive
// rendered by the server (package cardhtml), already escaped.
"use strict";

const state = { setup: null, persona: "admin", chat: "dm", shown: new Map(), inspectorLast: "", dirPage: 1, busy: false };
const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const resp = await fetch("/console/api/" + path, opts);
  const data = await resp.json().catch(() => ({ error: "HTTP " + resp.status }));
  if (!resp.ok) throw new Error(data.error || "HTTP " + resp.status);
  return data;
}

function toast(text, kind) {
  const t = $("toast");
  t.textContent = text;
  t.className = "toast " + (kind || "info");
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 3500);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function initials(name) {
  const words = name.trim().split(/\s+/);
  return words.slice(0, 2).map((w) => w[0].toUpperCase()).join("");
}

function persona() { return state.setup.personas.find((p) => p.key === state.persona); }
function chat() { return state.setup.chats.find((c) => c.key === state.chat); }
function member(c, p) { return !c.members || c.members.includes(p.key); }

const chips = {
  admin: ["who has no face photo", "谁没有门禁卡", "/stats", "/user @Li Ming", "/card 123456", "/refresh", "/subscribe 09:00", "/subscriptions", "/remind noface", "/help"],
  reader: ["who has no face photo", "谁没有人脸", "/stats", "/user @Chen Jing", "/card 123456", "help"],
  outsider: ["who has no face photo", "/stats", "help"],
};

function renderChats() {
  const list = $("chat-list");
  list.replaceChildren();
  const p = persona();
  for (const c of state.setup.chats) {
    const li = el("li", "chat", c.name);
    li.dataset.key = c.key;
    li.append(el("span", "kind", c.kind === "p2p" ? "direct chat" : (c.key === "facility" ? "group · listed in access.chats" : "group · not listed")));
    if (!member(c, p)) {
      li.classList.add("disabled");
      li.title = p.name + " is not a member of this group";
    } else {
      li.addEventListener("click", () => selectChat(c.key));
    }
    if (c.key === state.chat) li.classList.add("active");
    list.append(li);
  }
  $("role").textContent = p.name + ": " + p.role;
  const box = $("chips");
  box.replaceChildren();
  for (const text of chips[p.key]) {
    const b = el("button", "chip", text);
    b.type = "button";
    b.addEventListener("click", () => { $("composer-input").value = text; $("composer-input").focus(); });
    box.append(b);
  }
  const c = chat();
  $("chat-title").textContent = c.name;
  $("chat-kind").textContent = c.kind === "p2p" ? "· " + p.name + " and " + state.setup.bot_name : "· group: messages @-mention " + state.setup.bot_name;
}

function selectChat(key) {
  state.chat = key;
  state.shown.clear();
  $("messages").replaceChildren();
  renderChats();
  refreshTimeline();
}

function selectPersona(key) {
  state.persona = key;
  if (!member(chat(), persona())) state.chat = "dm";
  selectChat(state.chat);
}

function messageNode(item) {
  const row = el("div", "msg " + item.from);
  row.dataset.id = item.id;
  const avatar = el("div", "avatar", item.from === "bot" ? "Bot" : initials(item.name));
  const body = el("div", "body");
  const who = el("div", "who", item.name + " · " + new Date(item.at).toLocaleTimeString());
  body.append(who);
  if (item.from === "user") {
    body.append(el("div", "bubble", (chat().kind === "group" ? "@" + state.setup.bot_name + " " : "") + item.text));
  } else {
    const card = el("div", "card-host");
    card.innerHTML = item.html; // rendered and escaped by the server
    body.append(card);
    if (item.patches) body.append(el("div", "edited", "updated " + item.patches + "×"));
  }
  row.append(avatar, body);
  return row;
}

async function refreshTimeline() {
  const want = state.persona + "/" + state.chat;
  let data;
  try {
    data = await api("timeline?persona=" + encodeURIComponent(state.persona) + "&chat=" + encodeURIComponent(state.chat));
  } catch (e) {
    return; // the next poll tries again
  }
  if (want !== state.persona + "/" + state.chat) return; // switched meanwhile
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  let added = false;
  const items = data.items || [];
  if (items.length === 0 && !box.firstChild) box.append(el("p", "empty", "No messages yet. Type one below, or pick a suggestion."));
  for (const item of items) {
    const key = item.version + "/" + item.patches;
    const old = state.shown.get(item.id);
    if (old && old.key === key) continue;
    const node = messageNode(item);
    if (old) {
      old.node.replaceWith(node);
    } else {
      const empty = box.querySelector(".empty");
      if (empty) empty.remove();
      box.append(node);
      added = true;
    }
    state.shown.set(item.id, { key, node });
  }
  if (added && atBottom) box.scrollTop = box.scrollHeight;
}

async function send(ev) {
  ev.preventDefault();
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text || state.busy) return;
  state.busy = true;
  $("send").disabled = true;
  try {
    await api("say", { persona: state.persona, chat: state.chat, text });
    input.value = "";
    const box = $("messages");
    await refreshTimeline();
    box.scrollTop = box.scrollHeight;
  } catch (e) {
    toast(e.message, "error");
  } finally {
    state.busy = false;
    $("send").disabled = false;
  }
}

async function cardClick(ev) {
  const button = ev.target.closest("button[data-callback]");
  if (!button || button.disabled) return;
  const row = button.closest(".msg");
  let value;
  try {
    value = JSON.parse(button.getAttribute("data-callback"));
  } catch (e) {
    toast("This button carries no valid value", "error");
    return;
  }
  button.disabled = true;
  try {
    const res = await api("click", { persona: state.persona, chat: state.chat, message_id: row.dataset.id, value });
    if (res.toast) toast(res.toast.content, res.toast.type);
    await refreshTimeline();
  } catch (e) {
    toast(e.message, "error");
  } finally {
    button.disabled = false;
  }
}

// Inspector
async function refreshInspector() {
  if ($("pane-inspector").hidden) return;
  let data;
  try { data = await api("inspector"); } catch (e) { return; }
  const entries = data.entries || [];
  const last = entries.length ? entries[entries.length - 1].id + "/" + entries.length : "";
  if (last === state.inspectorLast) return;
  state.inspectorLast = last;
  const list = $("inspector");
  const open = new Set([...list.querySelectorAll("li.open")].map((li) => li.dataset.id));
  list.replaceChildren();
  for (const e of entries.slice().reverse()) {
    const li = el("li");
    li.dataset.id = e.id;
    const line = el("div", "line");
    const pushed = e.kind === "frame" && e.status === 0; // a push has no status of its own
    const status = el("span", "status" + (e.status >= 400 || (e.status === 0 && !pushed) || e.code ? " bad" : ""), String(e.status || "-") + (e.code ? " code " + e.code : ""));
    line.append(el("span", "badge " + e.kind, e.kind), el("span", "title", e.title), status);
    line.addEventListener("click", () => toggleEntry(li));
    li.append(line);
    list.append(li);
    if (open.has(e.id)) toggleEntry(li);
  }
}

async function toggleEntry(li) {
  const detail = li.querySelector(".detail");
  if (detail) { detail.remove(); li.classList.remove("open"); return; }
  li.classList.add("open");
  const box = el("div", "detail");
  li.append(box);
  try {
    const e = await api("inspector/" + encodeURIComponent(li.dataset.id));
    for (const [label, text] of [["request", e.request], ["on the wire (signed, encrypted)", e.wire], ["response", e.response]]) {
      if (!text) continue;
      box.append(el("h4", "", label), el("pre", "", text));
    }
  } catch (err) {
    box.append(el("p", "muted", err.message));
  }
}

// Directory
async function refreshDirectory() {
  const q = $("dir-search").value;
  const filter = $("dir-filter").value;
  let data;
  try {
    data = await api("directory?q=" + encodeURIComponent(q) + "&filter=" + filter + "&page=" + state.dirPage);
  } catch (e) { toast(e.message, "error"); return; }
  state.dirPage = data.page;
  $("dir-counts").textContent = data.total + " people in access control · " + data.no_face + " without a face photo · " + data.no_card + " without a card";
  $("dir-page").textContent = data.page + " / " + data.pages + " (" + data.matched + ")";
  const rows = $("dir-rows");
  rows.replaceChildren();
  for (const r of data.rows) {
    const tr = el("tr", "dir-row");
    tr.dataset.id = r.id;
    const name = el("td", "", r.name || r.id);
    name.title = r.id;
    const face = el("button", "toggle toggle-face " + (r.face ? "yes" : "no"), r.face ? "✓ uploaded" : "✗ missing");
    face.type = "button";
    face.addEventListener("click", () => toggle(r.id, "face"));
    const card = el("button", "toggle toggle-card " + (r.card ? "yes" : "no"), r.card ? String(r.card) : "none");
    card.type = "button";
    card.addEventListener("click", () => toggle(r.id, "card"));
    const tdFace = el("td"); tdFace.append(face);
    const tdCard = el("td"); tdCard.append(card);
    tr.append(name, tdFace, tdCard);
    rows.append(tr);
  }
}

async function toggle(id, field) {
  try {
    const res = await api("directory/" + encodeURIComponent(id) + "/" + field, {});
    const p = res.person;
    toast((p.name || p.id) + ": face photo " + (p.face ? "uploaded" : "missing") + ", card " + (p.card || "none") + " (acs.user.updated_v1 sent)", "success");
  } catch (e) { toast(e.message, "error"); }
  refreshDirectory();
}

function showPane(name) {
  for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t.dataset.pane === name);
  $("pane-inspector").hidden = name !== "inspector";
  $("pane-directory").hidden = name !== "directory";
  if (name === "directory") refreshDirectory(); else { state.inspectorLast = ""; refreshInspector(); }
}

async function runSummary() {
  const b = $("run-summary");
  b.disabled = true;
  try {
    const res = await api("summary", {});
    toast(res.note, res.sent ? "success" : "info");
    refreshTimeline();
  } catch (e) { toast(e.message, "error"); } finally { b.disabled = false; }
}

async function main() {
  state.setup = await api("setup");
  const sel = $("persona");
  for (const p of state.setup.personas) {
    const o = el("option", "", p.name + " (" + p.key + ")");
    o.value = p.key;
    sel.append(o);
  }
  sel.value = state.persona;
  sel.addEventListener("change", () => selectPersona(sel.value));
  $("composer").addEventListener("submit", send);
  $("messages").addEventListener("click", cardClick);
  $("run-summary").addEventListener("click", runSummary);
  for (const t of document.querySelectorAll(".tab")) t.addEventListener("click", () => showPane(t.dataset.pane));
  let searchTimer;
  $("dir-search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => { state.dirPage = 1; refreshDirectory(); }, 250); });
  $("dir-filter").addEventListener("change", () => { state.dirPage = 1; refreshDirectory(); });
  $("dir-prev").addEventListener("click", () => { state.dirPage--; refreshDirectory(); });
  $("dir-next").addEventListener("click", () => { state.dirPage++; refreshDirectory(); });
  selectChat(state.chat);
  setInterval(refreshTimeline, 700);
  setInterval(refreshInspector, 1500);
  refreshInspector();
}

main().catch((e) => toast("The console could not start: " + e.message, "error"));
