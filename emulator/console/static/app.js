// Read-only live view: polls /api/state and re-renders. No framework, no build.
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c]));
function bytes(n) {
  n = Number(n); if (!isFinite(n)) return "";
  const u = ["B","KiB","MiB","GiB","TiB","PiB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(n < 10 ? 2 : 1) : n) + " " + u[i];
}
function statusCls(s) { return s === "online" || s === "active" || s === "consistent_synchronized" || s === "copying" || s === "idle_or_copied" ? "ok" : (s === "offline" || s === "inactive" ? "bad" : "warn"); }
function table(rows, cols, empty) {
  if (!rows || rows.length === 0) return `<p class="empty">${esc(empty || "none")}</p>`;
  let h = "<table><thead><tr>" + cols.map((c) => `<th>${esc(c[0])}</th>`).join("") + "</tr></thead><tbody>";
  for (const r of rows) h += "<tr>" + cols.map((c) => `<td class="${c[2] || ""}">${c[1](r)}</td>`).join("") + "</tr>";
  return h + "</tbody></table>";
}
function render(st) {
  const sys = st.system || {};
  $("sys-name").textContent = sys.name || "MCS emulator";
  $("sys-detail").textContent = [sys.id && ("id " + sys.id), sys.code_level && ("code " + sys.code_level)].filter(Boolean).join(" · ");
  $("pools").innerHTML = (st.pools || []).map((p) => {
    const cap = Number(p.capacity) || 1, free = Number(p.free_capacity) || 0, virt = Number(p.virtual_capacity) || 0;
    const usedPct = Math.min(100, 100 * (cap - free) / cap), virtPct = Math.min(100, 100 * virt / cap);
    return `<div class="pool" data-pool="${esc(p.name)}"><span class="name">${esc(p.name)}</span> <span class="${statusCls(p.status)}">${esc(p.status)}</span>
      · ${esc(p.vdisk_count)} vdisks · capacity ${bytes(cap)} · free ${bytes(free)} · virtual ${bytes(virt)} (${esc(p.overallocation)}%)
      <div class="bar" title="real allocation"><div class="virt" style="width:${virtPct}%"></div><div class="used" style="width:${usedPct}%"></div>
      <span class="label">${usedPct.toFixed(1)}% allocated</span></div></div>`;
  }).join("") || `<p class="empty">no pools</p>`;
  $("topology").innerHTML = table(st.nodes, [
    ["node", (r) => esc(r.name)], ["status", (r) => `<span class="${statusCls(r.status)}">${esc(r.status)}</span>`],
    ["I/O group", (r) => esc(r.IO_group_name)], ["site", (r) => esc(r.site_name)], ["target IQN", (r) => `<span class="mono">${esc(r.iscsi_name)}</span>`],
    ["portals", (r) => esc((st.portips || []).filter((p) => p.node_id === r.id && p.IP_address).map((p) => p.IP_address).join(", "))],
  ], "no nodes");
  $("vdisk-count").textContent = st.vdiskTotal > (st.vdisks || []).length ? `(${st.vdisks.length} of ${st.vdiskTotal})` : `(${st.vdiskTotal})`;
  $("vdisks").innerHTML = table(st.vdisks, [
    ["id", (r) => esc(r.id), "num"], ["name", (r) => esc(r.name)], ["UID", (r) => `<span class="mono">${esc(r.vdisk_UID)}</span>`],
    ["capacity", (r) => bytes(r.capacity), "num"],
    ["kind", (r) => (Number(r.compressed_copy_count) > 0 ? `<span class="tag">compressed</span>` : Number(r.se_copy_count) > 0 ? `<span class="tag">thin</span>` : `<span class="tag">thick</span>`) + (Number(r.copy_count) > 1 ? `<span class="tag">${esc(r.copy_count)} copies</span>` : "")],
    ["pool", (r) => esc(r.mdisk_grp_name)], ["I/O group", (r) => esc(r.IO_group_name)],
    ["volume", (r) => esc(r.volume_name) + (r.function ? ` <span class="tag">${esc(r.function)}</span>` : "")],
    ["LC maps", (r) => esc(r.lc_map_count), "num"], ["RC", (r) => esc(r.RC_name)],
    ["status", (r) => `<span class="${statusCls(r.status)}">${esc(r.status)}</span>`],
  ], "no vdisks");
  $("hosts").innerHTML = table(st.hosts, [
    ["id", (r) => esc(r.row.id), "num"], ["name", (r) => esc(r.row.name)], ["status", (r) => `<span class="${statusCls(r.row.status)}">${esc(r.row.status)}</span>`],
    ["site", (r) => esc(r.row.site_name)], ["ports", (r) => [...(r.iqns || []), ...(r.wwpns || [])].map((p) => `<div class="mono">${esc(p)}</div>`).join("")],
  ], "no hosts");
  $("hostmaps").innerHTML = table(st.hostmaps, [
    ["host", (r) => esc(r.name)], ["LUN", (r) => esc(r.SCSI_id), "num"], ["vdisk", (r) => esc(r.vdisk_name)],
    ["vdisk UID", (r) => `<span class="mono">${esc(r.vdisk_UID)}</span>`], ["I/O group", (r) => esc(r.IO_group_name)],
  ], "no mappings");
  $("lcmaps").innerHTML = table(st.lcmaps, [
    ["id", (r) => esc(r.id), "num"], ["source", (r) => esc(r.source_vdisk_name)], ["target", (r) => esc(r.target_vdisk_name)],
    ["status", (r) => `<span class="${statusCls(r.status)}">${esc(r.status)}</span>`],
    ["progress", (r) => `<span class="progress"><span style="width:${Number(r.progress) || 0}%"></span></span> ${esc(r.progress)}%`],
    ["rate", (r) => esc(r.copy_rate), "num"], ["started", (r) => esc(r.start_time)], ["rc", (r) => esc(r.rc_controlled)],
  ], "no LocalCopy maps");
  $("rcrels").innerHTML = table(st.rcrels, [
    ["id", (r) => esc(r.id), "num"], ["name", (r) => esc(r.name)], ["master", (r) => esc(r.master_vdisk_name)], ["aux", (r) => esc(r.aux_vdisk_name)],
    ["type", (r) => esc(r.copy_type)], ["state", (r) => `<span class="${statusCls(r.state)}">${esc(r.state)}</span>`],
  ], "no relationships");
  $("sessions").innerHTML = table(st.sessions, [
    ["portal", (r) => esc(r.portal)], ["target", (r) => `<span class="mono">${esc(r.target)}</span>`],
    ["initiator", (r) => `<span class="mono">${esc(r.initiator)}</span>`], ["from", (r) => esc(r.remote)], ["since", (r) => esc(r.since)],
  ], "no iSCSI sessions");
  $("commands").innerHTML = table(st.commands, [
    ["time", (r) => esc((r.time || "").replace("T", " ").replace(/\.\d+Z$/, "Z"))], ["user", (r) => esc(r.user)],
    ["command", (r) => `<span class="mono">${esc(r.command)}</span>`], ["latency", (r) => Number(r.latencyMs).toFixed(2) + " ms", "num"],
    ["result", (r) => r.exit === 0 ? `<span class="ok">ok</span>` : `<span class="bad">${esc(r.error || ("exit " + r.exit))}</span>`],
  ], "no commands yet");
}
async function tick() {
  try {
    const res = await fetch("api/state", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const st = await res.json();
    render(st);
    $("status").textContent = "live · " + new Date().toLocaleTimeString();
    $("status").classList.remove("stale");
    document.body.dataset.loaded = "true";
  } catch (e) {
    $("status").textContent = "disconnected: " + e.message;
    $("status").classList.add("stale");
  }
}
tick();
setInterval(tick, 2000);
