package iscsi

import (
	"bytes"
	"testing"
)

// FuzzReadPDU: arbitrary bytes never panic the parser, and whatever it
// accepts re-encodes to the same bytes.
func FuzzReadPDU(f *testing.F) {
	login := &PDU{}
	login.BHS[0] = opLoginReq | flagImmediate
	login.Data = encodeText([]kv{{"InitiatorName", "iqn.x"}, {"SessionType", "Discovery"}})
	var seed bytes.Buffer
	for _, b := range login.encode(false, false) {
		seed.Write(b)
	}
	f.Add(seed.Bytes(), false, false)
	seed.Reset()
	for _, b := range login.encode(true, true) {
		seed.Write(b)
	}
	f.Add(seed.Bytes(), true, true)
	f.Add(make([]byte, 48), false, false)
	f.Fuzz(func(t *testing.T, in []byte, hd, dd bool) {
		p, err := readPDU(bytes.NewReader(in), hd, dd, 1<<16)
		if err != nil {
			return
		}
		var out bytes.Buffer
		for _, b := range p.encode(hd, dd) {
			out.Write(b)
		}
		if !bytes.HasPrefix(in, out.Bytes()[:48]) {
			t.Fatalf("header changed on re-encode")
		}
		if _, err := parseText(p.Data); err == nil {
			_ = encodeText(nil)
		}
	})
}

func FuzzParseText(f *testing.F) {
	f.Add([]byte("InitiatorName=iqn.x\x00AuthMethod=CHAP,None\x00"))
	f.Add([]byte("=\x00a"))
	f.Fuzz(func(t *testing.T, in []byte) {
		kvs, err := parseText(in)
		if err != nil {
			return
		}
		again, err := parseText(encodeText(kvs))
		if err != nil || len(again) != len(kvs) {
			t.Fatalf("round trip: %v %d/%d", err, len(again), len(kvs))
		}
	})
}
