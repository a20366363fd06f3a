package node

import (
	"testing"

	mount "k8s.io/mount-utils"
	utilsexec "k8s.io/utils/exec"

	"github.com/instorage-csi/instorage-csi/driver/pkg/config"
	"github.com/instorage-csi/instorage-csi/driver/pkg/host/hostexec"
)

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

// The real mount-utils Mounter runs mount(8)/umount(8) without a timeout:
// New swaps in hostexec.Mounter over the bounded exec; fakes stay as given.
func TestNew_RealMounterGetsBoundedMountAndUmount(t *testing.T) {
	hc := config.Host{Link: "iscsi", HostCommandTimeout: 7}
	srv, err := New(Options{DriverName: "d", NodeName: "n", StateDir: t.TempDir()}, hc, utilsexec.New(),
		&mount.SafeFormatAndMount{Interface: mount.New(""), Exec: utilsexec.New()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.mounter.Interface.(*hostexec.Mounter); !ok {
		t.Fatalf("mounter is %T, want *hostexec.Mounter", srv.mounter.Interface)
	}
	fake := mount.NewFakeMounter(nil)
	srv, err = New(Options{DriverName: "d", NodeName: "n", StateDir: t.TempDir()}, hc, utilsexec.New(),
		&mount.SafeFormatAndMount{Interface: fake, Exec: utilsexec.New()})
	if err != nil {
		t.Fatal(err)
	}
	if srv.mounter.Interface != mount.Interface(fake) {
		t.Fatalf("a fake mounter was replaced by %T", srv.mounter.Interface)
	}
}
