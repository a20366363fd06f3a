package e2etest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestConsoleShowsSSHActivity: the web console on the control address
// shows vdisks created over SSH and the command log.
func TestConsoleShowsSSHActivity(t *testing.T) {
	e := startEmu(t, t.TempDir())
	c := e.dial()
	mustOK(t, c, "mcsop mkvdisk -name console-1 -size 1 -unit gb -mdiskgrp Pool0")
	mustOK(t, c, "mcsop mkhost -force -iscsiname iqn.1993-08.org.debian:01:c1 -name console-host")
	mustOK(t, c, `mcsop chhost -chapsecret Zq7secretZq7secr "console-host"`)

	page := httpGet(t, "http://"+e.ControlAddr+"/")
	if !strings.Contains(page, "<html") {
		t.Fatalf("console page: %.200q", page)
	}
	var st struct {
		VDisks   []map[string]string `json:"vdisks"`
		Commands []struct {
			User    string `json:"user"`
			Command string `json:"command"`
		} `json:"commands"`
	}
	raw := httpGet(t, "http://"+e.ControlAddr+"/api/state")
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "Zq7secretZq7secr") {
		t.Fatal("console exposes a CHAP secret from the command log")
	}
	if len(st.VDisks) != 1 || st.VDisks[0]["name"] != "console-1" {
		t.Fatalf("console vdisks %+v", st.VDisks)
	}
	found := false
	for _, c := range st.Commands {
		found = found || (c.User == testUser && strings.Contains(c.Command, "mkvdisk"))
	}
	if !found {
		t.Fatalf("console command log lacks the SSH mkvdisk: %+v", st.Commands)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}
