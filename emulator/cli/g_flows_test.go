package cli

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// The Go driver's ([G]) command lines, from mcs-cli.md §6 and §12.

const vdiskHdr = "id!name!IO_group_id!IO_group_name!status!mdisk_grp_id!mdisk_grp_name!capacity!type!LC_id!LC_name!RC_id!RC_name!vdisk_UID!lc_map_count!copy_count!fast_write_state!se_copy_count!RC_change!compressed_copy_count!parent_mdisk_grp_id!parent_mdisk_grp_name!formatting!encrypt!volume_id!volume_name!function!ica!ica_bypass!ica_pid\n"

func TestG_BasicISCSIAttach_Transcript(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	for i := 0; i < 3; i++ { // ids 0..2 so pvc-1 gets id 3 as in §12
		r.ok(fmt.Sprintf("mcsop mkvdisk -name filler%d -size 1 -unit gb -mdiskgrp Pool0 -intier off", i))
	}
	if got := r.ok("mcsop mkvdisk -name pvc-1 -size 10 -unit gb -mdiskgrp Pool0 -intier off"); got != "Virtual Disk, id [3], successfully created\n" {
		t.Fatalf("mkvdisk: %q", got)
	}
	if out := r.ok("mcsinq lshost -delim !"); out != "" {
		t.Fatalf("no hosts must print nothing, got %q", out)
	}
	r.fail("mcsinq lshost -delim ! iscsi-k8s-n1", "CMMVC5754E")
	_, stderr, _ := r.run("mcsinq lshost -delim ! iscsi-k8s-n1")
	if stderr != "CMMVC5754E The specified object does not exist, or the name supplied does not meet the naming rules.\n" {
		t.Fatalf("stderr %q", stderr)
	}
	uid := "6005076064A0E1D50000000000000004" // 6005076 + cluster id[7:] + serial 4
	want := vdiskHdr + "3!pvc-1!0!io_grp0!online!0!Pool0!10737418240!striped!!!!!" + uid + "!0!1!empty!0!no!0!0!Pool0!no!no!3!pvc-1!!off!off!\n"
	if got := r.ok("mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=pvc-1"); got != want {
		t.Fatalf("lsvdisk:\n got %q\nwant %q", got, want)
	}
	if got := r.ok("mcsop mkhost -force -iscsiname iqn.1994-05.com.redhat:n1 -name iscsi-k8s-n1"); got != "Host, id [0], successfully created\n" {
		t.Fatalf("mkhost: %q", got)
	}
	if out := r.ok("mcsinq lsvdiskhostmap -delim ! pvc-1"); out != "" {
		t.Fatalf("unmapped: %q", out)
	}
	if got := r.ok("mcsop mkvdiskhostmap -force -host iscsi-k8s-n1 pvc-1"); got != "Virtual Disk to Host map, id [0], successfully created\n" {
		t.Fatalf("mkvdiskhostmap: %q", got)
	}
	want = "id!name!SCSI_id!host_id!host_name!vdisk_UID!IO_group_id!IO_group_name\n3!pvc-1!0!0!iscsi-k8s-n1!" + uid + "!0!io_grp0\n"
	if got := r.ok("mcsinq lsvdiskhostmap -delim ! pvc-1"); got != want {
		t.Fatalf("lsvdiskhostmap:\n got %q\nwant %q", got, want)
	}
	// Usable portals: configured+active rows joined with online nodes (§4.1).
	var portals []string
	nodes := map[string]map[string]string{}
	for _, n := range rows(t, r.ok("mcsinq lsnode -delim !")) {
		nodes[n["id"]] = n
	}
	for _, p := range rows(t, r.ok("mcsinq lsportip -delim !")) {
		n := nodes[p["node_id"]]
		if ((p["state"] == "configured" && p["link_state"] == "active") || p["state"] == "online") && p["IP_address"] != "" && n["status"] == "online" {
			portals = append(portals, p["IP_address"]+":3260 "+n["iscsi_name"])
		}
	}
	wantPortals := []string{"127.0.0.1:3260 iqn.2004-12.com.inspur:mcs.mcs-emu.node1", "127.0.0.2:3260 iqn.2004-12.com.inspur:mcs.mcs-emu.node2"}
	if strings.Join(portals, ",") != strings.Join(wantPortals, ",") {
		t.Fatalf("portals %q", portals)
	}
	// The iSCSI target's view agrees with the CLI.
	luns := r.a.LUNsFor("iqn.1994-05.com.redhat:n1", "node2")
	if len(luns) != 1 || luns[0].LUN != 0 || luns[0].UID != uid || luns[0].CapacityBytes != 10<<30 {
		t.Fatalf("LUNsFor: %+v", luns)
	}
	// Detach: unmap, then the host goes when nothing is left (§6.8).
	if out := r.ok("mcsop rmvdiskhostmap -host iscsi-k8s-n1 pvc-1"); out != "" {
		t.Fatalf("rmvdiskhostmap printed %q", out)
	}
	if out := r.ok("mcsinq lshostvdiskmap -delim ! iscsi-k8s-n1"); out != "" {
		t.Fatalf("lshostvdiskmap: %q", out)
	}
	r.ok("mcsop rmhost iscsi-k8s-n1")
	if len(r.a.LUNsFor("iqn.1994-05.com.redhat:n1", "node2")) != 0 {
		t.Fatal("LUN still visible after unmap")
	}
}

