package e2etest

import (
	"strings"
	"testing"
)

// TestSetupQueriesBothClients runs the discovery queries of [C] do_setup
// (mcs-cli.md §7.1) and [G] attach/capacity (§4.1, §6.7, §6.10) over SSH and
// checks each answer parses the way that client parses it.
func TestSetupQueriesBothClients(t *testing.T) {
	e := startEmu(t, t.TempDir(), "--preset", "two-site")
	c := e.dial()

	sys := sections(mustOK(t, c, "mcsinq lssystem -delim !"))
	if len(sys) != 1 || sys[0]["name"] != "mcs-emu" {
		t.Fatalf("lssystem %+v", sys)
	}
	lic := sections(mustOK(t, c, "mcsinq lslicense -delim !"))[0]
	if _, ok := lic["license_compression_enclosures"]; !ok {
		t.Fatalf("lslicense %+v", lic)
	}
	if g := sections(mustOK(t, c, "mcsinq lsguicapabilities -delim !"))[0]; g["compression"] == "" {
		t.Fatalf("lsguicapabilities lacks compression (§4.1): %+v", g)
	}
	iogrps := rows(t, mustOK(t, c, "mcsinq lsiogrp -delim !"))
	sites := map[string]string{}
	for _, g := range iogrps {
		if g["node_count"] == "" || g["vdisk_count"] == "" {
			t.Fatalf("lsiogrp row %+v", g)
		}
		sites[g["name"]] = g["site_name"]
	}
	if sites["io_grp0"] == "" || sites["io_grp1"] == "" || sites["io_grp0"] == sites["io_grp1"] {
		t.Fatalf("two-site I/O groups need distinct site_name: %v", sites)
	}
	nodes := rows(t, mustOK(t, c, "mcsinq lsnode -delim !"))
	if len(nodes) != 4 {
		t.Fatalf("lsnode %d rows", len(nodes))
	}
	for _, n := range nodes {
		if n["status"] != "online" || !strings.HasPrefix(n["iscsi_name"], "iqn.2004-12.com.inspur:mcs.") || n["WWNN"] == "" {
			t.Fatalf("lsnode row %+v", n)
		}
		fc := rows(t, mustOK(t, c, "mcsinq lsportfc -delim ! -filtervalue node_id="+n["id"]))
		if len(fc) == 0 {
			t.Fatalf("no FC ports for node %s", n["id"])
		}
		for _, p := range fc {
			if p["node_id"] != n["id"] {
				t.Fatalf("lsportfc filter node_id=%s returned %+v", n["id"], p)
			}
		}
	}
	usable := 0
	for _, p := range rows(t, mustOK(t, c, "mcsinq lsportip -delim !")) {
		// [G]'s rule (§4.1).
		if ((p["state"] == "configured" && p["link_state"] == "active") || p["state"] == "online") && p["IP_address"] != "" {
			usable++
		}
	}
	if usable < 4 {
		t.Fatalf("%d usable iSCSI ports, want one per node", usable)
	}
	pool := sections(mustOK(t, c, `mcsinq lsmdiskgrp -bytes -delim ! "Pool0"`))[0]
	if pool["name"] != "Pool0" || pool["capacity"] == "" || pool["free_capacity"] == "" || pool["virtual_capacity"] == "" {
		t.Fatalf("lsmdiskgrp detail %+v", pool)
	}
	pl := rows(t, mustOK(t, c, "mcsinq lsmdiskgrp -bytes -delim ! -filtervalue name=Pool0"))
	if len(pl) != 1 || pl[0]["free_capacity"] != pool["free_capacity"] {
		t.Fatalf("lsmdiskgrp list %+v vs detail %+v", pl, pool)
	}
	step{"mcsinq lsmdiskgrp -bytes -delim ! -filtervalue name=NoSuchPool", "", "", 0}.check(t, c)
	step{`mcsinq lsmdiskgrp -bytes -delim ! "NoSuchPool"`, "", notFound5754, 1}.check(t, c)
}

// TestActiveActiveVolumeGoClient: [G]'s mkvolume/rmvolume (§4.4) with the
// object set its later operations depend on.
func TestActiveActiveVolumeGoClient(t *testing.T) {
	e := startEmu(t, t.TempDir(), "--preset", "two-site")
	c := e.dial()
	r := run(t, c, "mcsop mkvolume -name vol-001 -size 10 -unit gb -pool Pool0:Pool1 -iogrp 0:1")
	if r.Status != 0 || r.Stderr != "" || !createdRE.MatchString(r.Stdout) {
		t.Fatalf("mkvolume: %+v", r)
	}
	masterID := itoa(createdID(t, r.Stdout))
	vs := rows(t, mustOK(t, c, "mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=vol-001"))
	funcs := map[string]map[string]string{}
	for _, v := range vs {
		funcs[v["function"]] = v
		if v["volume_id"] != masterID {
			t.Fatalf("volume_id %s, want master id %s: %+v", v["volume_id"], masterID, v)
		}
	}
	if len(vs) != 4 || funcs["master"]["name"] != "vol-001" || funcs["aux"] == nil || funcs["master_change"] == nil || funcs["aux_change"] == nil {
		t.Fatalf("mkvolume rows %+v", vs)
	}
	if funcs["master"]["lc_map_count"] != "2" || funcs["aux"]["lc_map_count"] != "2" || funcs["master"]["RC_id"] != masterID {
		t.Fatalf("master/aux need lc_map_count 2 and RC_id = master id: %+v / %+v", funcs["master"], funcs["aux"])
	}
	if n := len(rows(t, mustOK(t, c, "mcsinq lslcmap -delim ! -filtervalue source_vdisk_name=vol-001"))); n != 1 {
		t.Fatalf("lslcmap source_vdisk_name=vol-001: %d rows, want 1", n)
	}
	step{"mcsop rmvolume -removehostmappings -removercrelationships -removelcmaps -discardimage -cancelbackup vol-001", "", "", 0}.check(t, c)
	step{"mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=vol-001", "", "", 0}.check(t, c)
	step{"mcsinq lsvdisk -bytes -delim !", "", "", 0}.check(t, c)
}
