// Package console serves the emulator's read-only web console: a live view
// of pools, vdisks, hosts, host mappings, LocalCopy maps, RC relationships,
// iSCSI sessions and recent CLI commands. It reads the array only through
// its own CLI (mcsinq, in-process), so what it shows is exactly what a
// client would see over SSH.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

//go:embed static
var static embed.FS

// User is the CLI user the console's queries run as; the command log skips it.
const User = "console"

// Session is one iSCSI session as the console shows it.
type Session struct {
	Portal    string `json:"portal"`
	Target    string `json:"target"`
	Initiator string `json:"initiator"`
	Remote    string `json:"remote"`
	Since     string `json:"since,omitempty"`
}

// Sources are what the console reads. Runner is required; the others are
// optional (nil hides the panel).
type Sources struct {
	Runner   Runner
	Log      *CommandLog
	Sessions func() []Session
	// MaxVDisks caps the vdisk rows sent to the browser (default 500).
	MaxVDisks int
}

// Row is one CLI list row or detail section, keyed by column name.
type Row map[string]string

// State is the JSON document behind the page.
type State struct {
	Time        time.Time `json:"time"`
	System      Row       `json:"system"`
	IOGroups    []Row     `json:"iogrps"`
	Nodes       []Row     `json:"nodes"`
	PortIPs     []Row     `json:"portips"`
	Pools       []Row     `json:"pools"`
	VDisks      []Row     `json:"vdisks"`
	VDiskTotal  int       `json:"vdiskTotal"`
	Hosts       []Host    `json:"hosts"`
	HostMaps    []Row     `json:"hostmaps"`
	LCMaps      []Row     `json:"lcmaps"`
	RCRels      []Row     `json:"rcrels"`
	Sessions    []Session `json:"sessions"`
	Commands    []Entry   `json:"commands"`
	QueryErrors []string  `json:"queryErrors,omitempty"`
}

// Host is a host row with its ports from the detail view.
type Host struct {
	Row   Row      `json:"row"`
	IQNs  []string `json:"iqns"`
	WWPNs []string `json:"wwpns"`
}

// Handler serves the page at / and the state at /api/state.
func Handler(src Sources) http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(static, "static")
	mux.Handle("/", http.FileServer(http.FS(sub)))
	mux.HandleFunc("/api/state", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		st := Collect(ctx, src)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err := json.NewEncoder(w).Encode(st); err != nil {
			klog.V(4).InfoS("console: write state", "err", err)
		}
	})
	return mux
}

// Collect gathers one consistent-enough view (each query is atomic; the
// set is not, which is fine for a live display).
func Collect(ctx context.Context, src Sources) State {
	q := querier{ctx: ctx, r: src.Runner}
	st := State{Time: time.Now().UTC()}
	if d := q.detail("mcsinq lssystem -delim !"); len(d) > 0 {
		st.System = d[0]
	}
	st.IOGroups = q.list("mcsinq lsiogrp -delim !")
	st.Nodes = q.list("mcsinq lsnode -delim !")
	st.PortIPs = q.list("mcsinq lsportip -delim !")
	st.Pools = q.list("mcsinq lsmdiskgrp -bytes -delim !")
	vd := q.list("mcsinq lsvdisk -bytes -delim !")
	st.VDiskTotal = len(vd)
	limit := src.MaxVDisks
	if limit <= 0 {
		limit = 500
	}
	if len(vd) > limit {
		vd = vd[:limit]
	}
	st.VDisks = vd
	for _, h := range q.list("mcsinq lshost -delim !") {
		host := Host{Row: h}
		for _, sec := range q.detailRepeated("mcsinq lshost -delim ! " + h["id"]) {
			switch sec.key {
			case "iscsi_name":
				host.IQNs = append(host.IQNs, sec.value)
			case "WWPN":
				host.WWPNs = append(host.WWPNs, sec.value)
			}
		}
		st.Hosts = append(st.Hosts, host)
		st.HostMaps = append(st.HostMaps, q.list("mcsinq lshostvdiskmap -delim ! "+h["id"])...)
	}
	st.LCMaps = q.list("mcsinq lslcmap -delim !")
	st.RCRels = q.list("mcsinq lsrcrelationship -delim !")
	if src.Sessions != nil {
		st.Sessions = src.Sessions()
	}
	if src.Log != nil {
		st.Commands = src.Log.Recent(50)
	}
	st.QueryErrors = q.errs
	return st
}

type querier struct {
	ctx  context.Context
	r    Runner
	errs []string
}

func (q *querier) run(line string) string {
	out, errOut, code := q.r.Run(q.ctx, User, line)
	if code != 0 {
		q.errs = append(q.errs, line+": "+strings.TrimSpace(string(errOut)))
		return ""
	}
	return string(out)
}

// list parses a list view: a header line, then one row per line.
func (q *querier) list(line string) []Row {
	lines := strings.Split(strings.TrimRight(q.run(line), "\n"), "\n")
	if len(lines) < 2 {
		return nil
	}
	head := strings.Split(lines[0], "!")
	rows := make([]Row, 0, len(lines)-1)
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		f := strings.Split(l, "!")
		row := Row{}
		for i, h := range head {
			if i < len(f) {
				row[h] = f[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

type kv struct{ key, value string }

func (q *querier) detailRepeated(line string) []kv {
	var out []kv
	for _, l := range strings.Split(q.run(line), "\n") {
		if k, v, ok := strings.Cut(l, "!"); ok {
			out = append(out, kv{k, v})
		}
	}
	return out
}

// detail parses a detail view into its blank-line-separated sections.
func (q *querier) detail(line string) []Row {
	var secs []Row
	cur := Row{}
	for _, l := range strings.Split(q.run(line), "\n") {
		if l == "" {
			if len(cur) > 0 {
				secs = append(secs, cur)
				cur = Row{}
			}
			continue
		}
		if k, v, ok := strings.Cut(l, "!"); ok {
			cur[k] = v
		}
	}
	if len(cur) > 0 {
		secs = append(secs, cur)
	}
	return secs
}
