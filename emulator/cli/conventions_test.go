package cli

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

func TestErrors_ExactTexts(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.ok("mcsop mkvdisk -name v1 -size 1 -unit gb -mdiskgrp Pool0")
	r.ok("mcsop mkvdisk -name v2 -size 2 -unit gb -mdiskgrp Pool0")
	cases := []struct{ line, stderr string }{
		{"mcsinq lsvdisk -delim ! nope", "CMMVC5754E The specified object does not exist, or the name supplied does not meet the naming rules.\n"},
		{"mcsop rmvdisk nope", "CMMVC5753E The specified object does not exist or is not a suitable candidate.\n"},
		{"mcsop rmvdisk", "CMMVC5701E No object ID was specified.\n"},
		{"mcsop mkvdisk -name v1 -size 1 -unit gb -mdiskgrp Pool0", "CMMVC6035E The action failed as the object already exists.\n"},
		{"mcsop mklcmap -source v1 -target v1", "CMMVC6303E The create failed because the source and target VDisks are the same.\n"},
		{"mcsop mklcmap -source v1 -target v2", "CMMVC5924E The LocalCopy mapping was not created because the source and target virtual disks (VDisks) are different sizes.\n"},
		{"mcsop mklcmap -source v1", "CMMVC5707E Required parameters are missing.\n"},
		{"mcsop mkhost -name 1bad -iscsiname iqn.2000-01.a:b", "CMMVC6527E The name that you have entered is not valid. The name can contain letters, numbers, spaces, periods, dashes, and underscores. The name must begin with a letter or an underscore. The name must not begin or end with a space.\n"},
		{"mcsop chvdisk -frobnicate 1 v1", "CMMVC5709E [-frobnicate] is not a supported parameter.\n"},
		{"mcsop startlcmap 9", "CMMVC5753E The specified object does not exist or is not a suitable candidate.\n"},
	}
	for _, tc := range cases {
		out, errb, code := r.run(tc.line)
		if code != 1 || out != "" || errb != tc.stderr {
			t.Errorf("%s:\n got exit %d stdout %q stderr %q\nwant %q", tc.line, code, out, errb, tc.stderr)
		}
	}
}

func TestCommandLine_Rejects(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.fail("ls -l", "CMMVC7205E")
	r.fail("mcsinq", "CMMVC7205E")
	r.fail("mcsinq mkvdisk -name x -size 1 -mdiskgrp Pool0", "CMMVC7205E") // wrong family
	r.fail("mcsop lsvdisk", "CMMVC7205E")
	r.fail("mcsinq lsvdisk -delim", "CMMVC5708E")
	r.fail("mcsinq lsvdisk -delim ! -delim !", "CMMVC5711E")
	r.fail(`mcsinq lsvdisk "unterminated`, "CMMVC5707E")
	r.fail("mcsinq lsvdisk a b", "CMMVC5711E")
	r.fail("mcsinq lssystem extra", "CMMVC5711E")
	r.fail("mcsop mkvdisk -name x -size -1 -unit gb -mdiskgrp Pool0", "CMMVC5731E")
	r.fail("mcsop mkvdisk -name x -size 1 -unit zb -mdiskgrp Pool0", "CMMVC5731E")
	r.fail("mcsop mkvdisk -name x -size 0 -unit gb -mdiskgrp Pool0", "CMMVC5735E")
	r.fail("mcsop mkvdisk -name x -size 1 -unit gb -mdiskgrp Pool0 -rsize 2% -grainsize 48", "CMMVC5731E")
	r.fail("mcsop mkvdisk -name x -size 1 -unit gb -mdiskgrp Pool0 -warning 80%", "CMMVC5707E")
	r.fail("mcsop mkvdisk -name x -size 1 -unit gb -mdiskgrp NoPool", "CMMVC5754E")
	r.fail("mcsop mkvdisk -name x -size 1 -unit gb -mdiskgrp Pool0 -iogrp 7", "CMMVC5754E")
	r.fail("mcsop mkvdisk -name "+strings.Repeat("a", 64)+" -size 1 -unit gb -mdiskgrp Pool0", "CMMVC6528E")
	// Shell metacharacters are just characters, and such names are invalid.
	for _, n := range []string{"a;b", "a|b", "$(id)", "`id`", "a&b", "a>b", "a!b", "trailing\\ "} {
		r.fail("mcsop mkvdisk -name "+n+" -size 1 -unit gb -mdiskgrp Pool0", "CMMVC6527E")
	}
	if out := r.ok("mcsinq lsvdisk -delim !"); out != "" {
		t.Fatalf("nothing may have been created: %q", out)
	}
	// A 63-character name, and a 64-character host name (Cinder, §3.5), are fine.
	r.ok("mcsop mkvdisk -name " + strings.Repeat("a", 63) + " -size 1 -unit gb -mdiskgrp Pool0")
	r.ok(`mcsop mkhost -force -iscsiname iqn.2000-01.a:b -name "` + strings.Repeat("h", 55) + "-12345678" + `"`)
}

