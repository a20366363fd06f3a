package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// Cinder's ([C]) command lines, with its double-quoted names (mcs-cli.md §4, §7).

func TestC_SetupQueries(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	s := sections(r.ok("mcsinq lssystem -delim !"))
	if s[0]["id"] != "0000020064A0E1D5" || s[0]["name"] != "mcs-emu" || !strings.HasPrefix(s[0]["code_level"], "3.4.1.0 ") {
		t.Fatalf("lssystem %v", s)
	}
	if l := sections(r.ok("mcsinq lslicense -delim !"))[0]; l["license_compression_enclosures"] != "1" {
		t.Fatalf("lslicense %v", l)
	}
	if g := sections(r.ok("mcsinq lsguicapabilities -delim !"))[0]; g["compression"] != "yes" {
		t.Fatalf("lsguicapabilities %v", g)
	}
	for _, g := range rows(t, r.ok("mcsinq lsiogrp -delim !")) {
		if g["node_count"] != "2" || g["vdisk_count"] != "0" {
			t.Fatalf("lsiogrp %v", g)
		}
	}
	fc := rows(t, r.ok("mcsinq lsportfc -delim ! -filtervalue node_id=2"))
	if len(fc) != 2 || fc[0]["node_name"] != "node2" || fc[0]["type"] != "fc" || fc[0]["status"] != "active" {
		t.Fatalf("lsportfc filtered %v", fc)
	}
	p := sections(r.ok(`mcsinq lsmdiskgrp -bytes -delim ! "Pool0"`))[0]
	if p["name"] != "Pool0" || p["capacity"] != "1099511627776" || p["in_tier"] != "auto" {
		t.Fatalf("lsmdiskgrp detail %v", p)
	}
	r.fail(`mcsinq lsmdiskgrp -bytes -delim ! "nopool"`, "CMMVC5754E")
}