func TestG_DetailView_SectionsPerCopy(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.ok("mcsop mkvdisk -name vol-001 -size 10 -unit gb -mdiskgrp Pool0 -iogrp 0 -rsize 20% -warning 80% -autoexpand -grainsize 256 -intier off")
	r.ok("mcsop mkvdisk -name vol-002 -size 10 -unit gb -copies 2 -mdiskgrp Pool0:Pool1 -accessiogrp 0 -iogrp 0 -intier off")
	one := r.ok("mcsinq lsvdisk -bytes -delim ! vol-001")
	if strings.Contains(one, "\n\n\n") || !strings.HasSuffix(one, "\n") || strings.HasSuffix(one, "\n\n") {
		t.Fatalf("bad blank lines: %q", one)
	}
	s := sections(one)
	if len(s) != 2 || s[0]["IO_group_name"] != "io_grp0" || s[0]["capacity"] != "10737418240" || s[1]["mdisk_grp_id"] != "0" {
		t.Fatalf("1 copy: %d sections %v", len(s), s)
	}
	for _, k := range []string{"id", "name", "IO_group_id", "IO_group_name", "capacity", "mdisk_grp_name", "RC_name", "preferred_node_id", "vdisk_UID"} {
		if _, ok := s[0][k]; !ok {
			t.Fatalf("section 0 lacks %s (Cinder reads it)", k)
		}
	}
	if s[1]["autoexpand"] != "on" || s[1]["warning"] != "80" || s[1]["grainsize"] != "256" || s[1]["real_capacity"] != "2147483648" {
		t.Fatalf("thin copy: %v", s[1])
	}
	s = sections(r.ok("mcsinq lsvdisk -bytes -delim ! vol-002"))
	if len(s) != 3 || s[0]["mdisk_grp_name"] != "many" || s[1]["mdisk_grp_name"] != "Pool0" || s[2]["mdisk_grp_name"] != "Pool1" {
		t.Fatalf("2 copies: %d sections %v", len(s), s)
	}
	if s[1]["autoexpand"] != "" || s[1]["grainsize"] != "" || s[2]["sync"] != "no" || s[2]["primary"] != "no" {
		t.Fatalf("thick/mirror copy fields: %v %v", s[1], s[2])
	}
	r.clock.Add(3 * time.Second)
	if s = sections(r.ok("mcsinq lsvdisk -bytes -delim ! vol-002")); s[2]["sync"] != "yes" {
		t.Fatalf("mirror copy must sync with time: %v", s[2])
	}
	r.fail("mcsinq lsvdisk -bytes -delim ! nope", "CMMVC5754E")
}

