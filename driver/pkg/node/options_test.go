package node

import "testing"

func TestOptionsInitiatorNameFile(t *testing.T) {
	cases := []struct {
		name string
		in   Options
		want string
	}{
		{"own namespaces", Options{}, "/etc/iscsi/initiatorname.iscsi"},
		{"nsenter reads the host's", Options{HostExec: "nsenter"}, "/host/proc/1/root/etc/iscsi/initiatorname.iscsi"},
		{"nsenter with another proc", Options{HostExec: "nsenter", HostProc: "/hp"}, "/hp/1/root/etc/iscsi/initiatorname.iscsi"},
		{"explicit file wins", Options{HostExec: "nsenter", InitiatorNameFile: "/x"}, "/x"},
	}
	for _, c := range cases {
		o := c.in
		o.defaults()
		if o.InitiatorNameFile != c.want {
			t.Errorf("%s: InitiatorNameFile = %q, want %q", c.name, o.InitiatorNameFile, c.want)
		}
	}
}