func TestC_VolumeLifecycle(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	out := r.ok(`mcsop mkvdisk -name "volume-1" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb -rsize 2% -autoexpand -warning 0% -grainsize 256 -intier on`)
	if out != "Virtual Disk, id [0], successfully created\n" {
		t.Fatalf("%q", out)
	}
	r.fail(`mcsop mkvdisk -name "volume-1" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb`, "CMMVC6035E")
	r.ok(`mcsop chvdisk -rate 100 "volume-1"`)
	r.ok(`mcsop chvdisk -warning 50% "volume-1"`)
	r.ok(`mcsop chvdisk -autoexpand off "volume-1"`)
	r.ok(`mcsop chvdisk -intier off "volume-1"`)
	d := sections(r.ok(`mcsinq lsvdisk -bytes -delim ! "volume-1"`))
	if d[0]["throttling"] != "100" || d[1]["warning"] != "50" || d[1]["autoexpand"] != "off" || d[1]["in_tier"] != "off" {
		t.Fatalf("chvdisk effects: %v", d)
	}
	r.fail(`mcsop chvdisk -bogus 1 "volume-1"`, "CMMVC5709E")
	// Host: sanitised name with spaces, IQN plus lowercase WWPNs, CHAP (§7.6).
	host := "my host.example-12345678"
	if out := r.ok(`mcsop mkhost -force -iscsiname iqn.1993-08.org.debian:01:abc -name "` + host + `"`); out != "Host, id [0], successfully created\n" {
		t.Fatalf("%q", out)
	}
	r.ok(`mcsop addhostport -force -hbawwpn ff00000000000000 "` + host + `"`)
	r.fail(`mcsop addhostport -force -hbawwpn FF00000000000000 "`+host+`"`, "CMMVC6581E")
	auth := rows(t, r.ok("mcsinq lsiscsiauth -delim !"))
	if len(auth) != 1 || auth[0]["iscsi_auth_method"] != "none" || auth[0]["iscsi_chap_secret"] != "" {
		t.Fatalf("lsiscsiauth %v", auth)
	}
	r.ok(`mcsop chhost -chapsecret aB3dE5gH7jK9mN2p "` + host + `"`)
	auth = rows(t, r.ok("mcsinq lsiscsiauth -delim !"))
	if auth[0]["name"] != host || auth[0]["iscsi_auth_method"] != "chap" || auth[0]["iscsi_chap_secret"] != "aB3dE5gH7jK9mN2p" {
		t.Fatalf("lsiscsiauth %v", auth)
	}
	if s, ok := r.a.HostCHAPSecret("IQN.1993-08.org.debian:01:abc"); !ok || s != "aB3dE5gH7jK9mN2p" {
		t.Fatalf("HostCHAPSecret %q %v", s, ok)
	}
	// Host search: lshost detail with repeated ports, in one section.
	h := r.ok(`mcsinq lshost -delim ! "` + host + `"`)
	if strings.Contains(h, "\n\n") || !strings.Contains(h, "iscsi_name!iqn.1993-08.org.debian:01:abc\n") || !strings.Contains(h, "WWPN!FF00000000000000\n") {
		t.Fatalf("lshost detail %q", h)
	}
	// lsfabric -wwpn finds the host case-insensitively.
	fab := rows(t, r.ok("mcsinq lsfabric -delim ! -wwpn ff00000000000000"))
	if len(fab) == 0 || fab[0]["name"] != host || !strings.EqualFold(fab[0]["remote_wwpn"], "ff00000000000000") {
		t.Fatalf("lsfabric %v", fab)
	}
	if fab := rows(t, r.ok(`mcsinq lsfabric -delim ! -host "`+host+`"`)); len(fab) != 4 {
		t.Fatalf("lsfabric -host: one row per array FC port, got %d", len(fab))
	}
	// Map with the vdisk unquoted (as [C] sends it); then delete must fail while mapped.
	if out := r.ok(`mcsop mkvdiskhostmap -force -host "` + host + `" volume-1`); out != "Virtual Disk to Host map, id [0], successfully created\n" {
		t.Fatalf("%q", out)
	}
	r.fail(`mcsop mkvdiskhostmap -force -host "`+host+`" volume-1`, "CMMVC5878E")
	r.fail(`mcsop rmvdisk "volume-1"`, "CMMVC5840E")
	r.fail(`mcsop rmhost "`+host+`"`, "CMMVC5871E")
	d = sections(r.ok(`mcsinq lsvdisk -bytes -delim ! "volume-1"`))
	if d[0]["preferred_node_id"] == "" || d[0]["IO_group_id"] != "0" {
		t.Fatalf("%v", d[0])
	}
	r.ok(`mcsop rmvdiskhostmap -host "` + host + `" "volume-1"`)
	r.fail(`mcsop rmvdiskhostmap -host "`+host+`" "volume-1"`, "CMMVC5753E")
	if out := r.ok(`mcsinq lshostvdiskmap -delim ! "` + host + `"`); out != "" {
		t.Fatalf("%q", out)
	}
	r.ok(`mcsop rmhost "` + host + `"`)
	// Extend, rename (volume_name follows), delete.
	r.ok(`mcsop expandvdisksize -size 1 -unit gb "volume-1"`)
	r.ok(`mcsop chvdisk -name "volume-2" "volume-1"`)
	v := rows(t, r.ok("mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=volume-2"))
	if len(v) != 1 || v[0]["capacity"] != "2147483648" {
		t.Fatalf("%v", v)
	}
	uid := v[0]["vdisk_UID"]
	if got := rows(t, r.ok("mcsinq lsvdisk -bytes -delim ! -filtervalue vdisk_UID="+uid)); len(got) != 1 || got[0]["name"] != "volume-2" {
		t.Fatalf("UID stable across rename: %v", got)
	}
	r.ok(`mcsop rmvdisk "volume-2"`)
	r.fail(`mcsop rmvdisk "volume-2"`, "CMMVC5753E")
	r.fail(`mcsinq lsvdisk -bytes -delim ! "volume-2"`, "CMMVC5754E")
}