func TestG_SnapshotCloneDelete(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.ok("mcsop mkvdisk -name pvc-1 -size 10 -unit gb -mdiskgrp Pool0 -intier off")
	// §6.4 CreateSnapshot.
	if out := r.ok("mcsinq lslcmap -delim ! -filtervalue target_vdisk_name=snapshot-9"); out != "" {
		t.Fatalf("no map yet: %q", out)
	}
	if n := len(rows(t, r.ok("mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=pvc-1"))); n != 1 {
		t.Fatalf("volume_name rows %d", n)
	}
	s := sections(r.ok("mcsinq lsvdisk -bytes -delim ! pvc-1"))
	cmd := fmt.Sprintf("mcsop mkvdisk -name snapshot-9 -size 10 -unit gb -mdiskgrp %s -iogrp %s -rsize 0%% -autoexpand -intier on", s[1]["mdisk_grp_id"], s[0]["IO_group_name"])
	if got := r.ok(cmd); got != "Virtual Disk, id [1], successfully created\n" {
		t.Fatalf("%q", got)
	}
	if got := r.ok("mcsop mklcmap -copyrate 0 -cleanrate 0 -source pvc-1 -target snapshot-9"); got != "LocalCopy Mapping, id [0], successfully created\n" {
		t.Fatalf("%q", got)
	}
	if out := r.ok("mcsop startlcmap -prep 0"); out != "" {
		t.Fatalf("startlcmap printed %q", out)
	}
	want := "id!name!source_vdisk_id!source_vdisk_name!target_vdisk_id!target_vdisk_name!group_id!group_name!status!progress!copy_rate!clean_progress!incremental!partner_FC_id!partner_FC_name!restoring!start_time!rc_controlled\n" +
		"0!lcmap0!0!pvc-1!1!snapshot-9!!!copying!0!0!100!off!!!no!240611093015!no\n"
	if got := r.ok("mcsinq lslcmap -delim ! -filtervalue target_vdisk_name=snapshot-9"); got != want {
		t.Fatalf("lslcmap:\n got %q\nwant %q", got, want)
	}
	// A snapshot map copies nothing in the background: still copying a day later.
	r.clock.Add(24 * time.Hour)
	if m := rows(t, r.ok("mcsinq lslcmap -delim ! -filtervalue source_vdisk_name=pvc-1")); m[0]["status"] != "copying" || m[0]["progress"] != "0" {
		t.Fatalf("snapshot map: %v", m)
	}
	// §6.6: the source cannot go while the snapshot exists (client check), and
	// rmvdisk without -force is refused by the array (Cinder relies on it).
	r.fail("mcsop rmvdisk pvc-1", "CMMVC5840E")

	// §6.3 clone from the snapshot: copyrate 100, autodelete, -prep.
	r.ok("mcsop mkvdisk -name pvc-2 -size 10 -unit gb -mdiskgrp Pool0 -intier off")
	if got := r.ok("mcsop mklcmap -copyrate 100 -cleanrate 100 -source snapshot-9 -target pvc-2 -autodelete"); got != "LocalCopy Mapping, id [1], successfully created\n" {
		t.Fatalf("%q", got)
	}
	r.ok("mcsop startlcmap -prep 1")
	// 10 GiB at 64 MiB/s × 64 (default scale) = 2.5 s.
	r.clock.Add(time.Second)
	m := rows(t, r.ok("mcsinq lslcmap -delim ! -filtervalue id=1"))
	if len(m) != 1 || m[0]["status"] != "copying" || m[0]["progress"] != "40" {
		t.Fatalf("clone after 1s: %v", m)
	}
	r.clock.Add(2 * time.Second)
	if out := r.ok("mcsinq lslcmap -delim ! -filtervalue id=1"); out != "" {
		t.Fatalf("clone map must auto-delete when copied: %q", out)
	}
	// §6.5 DeleteSnapshot: no source maps left, stop -force, rmlcmap -force, rmvdisk -force.
	if out := r.ok("mcsinq lslcmap -delim ! -filtervalue source_vdisk_name=snapshot-9"); out != "" {
		t.Fatalf("%q", out)
	}
	r.ok("mcsop stoplcmap -force 0")
	if m := rows(t, r.ok("mcsinq lslcmap -delim ! -filtervalue target_vdisk_name=snapshot-9")); m[0]["status"] != "stopped" {
		t.Fatalf("after stop: %v", m)
	}
	r.ok("mcsop rmlcmap -force 0")
	r.ok("mcsop rmvdisk -force snapshot-9")
	r.ok("mcsop rmvdisk -force pvc-1")
	if n := len(rows(t, r.ok("mcsinq lsvdisk -bytes -delim !"))); n != 1 {
		t.Fatalf("only pvc-2 must remain, %d rows", n)
	}
}

