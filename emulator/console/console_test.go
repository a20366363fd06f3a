package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/instorage-csi/instorage-csi/emulator/cli"
	"github.com/instorage-csi/instorage-csi/emulator/model"
)

func newArray(t *testing.T) Runner {
	t.Helper()
	a, err := model.Open(t.TempDir(), model.DefaultTopology())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return cli.New(a)
}

func mustRun(t *testing.T, r Runner, line string) {
	t.Helper()
	_, errOut, code := r.Run(context.Background(), "admin", line)
	if code != 0 {
		t.Fatalf("%s: exit %d: %s", line, code, errOut)
	}
}

func TestCollect_ShowsObjectsCreatedOverTheCLI(t *testing.T) {
	log := NewCommandLog(10)
	r := log.Wrap(newArray(t), User)
	mustRun(t, r, "mcsop mkvdisk -name vol-a -size 1 -unit gb -mdiskgrp Pool0 -rsize 2% -autoexpand")
	mustRun(t, r, "mcsop mkvdisk -name snap-a -size 1 -unit gb -mdiskgrp Pool0 -rsize 0% -autoexpand")
	mustRun(t, r, "mcsop mkhost -force -iscsiname iqn.1994-05.com.redhat:n1 -name iscsi-n1")
	mustRun(t, r, "mcsop mkvdiskhostmap -force -host iscsi-n1 vol-a")
	mustRun(t, r, "mcsop mklcmap -copyrate 0 -cleanrate 0 -source vol-a -target snap-a")
	_, _, code := r.Run(context.Background(), "admin", "mcsinq lsvdisk -delim ! nosuchvdisk")
	if code == 0 {
		t.Fatal("lsvdisk of a missing vdisk succeeded")
	}

	st := Collect(context.Background(), Sources{Runner: r, Log: log})
	if len(st.QueryErrors) > 0 {
		t.Fatalf("console queries failed: %v", st.QueryErrors)
	}
	if st.VDiskTotal != 2 || st.VDisks[0]["name"] != "vol-a" || len(st.VDisks[0]["vdisk_UID"]) != 32 {
		t.Fatalf("vdisks = %d %v", st.VDiskTotal, st.VDisks)
	}
	if len(st.Hosts) != 1 || st.Hosts[0].Row["name"] != "iscsi-n1" || len(st.Hosts[0].IQNs) != 1 || st.Hosts[0].IQNs[0] != "iqn.1994-05.com.redhat:n1" {
		t.Fatalf("hosts = %+v", st.Hosts)
	}
	if len(st.HostMaps) != 1 || st.HostMaps[0]["vdisk_name"] != "vol-a" || st.HostMaps[0]["SCSI_id"] != "0" {
		t.Fatalf("hostmaps = %v", st.HostMaps)
	}
	if len(st.LCMaps) != 1 || st.LCMaps[0]["target_vdisk_name"] != "snap-a" {
		t.Fatalf("lcmaps = %v", st.LCMaps)
	}
	if len(st.Pools) < 1 || st.Pools[0]["name"] != "Pool0" || len(st.Nodes) < 2 {
		t.Fatalf("pools = %v nodes = %v", st.Pools, st.Nodes)
	}
	// The log holds the admin's six commands, newest first, and not the console's own queries.
	if len(st.Commands) != 6 || !strings.HasPrefix(st.Commands[0].Command, "mcsinq lsvdisk") || st.Commands[0].Exit != 1 ||
		!strings.HasPrefix(st.Commands[0].Error, "CMMVC5754E") || st.Commands[5].Command[:12] != "mcsop mkvdis" {
		t.Fatalf("commands = %+v", st.Commands)
	}
}

func TestHandler_ServesPageAndState(t *testing.T) {
	srv := httptest.NewServer(Handler(Sources{Runner: newArray(t)}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `id="vdisks"`) {
		t.Fatalf("index: %d %.200s", res.StatusCode, body)
	}
	res, err = http.Get(srv.URL + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st State
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.System["name"] == "" {
		t.Fatalf("state has no system name: %+v", st.System)
	}
}

func TestCommandLog_RingKeepsNewest(t *testing.T) {
	l := NewCommandLog(3)
	for _, c := range []string{"a", "b", "c", "d", "e"} {
		l.Add(Entry{Command: c})
	}
	got := l.Recent(0)
	if len(got) != 3 || got[0].Command != "e" || got[2].Command != "c" {
		t.Fatalf("recent = %+v", got)
	}
}

func TestCommandLog_RedactsCHAPSecrets(t *testing.T) {
	l := NewCommandLog(4)
	r := l.Wrap(newArray(t))
	mustRun(t, r, "mcsop mkhost -force -iscsiname iqn.1994-05.com.redhat:n1 -name h1")
	mustRun(t, r, "mcsop chhost -chapsecret S3cretS3cretS3cr h1")
	got := l.Recent(1)[0].Command
	if strings.Contains(got, "S3cret") || !strings.Contains(got, "chhost") {
		t.Fatalf("logged %q", got)
	}
}
