package e2etest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Exact texts from mcs-cli.md §2.5, §2.6, §4.2, §4.5, §4.6.
const (
	notFound5754      = "CMMVC5754E The specified object does not exist, or the name supplied does not meet the naming rules.\n"
	lsvdiskHeader     = "id!name!IO_group_id!IO_group_name!status!mdisk_grp_id!mdisk_grp_name!capacity!type!LC_id!LC_name!RC_id!RC_name!vdisk_UID!lc_map_count!copy_count!fast_write_state!se_copy_count!RC_change!compressed_copy_count!parent_mdisk_grp_id!parent_mdisk_grp_name!formatting!encrypt!volume_id!volume_name!function!ica!ica_bypass!ica_pid"
	lsvdiskhostHeader = "id!name!SCSI_id!host_id!host_name!vdisk_UID!IO_group_id!IO_group_name"
	lslcmapHeader     = "id!name!source_vdisk_id!source_vdisk_name!target_vdisk_id!target_vdisk_name!group_id!group_name!status!progress!copy_rate!clean_progress!incremental!partner_FC_id!partner_FC_name!restoring!start_time!rc_controlled"
)

var (
	vdiskCreated   = regexp.MustCompile(`^Virtual Disk, id \[[0-9]+\], successfully created\n$`)
	hostCreated    = regexp.MustCompile(`^Host, id \[[0-9]+\], successfully created\n$`)
	hostmapCreated = regexp.MustCompile(`^Virtual Disk to Host map, id \[[0-9]+\], successfully created\n$`)
	lcmapCreated   = regexp.MustCompile(`^LocalCopy Mapping, id \[[0-9]+\], successfully created\n$`)
	uidRE          = regexp.MustCompile(`^[0-9A-F]{32}$`)
	startTimeRE    = regexp.MustCompile(`^[0-9]{12}$`)
)

// step is one command of a transcript with what must come back.
type step struct {
	cmd    string
	stdout any // string (exact) or *regexp.Regexp
	stderr string
	status int
}

func (s step) check(t *testing.T, c *gossh.Client) string {
	t.Helper()
	r := run(t, c, s.cmd)
	ok := r.Stderr == s.stderr && r.Status == s.status
	switch want := s.stdout.(type) {
	case string:
		ok = ok && r.Stdout == want
	case *regexp.Regexp:
		ok = ok && want.MatchString(r.Stdout)
	}
	if !ok {
		t.Fatalf("%s\n got: stdout %q stderr %q status %d\nwant: stdout %v stderr %q status %d",
			s.cmd, r.Stdout, r.Stderr, r.Status, s.stdout, s.stderr, s.status)
	}
	return r.Stdout
}

// sections splits a detail view on blank lines the way [G] does (§2.3).
func sections(out string) []map[string]string {
	var res []map[string]string
	cur := map[string]string{}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l == "" {
			res = append(res, cur)
			cur = map[string]string{}
			continue
		}
		k, v, _ := strings.Cut(l, "!")
		cur[k] = v
	}
	return append(res, cur)
}