func TestG_ForceDeleteCascades(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.ok("mcsop mkvdisk -name src -size 1 -unit gb -mdiskgrp Pool0")
	r.ok("mcsop mkvdisk -name dst -size 1 -unit gb -mdiskgrp Pool0")
	r.ok("mcsop mkhost -force -iscsiname iqn.2000-01.com.example:h1 -name h1")
	r.ok("mcsop mkvdiskhostmap -force -host h1 dst")
	r.ok("mcsop mklcmap -copyrate 1 -cleanrate 100 -source src -target dst -autodelete")
	r.ok("mcsop startlcmap -prep 0")
	r.fail("mcsop rmvdisk dst", "CMMVC5840E")
	r.ok("mcsop rmvdisk -force dst")
	if out := r.ok("mcsinq lslcmap -delim !"); out != "" {
		t.Fatalf("lcmap must cascade: %q", out)
	}
	if out := r.ok("mcsinq lshostvdiskmap -delim ! h1"); out != "" {
		t.Fatalf("mapping must cascade: %q", out)
	}
	if s := sections(r.ok("mcsinq lsvdisk -bytes -delim ! src")); s[0]["lc_map_count"] != "0" {
		t.Fatalf("lc_map_count %v", s[0]["lc_map_count"])
	}
	r.ok("mcsop rmhost h1")
}

func TestG_BasicExtend(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.ok("mcsop mkvdisk -name pvc-1 -size 1 -unit gb -mdiskgrp Pool0 -intier off")
	p := rows(t, r.ok("mcsinq lsmdiskgrp -bytes -delim ! -filtervalue name=Pool0"))
	if len(p) != 1 || p[0]["free_capacity"] != fmt.Sprint(int64(1<<40)-1<<30) {
		t.Fatalf("pool: %v", p)
	}
	if out := r.ok("mcsop expandvdisksize -size 2 -unit gb pvc-1"); out != "" {
		t.Fatalf("%q", out)
	}
	v := rows(t, r.ok("mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=pvc-1"))
	if v[0]["capacity"] != fmt.Sprint(3<<30) {
		t.Fatalf("capacity %v", v[0]["capacity"])
	}
	p = rows(t, r.ok("mcsinq lsmdiskgrp -bytes -delim ! -filtervalue name=Pool0"))
	if p[0]["free_capacity"] != fmt.Sprint(int64(1<<40)-3<<30) || p[0]["virtual_capacity"] != fmt.Sprint(3<<30) {
		t.Fatalf("thick extend must allocate: %v", p)
	}
	// Pool exhaustion (fault hook) is the array's error, not a crash.
	if err := r.a.SetPoolFree("Pool0", 1<<30); err != nil {
		t.Fatal(err)
	}
	r.fail("mcsop expandvdisksize -size 2 -unit gb pvc-1", "CMMVC5860E")
	r.fail("mcsop mkvdisk -name big -size 2 -unit gb -mdiskgrp Pool0", "CMMVC5860E")
	r.ok("mcsop mkvdisk -name thin -size 100 -unit gb -mdiskgrp Pool0 -rsize 0% -autoexpand")
	r.a.SetPoolFree("Pool0", -1)
	r.ok("mcsop expandvdisksize -size 2 -unit gb pvc-1")
}

