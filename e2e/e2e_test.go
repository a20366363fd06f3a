// Package e2e is the project's end-to-end suite. It runs against any cluster
// reachable through KUBECONFIG that has the driver deployed (make e2e deploys
// deploy/kubernetes/overlays/kind-vm on kind in a VM, or the in-cluster demo)
// and checks, after every spec, that the arrays hold no leaked vdisk, host
// mapping or LocalCopy map. See README.md for labels and flags.
//
//	go test ./e2e -args -kubeconfig=$HOME/.kube/config
//	go test ./e2e -args -ginkgo.dry-run -ginkgo.v      # list the specs, no cluster
package e2e

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// options are the suite's flags; defaults match deploy/kubernetes/overlays/demo.
type options struct {
	kubeconfig      string
	driverNamespace string
	driverName      string
	classBasic      string
	classXFS        string
	classMirror     string
	classAA         string
	classSecondDev  string
	chapSecret      string
	snapshotClass   string
	image           string
	arrays          string // name=pod or name=HOST:PORT, ...: arrays to inspect over SSH
	arraySecret     string // Secret (username, password) of in-cluster emulators' CLI account
	// Arrays given as HOST:PORT (outside the cluster): CLI account, password
	// file and OpenSSH known_hosts with their host keys.
	arrayUser         string
	arrayPasswordFile string
	arrayKnownHosts   string
	emulatorBinary    string // path of mcs-emulator inside its image (for `fingerprint`)
	emulatorState     string
	timeout           time.Duration
	skipArrayChecks   bool
	// scale specs (Label "scale", run only when the label filter names them)
	scaleRuns    int
	burst        int
	burstTimeout time.Duration
}

var opts options

func init() {
	kc := os.Getenv("KUBECONFIG")
	if kc == "" {
		if home, err := os.UserHomeDir(); err == nil {
			if _, err := os.Stat(filepath.Join(home, ".kube", "config")); err == nil {
				kc = filepath.Join(home, ".kube", "config")
			}
		}
	}
	flag.StringVar(&opts.kubeconfig, "kubeconfig", kc, "kubeconfig of the cluster under test (default $KUBECONFIG)")
	flag.StringVar(&opts.driverNamespace, "driver-namespace", "instorage-csi", "namespace of the driver and the emulator")
	flag.StringVar(&opts.driverName, "driver-name", "csi-instorage", "CSI driver name")
	flag.StringVar(&opts.classBasic, "class-basic", "csi-instorage-basic", "StorageClass: thin ext4 on the first array")
	flag.StringVar(&opts.classXFS, "class-xfs", "csi-instorage-xfs", "StorageClass: xfs")
	flag.StringVar(&opts.classMirror, "class-mirror", "csi-instorage-mirror", "StorageClass: volLevel=mirror")
	flag.StringVar(&opts.classAA, "class-aa", "csi-instorage-aa", "StorageClass: volLevel=aa")
	flag.StringVar(&opts.classSecondDev, "class-second-array", "csi-instorage-storage-02", "StorageClass: devName=storage-02")
	flag.StringVar(&opts.chapSecret, "chap-secret", "csi-instorage-chap", "Secret in -driver-namespace the controller may read for CHAP (components/chap); the CHAP spec creates it with a random chapSecret and deletes it")
	flag.StringVar(&opts.snapshotClass, "snapshot-class", "csi-instorage-snapclass", "VolumeSnapshotClass")
	flag.StringVar(&opts.image, "image", "registry.k8s.io/e2e-test-images/busybox:1.37.0-2", "image of the test pods (needs sh, dd, md5sum, df, stat)")
	flag.StringVar(&opts.arrays, "arrays", "storage-01=mcs-emulator-0,storage-02=mcs-emulator-1",
		"arrays to check for leaks, comma separated: name=HOST:PORT (SSH CLI reached directly; needs -array-password-file and -array-known-hosts) or name=POD (in-cluster emulator pod, by port-forward)")
	flag.StringVar(&opts.arrayUser, "array-user", "superuser", "CLI account of the arrays given as HOST:PORT")
	flag.StringVar(&opts.arrayPasswordFile, "array-password-file", "", "file holding the password of -array-user (one trailing newline ignored)")
	flag.StringVar(&opts.arrayKnownHosts, "array-known-hosts", "", `OpenSSH known_hosts with the host keys of the arrays given as HOST:PORT ("[127.0.0.1]:2222 ssh-ed25519 ..."); never skipped`)
	flag.StringVar(&opts.arraySecret, "array-secret", "", "Secret in -driver-namespace with the arrays' username/password (default: the demo's generated mcs-emulator-credentials-*)")
	flag.StringVar(&opts.emulatorBinary, "emulator-binary", "/mcs-emulator", "mcs-emulator path inside the emulator image")
	flag.StringVar(&opts.emulatorState, "emulator-state-dir", "/var/lib/mcs-emulator", "emulator --state-dir")
	flag.DurationVar(&opts.timeout, "timeout", 5*time.Minute, "deadline of each wait (provisioning, attach, expansion); raise it on slow (TCG) nodes")
	flag.IntVar(&opts.scaleRuns, "scale-runs", 5, "scale: PVC+pod pairs created one after another for the PVC-to-Running latency")
	flag.IntVar(&opts.burst, "burst", 50, "scale: PVC+pod pairs created at once, then deleted at once")
	flag.DurationVar(&opts.burstTimeout, "burst-timeout", 40*time.Minute, "scale: deadline for the whole burst to run, and again to be gone")
	flag.BoolVar(&opts.skipArrayChecks, "skip-array-checks", false, "do not inspect the arrays (clusters with real arrays you cannot query)")
}

func TestE2E(t *testing.T) {
	gomega.RegisterFailHandler(ginkgo.Fail)
	suite, _ := ginkgo.GinkgoConfiguration()
	if opts.kubeconfig == "" && !suite.DryRun {
		t.Skip("no cluster: set KUBECONFIG or -kubeconfig (make e2e creates one)")
	}
	ginkgo.RunSpecs(t, "instorage-csi e2e")
}
