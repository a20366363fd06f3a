package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestGoldenViews freezes the exact bytes of every view both clients parse,
// for one array built by both clients' command lines. Review diffs with care:
// a changed column order or blank line breaks real clients.
func TestGoldenViews(t *testing.T) {
	r := newRig(t, model.TwoSiteTopology())
	for _, l := range []string{
		"mcsop mkvdisk -name pvc-1 -size 10 -unit gb -mdiskgrp Pool0 -intier off",
		"mcsop mkvdisk -name vol-m -size 1 -unit gb -copies 2 -mdiskgrp Pool0:Pool1 -accessiogrp 0 -iogrp 0 -rsize 2% -autoexpand -intier off",
		"mcsop mkvolume -name vol-aa -size 1 -unit gb -pool Pool0:Pool1 -iogrp 0:1 -buffersize 20% -warning 80% -thin -grainsize 256",
		"mcsop mkvdisk -name snapshot-9 -size 10 -unit gb -mdiskgrp 0 -iogrp io_grp0 -rsize 0% -autoexpand -intier on",
		"mcsop mklcmap -copyrate 0 -cleanrate 0 -source pvc-1 -target snapshot-9",
		"mcsop startlcmap -prep 4",
		"mcsop mkhost -force -iscsiname iqn.1994-05.com.redhat:n1 -name iscsi-n1 -site site1",
		`mcsop mkhost -force -hbawwpn ff00000000000001 -name "cinder host-00000001"`,
		`mcsop chhost -chapsecret aB3dE5gH7jK9mN2p "cinder host-00000001"`,
		"mcsop mkvdiskhostmap -force -host iscsi-n1 pvc-1",
		"mcsop mkvdiskhostmap -force -host iscsi-n1 vol-aa",
	} {
		r.ok(l)
	}
	views := []string{
		"mcsinq lssystem -delim !", "mcsinq lsiogrp -delim !", "mcsinq lsnode -delim !", "mcsinq lsportip -delim !",
		"mcsinq lsportfc -delim !", "mcsinq lsfabric -delim ! -host 1", "mcsinq lsmdiskgrp -bytes -delim !",
		`mcsinq lsmdiskgrp -bytes -delim ! "Pool0"`, "mcsinq lsvdisk -bytes -delim !", "mcsinq lsvdisk -bytes -delim ! pvc-1",
		"mcsinq lsvdisk -bytes -delim ! vol-m", "mcsinq lsvdisk -bytes -delim ! vol-aa", "mcsinq lsvdiskcopy -delim ! vol-m",
		"mcsinq lsvdiskhostmap -delim ! vol-aa", "mcsinq lshostvdiskmap -delim ! iscsi-n1", "mcsinq lshost -delim !",
		"mcsinq lshost -delim ! iscsi-n1", `mcsinq lshost -delim ! "cinder host-00000001"`, "mcsinq lsiscsiauth -delim !",
		"mcsinq lslcmap -delim !", "mcsinq lsrcrelationship -delim !", "mcsinq lslicense -delim !",
		"mcsinq lsguicapabilities -delim !", "mcsinq lspartnership -delim !", "mcsinq lsvdisk pvc-1",
	}
	var b strings.Builder
	for _, v := range views {
		b.WriteString("$ " + v + "\n" + r.ok(v) + "\n")
	}
	path := filepath.Join("testdata", "golden", "views.txt")
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("line %d differs:\n got %q\nwant %q", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("length differs: got %d lines, want %d", len(gl), len(wl))
	}
}
