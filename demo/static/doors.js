// The console's door editor: every door of the fake tenant, and a button that takes
// one offline or brings it back. Feishu sends no event for that; the bot sees it at
// its next device list read.
"use strict";

async function refreshDoors() {
  let data;
  try { data = await api("doors"); } catch (e) { toast(e.message, "error"); return; }
  const rows = $("door-rows");
  rows.replaceChildren();
  for (const d of data.doors) {
    const tr = el("tr", "dir-row");
    const name = el("td", "", d.name);
    name.title = d.id;
    const btn = el("button", "toggle " + (d.online ? "yes" : "no"), d.online ? "● online" : "○ offline");
    btn.type = "button";
    btn.addEventListener("click", () => toggleDoor(d.id));
    const tdBtn = el("td"); tdBtn.append(btn);
    tr.append(name, tdBtn, el("td", "", d.faces || "—"));
    rows.append(tr);
  }
}

async function toggleDoor(id) {
  try {
    const res = await api("doors/" + encodeURIComponent(id) + "/online", {});
    toast(res.name + " is now " + (res.online ? "online" : "offline") + "; /doors shows it after the bot's next device list read (within 5 minutes)", "success");
  } catch (e) { toast(e.message, "error"); }
  refreshDoors();
}

$("tab-directory").addEventListener("click", refreshDoors);
