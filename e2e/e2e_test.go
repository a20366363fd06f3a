// Package e2e is the project's end-to-end suite. It runs against any cluster
// reachable through KUBECONFIG that has the driver deployed (make e2e deploys
// deploy/kubernetes/overlays/demo on kind) and checks, after every spec, that
// the arrays hold no leaked vdisk, host mapping or LocalCopy map.
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
	snapshotClass   string
	image           string
	arrays          string // name=pod,... emulator pods to inspect over SSH
	arraySecret     string // Secret (username, password) of the arrays' CLI account
	emulatorBinary  string // path of mcs-emulator inside its image (for `fingerprint`)
	emulatorState   string
	timeout         time.Duration
	skipArrayChecks bool
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
	flag.StringVar(&opts.snapshotClass, "snapshot-class", "csi-instorage-snapclass", "VolumeSnapshotClass")
	flag.StringVar(&opts.image, "image", "registry.k8s.io/e2e-test-images/busybox:1.37.0-2", "image of the test pods (needs sh, dd, md5sum, df, stat)")
	flag.StringVar(&opts.arrays, "arrays", "storage-01=mcs-emulator-0,storage-02=mcs-emulator-1", "array name = emulator pod, comma separated")
	flag.StringVar(&opts.arraySecret, "array-secret", "", "Secret in -driver-namespace with the arrays' username/password (default: the demo's generated mcs-emulator-credentials-*)")
	flag.StringVar(&opts.emulatorBinary, "emulator-binary", "/mcs-emulator", "mcs-emulator path inside the emulator image")
	flag.StringVar(&opts.emulatorState, "emulator-state-dir", "/var/lib/mcs-emulator", "emulator --state-dir")
	flag.DurationVar(&opts.timeout, "timeout", 5*time.Minute, "deadline of each wait (provisioning, attach, expansion)")
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