func TestG_ActiveActiveCreateAndNineStepExpand(t *testing.T) {
	r := newRig(t, model.TwoSiteTopology())
	if got := r.ok("mcsop mkvolume -name vol-aa -size 10 -unit gb -pool Pool0:Pool1 -iogrp 0:1 -buffersize 20% -warning 80% -thin -grainsize 256"); !strings.Contains(got, "[0], successfully created") {
		t.Fatalf("mkvolume: %q", got)
	}
	vs := rows(t, r.ok("mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=vol-aa"))
	if len(vs) != 4 {
		t.Fatalf("aa volume must be 4 rows, got %d", len(vs))
	}
	by := map[string]map[string]string{}
	for _, v := range vs {
		by[v["function"]] = v
		if v["volume_id"] != "0" || v["volume_name"] != "vol-aa" {
			t.Fatalf("tagging: %v", v)
		}
	}
	master, aux, mcv, acv := by["master"], by["aux"], by["master_change"], by["aux_change"]
	if master["name"] != "vol-aa" || aux == nil || mcv == nil || acv == nil {
		t.Fatalf("functions: %v", by)
	}
	if master["lc_map_count"] != "2" || aux["lc_map_count"] != "2" || master["RC_id"] != "0" || aux["IO_group_name"] != "io_grp1" {
		t.Fatalf("master/aux: %v %v", master, aux)
	}
	if n := len(rows(t, r.ok("mcsinq lslcmap -delim ! -filtervalue source_vdisk_name=vol-aa"))); n != 1 {
		t.Fatalf("source maps of master: %d", n)
	}
	// Site of the master's I/O group for mkhost -site (§6.7).
	site := ""
	for _, g := range rows(t, r.ok("mcsinq lsiogrp -delim !")) {
		if g["name"] == master["IO_group_name"] {
			site = g["site_name"]
		}
	}
	r.ok("mcsop mkhost -force -iscsiname iqn.1994-05.com.redhat:n1 -name iscsi-n1 -site " + site)
	r.ok("mcsop mkvdiskhostmap -force -host iscsi-n1 vol-aa")
	hm := rows(t, r.ok("mcsinq lsvdiskhostmap -delim ! vol-aa"))
	if len(hm) != 2 || hm[0]["IO_group_id"] != "0" || hm[1]["IO_group_id"] != "1" || hm[0]["SCSI_id"] != hm[1]["SCSI_id"] {
		t.Fatalf("aa mapping rows per I/O group: %v", hm)
	}
	if len(r.a.LUNsFor("iqn.1994-05.com.redhat:n1", "node3")) != 1 {
		t.Fatal("aa master must be reachable through the second site")
	}

	// §6.9 pre-checks, then the nine steps exactly as [G] sends them.
	cluster := sections(r.ok("mcsinq lssystem -delim !"))[0]["name"]
	steps := []string{
		"mcsop rmrcrelationship 0",
		"mcsop expandvdisksize -size 1 -unit gb vol-aa",
		"mcsop expandvdisksize -size 1 -unit gb " + aux["name"],
		"mcsop expandvdisksize -size 1 -unit gb " + mcv["name"],
		"mcsop expandvdisksize -size 1 -unit gb " + acv["name"],
		"mcsop mkrcrelationship -master vol-aa -aux " + aux["name"] + " -cluster " + cluster + " -sync -activeactive",
		"mcsop addvdiskaccess -iogrp " + aux["IO_group_name"] + " vol-aa",
		"mcsop chrcrelationship -masterchange " + mcv["name"] + " 0",
		"mcsop chrcrelationship -auxchange " + acv["name"] + " 0",
	}
	for i, s := range steps {
		out := r.ok(s)
		if i == 5 {
			if out != "RC Relationship, id [0], successfully created\n" {
				t.Fatalf("step 6: %q", out)
			}
		} else if out != "" {
			t.Fatalf("step %d printed %q", i+1, out)
		}
	}
	vs = rows(t, r.ok("mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=vol-aa"))
	if len(vs) != 4 {
		t.Fatalf("after expand: %d rows", len(vs))
	}
	for _, v := range vs {
		if v["capacity"] != fmt.Sprint(11<<30) {
			t.Fatalf("capacity not grown: %v", v)
		}
		if (v["function"] == "master" || v["function"] == "aux") && v["lc_map_count"] != "2" {
			t.Fatalf("lc_map_count must be back to 2: %v", v)
		}
	}
	rc := rows(t, r.ok("mcsinq lsrcrelationship -delim ! -filtervalue name=rcrel0"))
	if len(rc) != 1 || rc[0]["state"] != "consistent_synchronized" || rc[0]["copy_type"] != "activeactive" {
		t.Fatalf("rc: %v", rc)
	}
	// §6.6 delete: rmvolume with all five flags removes everything.
	r.fail("mcsop rmvolume vol-aa", "CMMVC5840E")
	r.ok("mcsop rmvolume -removehostmappings -removercrelationships -removelcmaps -discardimage -cancelbackup vol-aa")
	for _, l := range []string{"mcsinq lsvdisk -bytes -delim !", "mcsinq lslcmap -delim !", "mcsinq lsrcrelationship -delim !", "mcsinq lshostvdiskmap -delim ! iscsi-n1"} {
		if out := r.ok(l); out != "" {
			t.Fatalf("%s left %q", l, out)
		}
	}
}