func TestC_SnapshotWithPrestartPolling(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.ok(`mcsop mkvdisk -name "volume-a" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb -intier on`)
	d := sections(r.ok(`mcsinq lsvdisk -bytes -delim ! "volume-a"`))[0]
	r.ok(`mcsop mkvdisk -name "snapshot-b" -mdiskgrp "Pool0" -iogrp ` + d["IO_group_id"] + ` -size ` + d["capacity"] + ` -unit b -rsize 2% -autoexpand -warning 0% -grainsize 256 -intier on`)
	out, errb, code := r.run(`mcsop mklcmap -source "volume-a" -target "snapshot-b" -autodelete -copyrate 0`)
	if code != 0 || errb != "" || out != "LocalCopy Mapping, id [0], successfully created\n" {
		t.Fatalf("mklcmap %q %q", out, errb)
	}
	r.ok("mcsop prestartlcmap 0")
	st := func() string {
		return rows(t, r.ok("mcsinq lslcmap -filtervalue id=0 -delim !"))[0]["status"]
	}
	// Queries alone never move the state: only the clock does (§11.3).
	for i := 0; i < 5; i++ {
		if s := st(); s != "preparing" {
			t.Fatalf("poll %d: %s", i, s)
		}
	}
	r.clock.Add(time.Second)
	if s := st(); s != "prepared" {
		t.Fatalf("after prepare delay: %s", s)
	}
	r.fail("mcsop prestartlcmap 0", "CMMVC5903E")
	r.ok("mcsop startlcmap 0")
	if s := st(); s != "copying" {
		t.Fatalf("after start: %s", s)
	}
	// Deleting the source converts the snapshot to a self-deleting full copy (§7.4).
	if m := rows(t, r.ok(`mcsinq lsvdisklcmappings -delim ! "volume-a"`)); len(m) != 1 || m[0]["id"] != "0" {
		t.Fatalf("lsvdisklcmappings %v", m)
	}
	r.ok("mcsop chlcmap -copyrate 50 -autodelete on 0")
	r.clock.Add(5 * time.Second) // 1 GiB at 2 MiB/s × 64 = 8 s
	if m := rows(t, r.ok("mcsinq lslcmap -filtervalue id=0 -delim !")); m[0]["copy_rate"] != "50" || m[0]["progress"] != "62" {
		t.Fatalf("after 5 s: %v", m)
	}
	r.clock.Add(5 * time.Second)
	if out := r.ok("mcsinq lslcmap -filtervalue id=0 -delim !"); out != "" {
		t.Fatalf("map must have auto-deleted: %q", out)
	}
	r.ok(`mcsop rmvdisk "volume-a"`)
}

func TestC_ConsistencyGroupSnapshot(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.ok(`mcsop mkvdisk -name "v1" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb`)
	r.ok(`mcsop mkvdisk -name "s1" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb -rsize 2% -autoexpand`)
	if out := r.ok("mcsop mklcconsistgrp -name group_snap-1"); out != "LocalCopy Consistency Group, id [0], successfully created\n" {
		t.Fatalf("%q", out)
	}
	if g := sections(r.ok("mcsinq lslcconsistgrp -delim ! group_snap-1"))[0]; g["status"] != "empty" {
		t.Fatalf("%v", g)
	}
	r.ok(`mcsop mklcmap -source "v1" -target "s1" -autodelete -copyrate 0 -consistgrp group_snap-1`)
	r.ok("mcsop prestartlcconsistgrp group_snap-1")
	if g := sections(r.ok("mcsinq lslcconsistgrp -delim ! group_snap-1"))[0]; g["status"] != "preparing" || g["FC_mapping_id"] != "0" {
		t.Fatalf("%v", g)
	}
	r.clock.Add(2 * time.Second)
	if g := sections(r.ok("mcsinq lslcconsistgrp -delim ! group_snap-1"))[0]; g["status"] != "prepared" {
		t.Fatalf("%v", g)
	}
	r.ok("mcsop startlcconsistgrp group_snap-1")
	r.ok("mcsop rmlcconsistgrp -force group_snap-1")
	m := rows(t, r.ok("mcsinq lslcmap -delim !"))
	if len(m) != 1 || m[0]["status"] != "copying" || m[0]["group_id"] != "" || m[0]["start_time"] == "" {
		t.Fatalf("map must survive standalone: %v", m)
	}
}