func TestOutput_Flags(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	r.ok("mcsop mkvdisk -name alpha -size 1 -unit gb -mdiskgrp Pool0")
	r.ok("mcsop mkvdisk -name beta -size 512 -unit mb -mdiskgrp Pool1")
	all := r.ok("mcsinq lsvdisk -bytes -delim !")
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "0!alpha!") || !strings.HasPrefix(lines[2], "1!beta!") {
		t.Fatalf("ascending id order: %q", all)
	}
	if out := r.ok("mcsinq lsvdisk -bytes -nohdr -delim !"); out != lines[1]+"\n"+lines[2]+"\n" {
		t.Fatalf("-nohdr: %q", out)
	}
	// Flags in any order; filter on any printed column.
	a := r.ok("mcsinq lsvdisk -delim ! -filtervalue mdisk_grp_name=Pool1 -bytes")
	b := r.ok("mcsinq lsvdisk -filtervalue mdisk_grp_name=Pool1 -bytes -delim !")
	if a != b || len(rows(t, a)) != 1 || rows(t, a)[0]["name"] != "beta" {
		t.Fatalf("flag order: %q vs %q", a, b)
	}
	if got := rows(t, r.ok("mcsinq lsvdisk -bytes -delim ! -filtervalue name=al*")); len(got) != 1 || got[0]["name"] != "alpha" {
		t.Fatalf("prefix filter: %v", got)
	}
	if got := rows(t, r.ok("mcsinq lsvdisk -bytes -delim ! -filtervalue mdisk_grp_name=Pool0:name=alpha")); len(got) != 1 {
		t.Fatalf("compound filter: %v", got)
	}
	// No match: nothing at all, exit 0, empty stderr ([G] lslcmap rejects any stderr).
	for _, l := range []string{"mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=none",
		"mcsinq lslcmap -delim ! -filtervalue source_vdisk_name=none", "mcsinq lsvdisk -bytes -delim ! -filtervalue vdisk_UID=0"} {
		out, errb, code := r.run(l)
		if out != "" || errb != "" || code != 0 {
			t.Fatalf("%s: %q %q %d", l, out, errb, code)
		}
	}
	r.fail("mcsinq lsvdisk -delim ! -filtervalue nosuchcol=1", "CMMVC5709E")
	// Without -bytes, capacities are unit strings; without -delim, aligned columns.
	if got := rows(t, r.ok("mcsinq lsvdisk -delim !")); got[0]["capacity"] != "1.00GB" || got[1]["capacity"] != "512.00MB" {
		t.Fatalf("unit strings: %v", got)
	}
	plain := r.ok("mcsinq lsiogrp")
	if !strings.HasPrefix(plain, "id name    node_count vdisk_count host_count site_id site_name\n0  io_grp0 2") {
		t.Fatalf("aligned: %q", plain)
	}
	if d := r.ok("mcsinq lsiogrp io_grp0"); !strings.HasPrefix(d, "id 0\nname io_grp0\n") {
		t.Fatalf("detail without delim: %q", d)
	}
	if d := r.ok("mcsinq lsiogrp -nohdr -delim ! 0"); !strings.HasPrefix(d, "0\nio_grp0\n2\n") {
		t.Fatalf("detail -nohdr: %q", d)
	}
}

