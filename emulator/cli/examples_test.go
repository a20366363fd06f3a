package cli

import (
	"strings"
	"testing"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// TestReferenceExampleCommandLines runs every create example string of
// mcs-cli.md §4.4 and §6.2 verbatim (placeholders filled) and checks the
// objects they make.
func TestReferenceExampleCommandLines(t *testing.T) {
	cases := []struct {
		line  string
		check func(t *testing.T, r *rig)
	}{
		{"mcsop mkvdisk -name vol-001 -size 10 -unit gb -mdiskgrp Pool0 -iogrp 0 -rsize 20% -warning 80% -autoexpand -grainsize 256 -intier off", func(t *testing.T, r *rig) {
			c := sections(r.ok("mcsinq lsvdisk -bytes -delim ! vol-001"))[1]
			if c["real_capacity"] != "2147483648" || c["warning"] != "80" || c["in_tier"] != "off" || c["se_copy"] != "yes" {
				t.Fatalf("%v", c)
			}
		}},
		{"mcsop mkvdisk -name vol-001 -size 10 -unit gb -copies 2 -mdiskgrp Pool0:Pool1 -accessiogrp 0 -iogrp 0 -intier off", func(t *testing.T, r *rig) {
			if s := sections(r.ok("mcsinq lsvdisk -bytes -delim ! vol-001")); len(s) != 3 || s[0]["copy_count"] != "2" {
				t.Fatalf("%v", s)
			}
		}},
		{`mcsop mkvdisk -name "volume-6c0b3f1e-55f0-4a4e-9f55-3c9f1b2a7d10" -mdiskgrp "Pool0" -iogrp 0 -size 1 -unit gb -rsize 2% -autoexpand -warning 0% -grainsize 256 -intier on`, nil},
		{"mcsop mkvdisk -name pvc-1 -size 3 -unit gb -mdiskgrp Pool0 -rsize 5% -warning 50% -autoexpand -compressed -intier off", func(t *testing.T, r *rig) {
			c := sections(r.ok("mcsinq lsvdisk -bytes -delim ! pvc-1"))
			if c[0]["compressed_copy_count"] != "1" || c[1]["compressed_copy"] != "yes" || c[1]["grainsize"] != "" {
				t.Fatalf("%v", c)
			}
		}},
		{"mcsop mkvdisk -name pvc-2 -size 1 -unit gb -mdiskgrp Pool0 -intier off", func(t *testing.T, r *rig) {
			c := sections(r.ok("mcsinq lsvdisk -bytes -delim ! pvc-2"))
			if c[0]["formatted"] != "yes" || c[1]["real_capacity"] != "1073741824" || c[1]["autoexpand"] != "" {
				t.Fatalf("%v", c)
			}
		}},
		{"mcsop mkvdisk -name snap-x -size 0 -unit gb -mdiskgrp 0 -iogrp io_grp0 -rsize 0% -autoexpand -intier on", nil}, // fails: size 0
		{"mcsop mkvolume -name vol-001 -size 10 -unit gb -pool Pool0:Pool1 -iogrp 0:1", nil},
		{"mcsop mkvolume -name vol-001 -size 10 -unit gb -pool Pool0:Pool1 -iogrp 0:1 -buffersize 20% -warning 80% -thin -grainsize 256", nil},
		{"mcsop mkvolume -name vol-001 -size 10 -unit gb -pool Pool0:Pool1 -iogrp 0:1 -buffersize 2% -compressed", func(t *testing.T, r *rig) {
			if n := len(rows(t, r.ok("mcsinq lsvdisk -bytes -delim ! -filtervalue volume_name=vol-001"))); n != 4 {
				t.Fatalf("%d", n)
			}
		}},
		{"mcsop mkvolume -name vol-002 -size 1 -unit gb -pool Pool0:Pool1 -iogrp 0:1 -buffersize 2% -noautoexpand -thin", func(t *testing.T, r *rig) {
			if c := sections(r.ok("mcsinq lsvdisk -bytes -delim ! vol-002"))[1]; c["autoexpand"] != "off" {
				t.Fatalf("%v", c)
			}
		}},
		{"mcsop mkhost -force -hbawwpn 10000090FA000001 -name fc-k8s-n1 -site site2", func(t *testing.T, r *rig) {
			r.ok("mcsop addhostport -force -hbawwpn 10000090FA000002 fc-k8s-n1")
			h := r.ok("mcsinq lshost -delim ! fc-k8s-n1")
			if !strings.Contains(h, "site_name!site2\n") || strings.Count(h, "WWPN!") != 2 {
				t.Fatalf("%q", h)
			}
			if n := len(rows(t, r.ok("mcsinq lsfabric -delim ! -host fc-k8s-n1"))); n != 16 {
				t.Fatalf("2 host ports × 8 array ports: %d", n)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			r := newRig(t, model.TwoSiteTopology())
			out, errb, code := r.run(tc.line)
			if strings.Contains(tc.line, "-size 0 ") {
				if code != 1 || !strings.HasPrefix(errb, "CMMVC5735E") {
					t.Fatalf("size 0 must fail: %q %q", out, errb)
				}
				return
			}
			if code != 0 || errb != "" || !strings.HasSuffix(out, "successfully created\n") {
				t.Fatalf("exit %d %q %q", code, out, errb)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}