// TestTranscriptGoClient replays the [G] attach and snapshot transcripts of
// mcs-cli.md §12: unquoted arguments, flags in [G]'s order.
func TestTranscriptGoClient(t *testing.T) {
	e := startEmu(t, t.TempDir())
	c := e.dial()

	step{"mcsinq lshost -delim !", "", "", 0}.check(t, c)
	step{"mcsinq lshost -delim ! iscsi-k8s-n1", "", notFound5754, 1}.check(t, c)
	step{"mcsop mkvdisk -name pvc-1 -size 10 -unit gb -mdiskgrp Pool0", vdiskCreated, "", 0}.check(t, c)

	out := step{"mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=pvc-1", regexp.MustCompile("^" + lsvdiskHeader + "\n[^\n]+\n$"), "", 0}.check(t, c)
	row := rows(t, out)[0]
	id, uid := row["id"], row["vdisk_UID"]
	if !uidRE.MatchString(uid) {
		t.Fatalf("vdisk_UID %q is not 32 upper-case hex digits (§3.2)", uid)
	}
	// The §12 row with the vdisk's own id and UID; formatting may be
	// yes while a thick vdisk formats (§11.2 item 10).
	want := id + "!pvc-1!0!io_grp0!online!0!Pool0!10737418240!striped!!!!!" + uid + "!0!1!empty!0!no!0!0!Pool0!" +
		row["formatting"] + "!no!" + id + "!pvc-1!!off!off!"
	if got := strings.TrimSuffix(strings.SplitN(out, "\n", 2)[1], "\n"); got != want {
		t.Fatalf("lsvdisk row\n got %q\nwant %q", got, want)
	}

	step{"mcsop mkhost -force -iscsiname iqn.1994-05.com.redhat:n1 -name iscsi-k8s-n1", hostCreated, "", 0}.check(t, c)
	step{"mcsinq lsvdiskhostmap -delim ! pvc-1", "", "", 0}.check(t, c)
	step{"mcsop mkvdiskhostmap -force -host iscsi-k8s-n1 pvc-1", hostmapCreated, "", 0}.check(t, c)
	hostRows := rows(t, mustOK(t, c, "mcsinq lshost -delim !"))
	if len(hostRows) != 1 {
		t.Fatalf("lshost rows %+v", hostRows)
	}
	step{"mcsinq lsvdiskhostmap -delim ! pvc-1",
		lsvdiskhostHeader + "\n" + id + "!pvc-1!0!" + hostRows[0]["id"] + "!iscsi-k8s-n1!" + uid + "!0!io_grp0\n", "", 0}.check(t, c)

	// Snapshot (§12, [G] CreateSnapshot).
	step{"mcsinq lslcmap -delim ! -filtervalue target_vdisk_name=snapshot-9", "", "", 0}.check(t, c)
	detail := mustOK(t, c, "mcsinq lsvdisk -bytes -delim ! pvc-1")
	secs := sections(detail)
	if len(secs) != 2 || secs[0]["IO_group_name"] != "io_grp0" || secs[0]["capacity"] != "10737418240" || secs[1]["mdisk_grp_id"] != "0" {
		t.Fatalf("lsvdisk detail must be 2 sections with IO_group_name, capacity, then mdisk_grp_id (§2.3): %q", detail)
	}
	step{"mcsop mkvdisk -name snapshot-9 -size 10 -unit gb -mdiskgrp 0 -iogrp io_grp0 -rsize 0% -autoexpand -intier on", vdiskCreated, "", 0}.check(t, c)
	lcOut := step{"mcsop mklcmap -copyrate 0 -cleanrate 0 -source pvc-1 -target snapshot-9", lcmapCreated, "", 0}.check(t, c)
	lcID := itoa(createdID(t, lcOut))
	step{"mcsop startlcmap -prep " + lcID, "", "", 0}.check(t, c)
	out = step{"mcsinq lslcmap -delim ! -filtervalue target_vdisk_name=snapshot-9", regexp.MustCompile("^" + lslcmapHeader + "\n[^\n]+\n$"), "", 0}.check(t, c)
	lc := rows(t, out)[0]
	if lc["id"] != lcID || lc["source_vdisk_name"] != "pvc-1" || lc["status"] != "copying" || lc["copy_rate"] != "0" ||
		!startTimeRE.MatchString(lc["start_time"]) || lc["rc_controlled"] != "no" {
		t.Fatalf("lslcmap after startlcmap -prep: %+v", lc)
	}

	// Teardown the way [G] does it: no-output commands print nothing at all.
	step{"mcsop rmvdiskhostmap -host iscsi-k8s-n1 pvc-1", "", "", 0}.check(t, c)
	step{"mcsinq lshostvdiskmap -delim ! iscsi-k8s-n1", "", "", 0}.check(t, c)
	step{"mcsop rmhost iscsi-k8s-n1", "", "", 0}.check(t, c)
	step{"mcsop stoplcmap -force " + lcID, "", "", 0}.check(t, c)
	step{"mcsop rmlcmap -force " + lcID, "", "", 0}.check(t, c)
	step{"mcsop rmvdisk -force snapshot-9", "", "", 0}.check(t, c)
	step{"mcsop rmvdisk -force pvc-1", "", "", 0}.check(t, c)
	step{"mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=pvc-1", "", "", 0}.check(t, c)
}

