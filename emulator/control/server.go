// Package control is the emulator's HTTP control API: fault rules, node and
// pool state, health, info and Prometheus metrics. Tests drive it over HTTP
// (Client) or use the fault.Injector directly when in-process.
package control

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"

	"github.com/instorage-csi/instorage-csi/emulator/fault"
)

// Info describes the running emulator; clients use it to pin the host key.
type Info struct {
	Version            string   `json:"version"`
	SSHAddr            string   `json:"sshAddr"`
	HostKeyFingerprint string   `json:"hostKeyFingerprint"`
	ISCSIPortals       []string `json:"iscsiPortals,omitempty"`
	StateDir           string   `json:"stateDir"`
}

// Config wires the control API to the emulator's parts.
type Config struct {
	Injector *fault.Injector
	Array    fault.Array
	Gatherer prometheus.Gatherer // nil → no /metrics
	Info     func() Info
	// Console, when set, is served at / (the read-only web console).
	Console http.Handler
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every request except /healthz.
	Token string
}

// NodeState is the body of PUT /nodes/{name}.
type NodeState struct {
	Online bool `json:"online"`
}

// PoolState is the body of PUT /pools/{name}; a negative FreeBytes clears
// the fault.
type PoolState struct {
	FreeBytes int64 `json:"freeBytes"`
}

// NewHandler returns the API:
//
//	GET    /healthz            200 "ok"
//	GET    /info               Info
//	GET    /metrics            Prometheus text format
//	GET    /faults             []fault.Status
//	POST   /faults             fault.Rule → 201 {"id": "..."}
//	DELETE /faults             remove all rules
//	DELETE /faults/{id}        remove one rule (404 if absent)
//	PUT    /nodes/{name}       NodeState
//	PUT    /pools/{name}       PoolState
//	GET    /                   web console (when Config.Console is set)
func NewHandler(cfg Config) *http.ServeMux {
	h := &handler{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.Handle("GET /info", h.auth(h.info))
	if cfg.Gatherer != nil {
		mux.Handle("GET /metrics", h.auth(promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}).ServeHTTP))
	}
	mux.Handle("GET /faults", h.auth(h.listFaults))
	mux.Handle("POST /faults", h.auth(h.addFault))
	mux.Handle("DELETE /faults", h.auth(h.clearFaults))
	mux.Handle("DELETE /faults/{id}", h.auth(h.removeFault))
	mux.Handle("PUT /nodes/{name}", h.auth(h.setNode))
	mux.Handle("PUT /pools/{name}", h.auth(h.setPool))
	if cfg.Console != nil {
		mux.Handle("/", h.auth(cfg.Console.ServeHTTP))
	}
	return mux
}

type handler struct{ cfg Config }

func (h *handler) auth(next http.HandlerFunc) http.Handler {
	if h.cfg.Token == "" {
		return next
	}
	want := []byte("Bearer " + h.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong bearer token"))
			return
		}
		next(w, r)
	})
}

func (h *handler) info(w http.ResponseWriter, _ *http.Request) {
	var i Info
	if h.cfg.Info != nil {
		i = h.cfg.Info()
	}
	writeJSON(w, http.StatusOK, i)
}

func (h *handler) listFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.cfg.Injector.List())
}

func (h *handler) addFault(w http.ResponseWriter, r *http.Request) {
	var rule fault.Rule
	if err := decode(r, &rule); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	id, err := h.cfg.Injector.Add(rule)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (h *handler) clearFaults(w http.ResponseWriter, _ *http.Request) {
	h.cfg.Injector.Clear()
	klog.InfoS("Faults cleared")
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) removeFault(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !h.cfg.Injector.Remove(id) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no fault %q", id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) setNode(w http.ResponseWriter, r *http.Request) {
	var s NodeState
	if err := decode(r, &s); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if h.cfg.Array == nil {
		writeError(w, http.StatusNotImplemented, errors.New("no array attached"))
		return
	}
	if err := h.cfg.Array.SetNodeStatus(r.PathValue("name"), s.Online); err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) setPool(w http.ResponseWriter, r *http.Request) {
	var s PoolState
	if err := decode(r, &s); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if h.cfg.Array == nil {
		writeError(w, http.StatusNotImplemented, errors.New("no array attached"))
		return
	}
	if err := h.cfg.Array.SetPoolFree(r.PathValue("name"), s.FreeBytes); err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decode reads a small JSON body strictly. Requiring the JSON content type
// makes browsers preflight cross-site requests, which this API never
// approves, so a web page cannot change faults on a developer's emulator.
func decode(r *http.Request, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return errors.New("Content-Type must be application/json")
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON body: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		klog.V(2).InfoS("Writing control response failed", "err", err)
	}
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