func TestLUNAllocation_LowestFreePerHost(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	for i := 0; i < 3; i++ {
		r.ok(fmt.Sprintf("mcsop mkvdisk -name v%d -size 1 -unit gb -mdiskgrp Pool0", i))
	}
	r.ok("mcsop mkhost -force -iscsiname iqn.2000-01.a:h1 -name h1")
	r.ok("mcsop mkhost -force -iscsiname iqn.2000-01.a:h2 -name h2")
	r.ok("mcsop mkvdiskhostmap -force -host h1 v0")
	r.ok("mcsop mkvdiskhostmap -force -host h1 v1")
	r.fail("mcsop mkvdiskhostmap -host h2 v1", "CMMVC6071E")
	r.ok("mcsop mkvdiskhostmap -force -host h2 v1")
	r.fail("mcsop mkvdiskhostmap -force -host h1 -scsi 1 v2", "CMMVC5879E")
	r.ok("mcsop rmvdiskhostmap -host h1 v0")
	r.ok("mcsop mkvdiskhostmap -force -host h1 v2")
	lun := func(host, vdisk string) string {
		for _, m := range rows(t, r.ok("mcsinq lshostvdiskmap -delim ! "+host)) {
			if m["vdisk_name"] == vdisk {
				return m["SCSI_id"]
			}
		}
		return "none"
	}
	if lun("h1", "v1") != "1" || lun("h2", "v1") != "0" || lun("h1", "v2") != "0" {
		t.Fatalf("LUNs: h1/v1=%s h2/v1=%s h1/v2=%s", lun("h1", "v1"), lun("h2", "v1"), lun("h1", "v2"))
	}
	r.fail("mcsop mkvdiskhostmap -force -host nohost v2", "CMMVC5754E")
	r.fail("mcsop mkvdiskhostmap -force -host h1 novdisk", "CMMVC5753E")
}

func TestFaults_NodeOffline(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	ev, cancel := r.a.Subscribe()
	defer cancel()
	if err := r.a.SetNodeStatus("node2", false); err != nil {
		t.Fatal(err)
	}
	if e := <-ev; e.Kind != model.EventNodeStatus || e.Node != "node2" || e.Online {
		t.Fatalf("event %+v", e)
	}
	n := rows(t, r.ok("mcsinq lsnode -delim !"))
	if n[1]["status"] != "offline" || n[0]["status"] != "online" {
		t.Fatalf("%v", n)
	}
	for _, p := range rows(t, r.ok("mcsinq lsportip -delim !")) {
		if p["node_name"] == "node2" && p["link_state"] == "active" {
			t.Fatalf("offline node port still active: %v", p)
		}
	}
	if err := r.a.SetNodeStatus("nodeX", false); err == nil {
		t.Fatal("unknown node must fail")
	}
	r.a.SetNodeStatus("node2", true)
	if n := rows(t, r.ok("mcsinq lsnode -delim !")); n[1]["status"] != "online" {
		t.Fatalf("%v", n)
	}
}

func TestRun_ConcurrentUse(t *testing.T) {
	r := newRig(t, model.DefaultTopology())
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				name := fmt.Sprintf("w%d-v%d", w, i)
				if _, e, c := r.c.Run(context.Background(), "u", "mcsop mkvdisk -name "+name+" -size 1 -unit gb -mdiskgrp Pool0"); c != 0 {
					errs <- string(e)
				}
				r.c.Run(context.Background(), "u", "mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name="+name)
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if n := len(rows(t, r.ok("mcsinq lsvdisk -bytes -delim !"))); n != 80 {
		t.Fatalf("%d vdisks", n)
	}
}

// FuzzRun: no input may panic the dispatcher, and every answer obeys §1.3.
func FuzzRun(f *testing.F) {
	for _, s := range []string{
		"mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=x",
		`mcsop mkvdisk -name "v" -size 1 -unit gb -mdiskgrp Pool0 -rsize 2% -autoexpand`,
		"mcsop mkvolume -name a -size 1 -unit gb -pool Pool0:Pool1 -iogrp 0:0 -thin",
		"mcsop mklcmap -source v -target v", "mcsop startlcmap -prep 0", "mcsinq lsvdisk -delim ! 0",
		"mcsop mkhost -force -iscsiname iqn.x:y -name h", "mcsop mkvdiskhostmap -force -host h v",
		"mcsinq lsfabric -delim ! -wwpn 00", "mcsop chrcrelationship -masterchange v 0", "mcsop expandvdisksize -size 1 v",
	} {
		f.Add(s)
	}
	topo := model.DefaultTopology()
	topo.Vendor.PrepareDelay = 0
	dir := f.TempDir()
	a, err := model.OpenWithOptions(dir, topo, model.Options{TickInterval: -1, CompactEvery: 64})
	if err != nil {
		f.Fatal(err)
	}
	defer a.Close()
	c := New(a)
	f.Fuzz(func(t *testing.T, line string) {
		out, errb, code := c.Run(context.Background(), "u", line)
		switch code {
		case 0:
			if len(errb) != 0 {
				t.Fatalf("success with stderr %q", errb)
			}
		case 1:
			if len(out) != 0 || !strings.HasPrefix(string(errb), "CMMVC") || !strings.HasSuffix(string(errb), "\n") {
				t.Fatalf("bad failure output %q %q", out, errb)
			}
		default:
			t.Fatalf("exit %d", code)
		}
	})
}