// TestTranscriptCinderClient replays [C]'s sequences (§7.2-§7.6): quoted
// names, flags in [C]'s order, exit status authoritative.
func TestTranscriptCinderClient(t *testing.T) {
	e := startEmu(t, t.TempDir())
	c := e.dial()

	sys := sections(mustOK(t, c, "mcsinq lssystem -delim !"))[0]
	if sys["id"] == "" || sys["name"] == "" || !regexp.MustCompile(`([0-9].){3}[0-9]`).MatchString(sys["code_level"]) {
		t.Fatalf("lssystem %+v", sys)
	}
	const thin = "-rsize 2% -autoexpand -warning 0% -grainsize 256 -intier on"
	step{`mcsop mkvdisk -name "volume-c1" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb ` + thin, vdiskCreated, "", 0}.check(t, c)
	step{`mcsop mkvdisk -name "volume-c1" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb ` + thin, "",
		"CMMVC6035E The action failed as the object already exists.\n", 1}.check(t, c)
	s0 := sections(mustOK(t, c, `mcsinq lsvdisk -bytes -delim ! "volume-c1"`))[0]
	for _, k := range []string{"id", "name", "IO_group_id", "IO_group_name", "capacity", "mdisk_grp_name", "RC_name", "preferred_node_id", "vdisk_UID"} {
		if _, ok := s0[k]; !ok {
			t.Fatalf("lsvdisk section 0 lacks %s (§2.3): %+v", k, s0)
		}
	}
	if s0["name"] != "volume-c1" || s0["capacity"] != "1073741824" {
		t.Fatalf("%+v", s0)
	}

	// Snapshot with prestart, poll, start (§7.3).
	step{`mcsop mkvdisk -name "snapshot-c1" -mdiskgrp "Pool0" -iogrp 0 -size 1073741824 -unit b ` + thin, vdiskCreated, "", 0}.check(t, c)
	lcID := itoa(createdID(t, step{`mcsop mklcmap -source "volume-c1" -target "snapshot-c1" -autodelete -copyrate 0`, lcmapCreated, "", 0}.check(t, c)))
	step{"mcsop prestartlcmap " + lcID, "", "", 0}.check(t, c)
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs := rows(t, mustOK(t, c, "mcsinq lslcmap -filtervalue id="+lcID+" -delim !"))
		if len(rs) == 1 && rs[0]["status"] == "prepared" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lcmap not prepared within 30s: %+v", rs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	step{"mcsop startlcmap " + lcID, "", "", 0}.check(t, c)

	// Attach and detach (§7.6).
	const host = "cinder-host-01234567"
	step{`mcsop mkhost -force -iscsiname iqn.1993-08.org.debian:01:abc -name "` + host + `"`, hostCreated, "", 0}.check(t, c)
	step{`mcsop chhost -chapsecret abcdefgh23456789 "` + host + `"`, "", "", 0}.check(t, c)
	auth := rows(t, mustOK(t, c, "mcsinq lsiscsiauth -delim !"))
	if len(auth) != 1 || auth[0]["name"] != host || auth[0]["iscsi_auth_method"] != "chap" || auth[0]["iscsi_chap_secret"] != "abcdefgh23456789" {
		t.Fatalf("lsiscsiauth %+v", auth)
	}
	step{`mcsop mkvdiskhostmap -force -host "` + host + `" volume-c1`, hostmapCreated, "", 0}.check(t, c)
	hm := rows(t, mustOK(t, c, `mcsinq lsvdiskhostmap -delim ! "volume-c1"`))
	if len(hm) != 1 || hm[0]["host_name"] != host || hm[0]["SCSI_id"] != "0" {
		t.Fatalf("lsvdiskhostmap %+v", hm)
	}
	// A mapped vdisk is not deleted without -force (§7.4 step 3).
	r := run(t, c, `mcsop rmvdisk "volume-c1"`)
	if r.Status != 1 || !strings.HasPrefix(r.Stderr, "CMMVC5840E ") || r.Stdout != "" {
		t.Fatalf("rmvdisk of a mapped vdisk: %+v", r)
	}
	step{`mcsop rmvdiskhostmap -host "` + host + `" "volume-c1"`, "", "", 0}.check(t, c)
	step{`mcsinq lshostvdiskmap -delim ! "` + host + `"`, "", "", 0}.check(t, c)
	step{`mcsop rmhost "` + host + `"`, "", "", 0}.check(t, c)

	// Delete: snapshot map first, then both vdisks without -force (§7.4).
	step{"mcsop stoplcmap " + lcID, "", "", 0}.check(t, c)
	step{"mcsop rmlcmap -force " + lcID, "", "", 0}.check(t, c)
	step{`mcsop rmvdisk "snapshot-c1"`, "", "", 0}.check(t, c)
	step{`mcsop rmvdisk "volume-c1"`, "", "", 0}.check(t, c)
	step{`mcsinq lsvdisk -bytes -delim ! "volume-c1"`, "", notFound5754, 1}.check(t, c)
}
