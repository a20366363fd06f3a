package volumeid

import (
	"strings"
	"testing"
)

const uid = "60050760008B09C0D000000000008062"

func TestVolumeID_RoundTrip(t *testing.T) {
	v := Volume{Storage: "storage-01", UID: uid}
	got, err := ParseVolume(v.String())
	if err != nil || got != v {
		t.Fatalf("ParseVolume(%q) = %+v, %v; want %+v", v.String(), got, err, v)
	}
}

func TestSnapshotID_RoundTrip(t *testing.T) {
	s := Snapshot{Storage: "storage-01", UID: uid}
	if s.String() != "storage-01:snap:"+uid {
		t.Fatalf("String() = %q", s.String())
	}
	got, err := ParseSnapshot(s.String())
	if err != nil || got != s {
		t.Fatalf("ParseSnapshot = %+v, %v", got, err)
	}
}

func TestParse_RejectsMalformed(t *testing.T) {
	for _, id := range []string{
		"", "storage-01", uid, "storage-01:" + strings.ToLower(uid), "storage-01:" + uid[:31],
		"a:b:" + uid, ":" + uid, "st ore:" + uid, "storage-01:snap:" + uid, "fake-vol-id",
	} {
		if _, err := ParseVolume(id); err == nil {
			t.Errorf("ParseVolume(%q) accepted a malformed id", id)
		}
	}
	for _, id := range []string{"storage-01:" + uid, "storage-01:snapx:" + uid, "storage-01:snap:" + uid + "0"} {
		if _, err := ParseSnapshot(id); err == nil {
			t.Errorf("ParseSnapshot(%q) accepted a malformed id", id)
		}
	}
}

// A snapshot ID must never parse as a volume ID, or DeleteVolume could remove
// a snapshot's vdisk.
func TestSnapshotID_IsNotAVolumeID(t *testing.T) {
	if _, err := ParseVolume(Snapshot{Storage: "s", UID: uid}.String()); err == nil {
		t.Fatal("snapshot id parsed as a volume id")
	}
}

func TestObjectName(t *testing.T) {
	long := strings.Repeat("x", 128)
	cases := []struct {
		name, prefix, in string
		want             string // "" = check properties only
	}{
		{"pvc kept as is", "", "pvc-8f2c1d4e-1111-2222-3333-444455556666", "pvc-8f2c1d4e-1111-2222-3333-444455556666"},
		{"prefix applied", "iscsi-", "node1", "iscsi-node1"},
		{"long name hashed", "", long, ""},
		{"leading digit", "", "1abc", ""},
		{"bad chars", "", "a b!c", ""},
		{"exactly 63 kept", "", strings.Repeat("a", 63), strings.Repeat("a", 63)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ObjectName(c.prefix, c.in)
			if c.want != "" && got != c.want {
				t.Fatalf("ObjectName(%q) = %q, want %q", c.in, got, c.want)
			}
			if !validObjectName(got) {
				t.Fatalf("ObjectName(%q) = %q is not a valid array name", c.in, got)
			}
			if again := ObjectName(c.prefix, c.in); again != got {
				t.Fatalf("not deterministic: %q then %q", got, again)
			}
		})
	}
}

func TestObjectName_LongNamesStayDistinct(t *testing.T) {
	a := ObjectName("", strings.Repeat("y", 100)+"a")
	b := ObjectName("", strings.Repeat("y", 100)+"b")
	if a == b {
		t.Fatalf("two long names collapsed to %q", a)
	}
	if len(a) > MaxNameLen {
		t.Fatalf("len %d > %d", len(a), MaxNameLen)
	}
}

func TestNodeID(t *testing.T) {
	good := []Node{
		{Name: "k8s-n1", IQN: "iqn.1994-05.com.redhat:n1"},
		{Name: "worker.example.com", WWPNs: []string{"10000000C9A1B2C3", "10000000C9A1B2C4"}},
		{Name: "predefined"},
	}
	for _, n := range good {
		got, err := ParseNode(n.String())
		if err != nil {
			t.Fatalf("ParseNode(%q): %v", n.String(), err)
		}
		if got.String() != n.String() {
			t.Fatalf("round trip %q -> %q", n.String(), got.String())
		}
	}
	if n, err := ParseNode("w1;wwpn=10000000c9a1b2c3"); err != nil || n.WWPNs[0] != "10000000C9A1B2C3" {
		t.Fatalf("lower-case wwpn not normalised: %+v %v", n, err)
	}
	for _, id := range []string{"", ";iqn=iqn.1994-05.com.redhat:n1", "n1;iqn=", "n1;iqn=notaniqn", "n1;wwpn=123",
		"n1;chap=x", "-bad", "n1;iqn=iqn.1994-05.com.redhat:" + strings.Repeat("a", 250)} {
		if _, err := ParseNode(id); err == nil {
			t.Errorf("ParseNode(%q) accepted a malformed id", id)
		}
	}
}