func TestC_ReplicationRelationshipStates(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.ok(`mcsop mkvdisk -name "volume-r" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb`)
	r.ok(`mcsop mkvdisk -name "aux_volume-r" -mdiskgrp "Pool1" -iogrp 0 -size 1 -unit gb`)
	r.fail("mcsop mkrcrelationship -master volume-r -aux aux_volume-r -cluster other-system", "CMMVC5754E")
	if out := r.ok("mcsop mkrcrelationship -master volume-r -aux aux_volume-r -cluster mcs-emu -async"); out != "RC Relationship, id [0], successfully created\n" {
		t.Fatalf("%q", out)
	}
	name := sections(r.ok(`mcsinq lsvdisk -bytes -delim ! "volume-r"`))[0]["RC_name"]
	state := func() map[string]string {
		return rows(t, r.ok("mcsinq lsrcrelationship -filtervalue name="+name+" -delim !"))[0]
	}
	if s := state(); s["state"] != "inconsistent_stopped" || s["copy_type"] != "async" || s["primary"] != "master" {
		t.Fatalf("%v", s)
	}
	r.fail("mcsop switchrcrelationship -primary aux "+name, "CMMVC5982E")
	r.ok("mcsop startrcrelationship -force " + name)
	if s := state(); s["state"] != "inconsistent_copying" {
		t.Fatalf("%v", s)
	}
	r.clock.Add(3 * time.Second)
	if s := state(); s["state"] != "consistent_synchronized" {
		t.Fatalf("%v", s)
	}
	r.ok("mcsop switchrcrelationship -primary aux " + name)
	r.ok("mcsop stoprcrelationship -access " + name)
	if s := state(); s["state"] != "idling" || s["primary"] != "" {
		t.Fatalf("%v", s)
	}
	r.fail("mcsop startrcrelationship -force "+name, "CMMVC5963E")
	r.ok("mcsop startrcrelationship -force -primary master " + name)
	r.fail(`mcsop rmvdisk -force "volume-r"`, "CMMVC5840E")
	r.ok("mcsop rmrcrelationship -force " + name)
	r.ok(`mcsop rmvdisk "volume-r"`)
}

func TestC_MigrateWithVDiskCopy(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.ok(`mcsop mkvdisk -name "volume-m" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb`)
	if n := len(rows(t, r.ok(`mcsinq lsvdiskcopy -delim ! "volume-m"`))); n != 1 {
		t.Fatalf("copies %d", n)
	}
	out := r.ok(`mcsop addvdiskcopy -rsize 2% -autoexpand -warning 0% -grainsize 256 -intier on -mdiskgrp "Pool1" "volume-m"`)
	if out != "Vdisk [0] copy [1] successfully created\n" {
		t.Fatalf("%q", out)
	}
	r.fail(`mcsop addvdiskcopy -mdiskgrp "Pool1" "volume-m"`, "CMMVC6365E")
	c := sections(r.ok(`mcsinq lsvdiskcopy -delim ! -copy 1 "volume-m"`))[0]
	if c["sync"] != "no" || c["autoexpand"] != "on" || c["compressed_copy"] != "no" {
		t.Fatalf("%v", c)
	}
	r.fail(`mcsinq lsvdiskcopy -delim ! -copy 7 "volume-m"`, "CMMVC6353E")
	r.clock.Add(3 * time.Second)
	if c := sections(r.ok(`mcsinq lsvdiskcopy -delim ! -copy 1 "volume-m"`))[0]; c["sync"] != "yes" {
		t.Fatalf("%v", c)
	}
	r.ok(`mcsop rmvdiskcopy -copy 0 "volume-m"`)
	v := sections(r.ok(`mcsinq lsvdisk -bytes -delim ! "volume-m"`))
	if len(v) != 2 || v[0]["mdisk_grp_name"] != "Pool1" || v[1]["primary"] != "yes" {
		t.Fatalf("%v", v)
	}
	r.fail(`mcsop rmvdiskcopy -copy 1 "volume-m"`, "CMMVC6366E")
	r.ok(`mcsop movevdisk -iogrp 0 "volume-m"`)
	r.ok(`mcsop addvdiskaccess -iogrp 0 "volume-m"`)
}

func TestC_Partnership(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	p := rows(t, r.ok("mcsinq lspartnership -delim !"))
	if len(p) != 1 || p[0]["location"] != "local" {
		t.Fatalf("%v", p)
	}
	if out := r.ok("mcsinq lspartnershipcandidate -delim !"); out != "" {
		t.Fatalf("%q", out)
	}
	r.ok("mcsop mkfcpartnership -linkbandwidthmbits 1000 -backgroundcopyrate 50 aux-sim")
	r.ok("mcsop mkippartnership -type ipv4 -clusterip 10.0.0.9 -linkbandwidthmbits 1000 -backgroundcopyrate 50")
	p = rows(t, r.ok("mcsinq lspartnership -filtervalue name=aux-sim -delim !"))
	if len(p) != 1 || p[0]["partnership"] != "fully_configured" || p[0]["type"] != "fc" {
		t.Fatalf("%v", p)
	}
	r.ok("mcsop chpartnership -stop " + p[0]["id"])
	if p = rows(t, r.ok("mcsinq lspartnership -filtervalue name=aux-sim -delim !")); p[0]["partnership"] != "fully_configured_stopped" {
		t.Fatalf("%v", p)
	}
}
