package cli

import (
	"testing"
	"time"

	"github.com/instorage-csi/instorage-csi/emulator/model"
)

// TestLCMap_TransitionTable walks mcs-cli.md §5.1 with a controlled clock.
func TestLCMap_TransitionTable(t *testing.T) {
	type step struct {
		line string
		code string // "" = success
		want string // status afterwards ("gone" = deleted)
	}
	cases := []struct {
		name  string
		rate  string
		steps []step
	}{
		{"idle: only prestart, start -prep and rm", "0", []step{
			{"mcsop startlcmap 0", "CMMVC5903E", "idle_or_copied"},
			{"mcsop stoplcmap 0", "CMMVC5903E", "idle_or_copied"},
			{"mcsop rmlcmap 0", "", "gone"},
		}},
		{"preparing refuses everything until the clock moves", "0", []step{
			{"mcsop prestartlcmap 0", "", "preparing"},
			{"mcsop prestartlcmap 0", "CMMVC5903E", "preparing"},
			{"mcsop startlcmap 0", "CMMVC5903E", "preparing"},
			{"mcsop startlcmap -prep 0", "CMMVC5903E", "preparing"},
			{"mcsop stoplcmap 0", "CMMVC5903E", "preparing"},
			{"mcsop rmlcmap -force 0", "CMMVC5903E", "preparing"},
			{"tick", "", "prepared"},
			{"mcsop rmlcmap 0", "CMMVC5903E", "prepared"},
			{"mcsop stoplcmap 0", "", "stopped"},
			{"mcsop stoplcmap 0", "", "stopped"},
			{"mcsop startlcmap 0", "CMMVC5903E", "stopped"},
			{"mcsop rmlcmap 0", "CMMVC5903E", "stopped"},
			{"mcsop startlcmap -prep 0", "", "copying"},
			{"mcsop rmlcmap 0", "CMMVC5903E", "copying"},
			{"mcsop stoplcmap -force 0", "", "stopped"},
			{"mcsop rmlcmap -force 0", "", "gone"},
		}},
		{"copying with a rate completes by the clock", "100", []step{
			{"mcsop startlcmap -prep 0", "", "copying"},
			{"mcsop startlcmap -prep 0", "CMMVC5903E", "copying"},
			{"tick", "", "idle_or_copied"},
			{"mcsop prestartlcmap 0", "", "preparing"},
		}},
		{"copying may be force-removed", "0", []step{
			{"mcsop startlcmap -prep 0", "", "copying"},
			{"mcsop rmlcmap -force 0", "", "gone"},
			{"mcsop startlcmap 0", "CMMVC5753E", "gone"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, model.DefaultTopology())
			r.ok("mcsop mkvdisk -name s -size 1 -unit gb -mdiskgrp Pool0")
			r.ok("mcsop mkvdisk -name d -size 1 -unit gb -mdiskgrp Pool0 -rsize 0% -autoexpand")
			r.ok("mcsop mklcmap -source s -target d -copyrate " + tc.rate + " -cleanrate 0")
			for _, s := range tc.steps {
				switch {
				case s.line == "tick":
					r.clock.Add(time.Minute)
				case s.code == "":
					if out := r.ok(s.line); out != "" {
						t.Fatalf("%s printed %q", s.line, out)
					}
				default:
					r.fail(s.line, s.code)
				}
				got := "gone"
				if m := rows(t, r.ok("mcsinq lslcmap -delim ! -filtervalue id=0")); len(m) == 1 {
					got = m[0]["status"]
					if got == "copying" && m[0]["start_time"] == "" {
						t.Fatalf("copying without start_time")
					}
				}
				if got != s.want {
					t.Fatalf("after %q: status %s, want %s", s.line, got, s.want)
				}
			}
		})
	}
}
