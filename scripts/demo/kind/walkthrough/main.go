// Command walkthrough tells `make demo`'s story with Kubernetes objects in a
// cluster running the driver and the in-cluster emulator (make demo-kind):
// PVC → VolumeSnapshot → clone PVC → restore PVC → expand → publish (a pod, so
// a VolumeAttachment) → list → delete. After each step it prints the kubectl
// view and the rows that changed on the arrays, read over the arrays' SSH CLI
// with the host key pinned: emulator pods through kubectl port-forward, or
// arrays outside the cluster directly (-arrays name=host:port).
//
// kubectl is run directly (never through a shell), each call with a timeout.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/instorage-csi/instorage-csi/scripts/demo/internal/arrayview"
)

type options struct {
	kubectl, kubeconfig       string
	namespace, driverNS       string
	arrays                    string
	class, snapshotClass      string
	emulatorBinary, emuState  string
	image                     string
	user, passwordFile        string
	knownHosts                string
	datapath                  string
	stepTimeout, totalTimeout time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.kubectl, "kubectl", "kubectl", "kubectl binary")
	flag.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the demo cluster")
	flag.StringVar(&o.namespace, "namespace", "instorage-demo", "namespace for the demo's claims and pod (recreated)")
	flag.StringVar(&o.driverNS, "driver-namespace", "instorage-csi", "namespace of the driver and the emulator pods")
	flag.StringVar(&o.arrays, "arrays", "storage-01=mcs-emulator-0,storage-02=mcs-emulator-1", "arrays to watch: name=emulator-pod (port-forward) or name=host:port (direct SSH)")
	flag.StringVar(&o.user, "array-user", "superuser", "CLI user, with -array-password-file")
	flag.StringVar(&o.passwordFile, "array-password-file", "", "file holding the CLI password, one trailing newline ignored (default: the Secret "+credentialsPrefix+"* in -driver-namespace)")
	flag.StringVar(&o.knownHosts, "array-known-hosts", "", "OpenSSH known_hosts for arrays given as host:port")
	flag.StringVar(&o.class, "class", "csi-instorage-basic", "StorageClass (thin, ext4)")
	flag.StringVar(&o.snapshotClass, "snapshot-class", "csi-instorage-snapclass", "VolumeSnapshotClass")
	flag.StringVar(&o.emulatorBinary, "emulator-binary", "/mcs-emulator", "emulator binary in its pod")
	flag.StringVar(&o.emuState, "emulator-state", "/var/lib/mcs-emulator", "emulator --state-dir in its pod")
	flag.StringVar(&o.image, "image", "registry.k8s.io/e2e-test-images/busybox:1.37.0-2", "image of the demo pod (must be on the node)")
	flag.StringVar(&o.datapath, "datapath", "auto", "run the pod's I/O: on (must work), off, auto (when this host has an iSCSI initiator)")
	flag.DurationVar(&o.stepTimeout, "step-timeout", 3*time.Minute, "deadline of each wait")
	flag.DurationVar(&o.totalTimeout, "timeout", 15*time.Minute, "whole walkthrough deadline")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: walkthrough [flags] [-- CHECKPOINT COMMAND...]\n\nThe checkpoint command, if any, runs while every object exists, with the demo's PV names appended; a failure fails the walkthrough.")
		flag.PrintDefaults()
	}
	flag.Parse()
	switch o.datapath {
	case "on", "off", "auto":
	default:
		fmt.Fprintf(os.Stderr, "walkthrough: -datapath %q: want on, off or auto\n", o.datapath)
		os.Exit(2)
	}

	// Ctrl-C cancels the context, which ends the port-forwards and kubectl calls.
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sigCtx, o.totalTimeout)
	defer cancel()
	d := &demo{o: o, ctx: ctx, checkpoint: flag.Args(), start: time.Now()}
	if err := d.connectArrays(); err != nil {
		fmt.Fprintln(os.Stderr, "walkthrough:", err)
		d.closeArrays()
		os.Exit(1)
	}
	defer d.closeArrays()
	if err := d.run(); err != nil {
		fmt.Printf("   ERROR: %v\n\nwalkthrough FAILED (its objects stay in namespace %s for a look; the next run removes them)\n", err, o.namespace)
		d.closeArrays()
		os.Exit(1)
	}
	fmt.Printf("\nwalkthrough complete in %ds: every step succeeded and the arrays hold no vdisk, host mapping or LocalCopy map the demo made\n", int(time.Since(d.start).Seconds()))
}

type demo struct {
	o          options
	ctx        context.Context
	view       *arrayview.View
	arrays     []arrayview.Array
	closers    []func()
	step       int
	checkpoint []string
	start      time.Time
}

// kubectl runs one kubectl command with a timeout and returns its stdout;
// on failure the error carries stderr.
func (d *demo) kubectl(timeout time.Duration, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(d.ctx, timeout)
	defer cancel()
	full := append([]string{}, args...)
	if d.o.kubeconfig != "" {
		full = append([]string{"--kubeconfig", d.o.kubeconfig}, full...)
	}
	cmd := exec.CommandContext(ctx, d.o.kubectl, full...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// k is kubectl in the demo namespace with the default timeout.
func (d *demo) k(args ...string) (string, error) {
	return d.kubectl(time.Minute, "", append([]string{"-n", d.o.namespace}, args...)...)
}

func (d *demo) narrate(format string, args ...any) {
	d.step++
	fmt.Printf("\n== step %d [+%ds]: %s\n", d.step, int(time.Since(d.start).Seconds()), fmt.Sprintf(format, args...))
}

// show prints a kubectl view, indented, under the command that produced it.
func (d *demo) show(args ...string) error {
	out, err := d.kubectl(time.Minute, "", args...)
	if err != nil {
		return err
	}
	fmt.Printf("   $ kubectl %s\n", strings.Join(args, " "))
	if strings.TrimSpace(out) == "" {
		out = "(none)"
	}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		fmt.Printf("      %s\n", l)
	}
	return nil
}

func (d *demo) apply(manifest string) error {
	_, err := d.kubectl(time.Minute, manifest, "-n", d.o.namespace, "apply", "-f", "-")
	return err
}

// wait runs `kubectl wait` for a jsonpath condition on one object.
func (d *demo) wait(object, cond string, namespaced bool) error {
	args := []string{"wait", "--for=jsonpath=" + cond, object, "--timeout=" + d.o.stepTimeout.String()}
	if namespaced {
		args = append([]string{"-n", d.o.namespace}, args...)
	}
	_, err := d.kubectl(d.o.stepTimeout+30*time.Second, "", args...)
	return err
}

// poll calls f every second until it says done, fails, or the step deadline passes.
func (d *demo) poll(what string, f func() (bool, error)) error {
	deadline := time.Now().Add(d.o.stepTimeout)
	for {
		done, err := f()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", d.o.stepTimeout, what)
		}
		select {
		case <-d.ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, d.ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

func (d *demo) observe(extra ...string) error {
	d.view.Observe(d.ctx, true)
	for _, q := range extra {
		d.printWhere(q)
	}
	if d.view.Failed {
		return fmt.Errorf("an array query failed")
	}
	return nil
}

// printWhere prints q on the arrays where it has output: a vdisk lives on one array.
func (d *demo) printWhere(q string) {
	for _, a := range d.arrays {
		ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
		out, _, err := a.Transport.Run(ctx, strings.Fields(q))
		cancel()
		if err == nil && len(arrayview.Lines(out)) > 0 {
			d.view.Print(d.ctx, a, q)
		}
	}
}

func (d *demo) pvOf(claim string) (string, error) {
	pv, err := d.k("get", "pvc", claim, "-o", "jsonpath={.spec.volumeName}")
	if err == nil && pv == "" {
		err = fmt.Errorf("claim %s has no volume", claim)
	}
	return pv, err
}

const pvColumns = "custom-columns=PV:.metadata.name,CAPACITY:.spec.capacity.storage,CLAIM:.spec.claimRef.name,CLASS:.spec.storageClassName,VOLUME_HANDLE:.spec.csi.volumeHandle"

func (d *demo) claim(name, size, dataSource string) error {
	m := fmt.Sprintf(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: %s
spec:
  storageClassName: %s
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: %s
`, name, d.o.class, size)
	m += dataSource
	if err := d.apply(m); err != nil {
		return err
	}
	fmt.Printf("   kubectl apply: PersistentVolumeClaim %s (%s, class %s)%s\n", name, size, d.o.class,
		map[bool]string{true: " with a dataSource", false: ""}[dataSource != ""])
	if err := d.wait("pvc/"+name, "{.status.phase}=Bound", true); err != nil {
		return err
	}
	pv, err := d.pvOf(name)
	if err != nil {
		return err
	}
	if err := d.show("-n", d.o.namespace, "get", "pvc", name); err != nil {
		return err
	}
	return d.show("get", "pv", pv, "-o", pvColumns)
}

func (d *demo) run() error {
	if err := d.resetNamespace(); err != nil {
		return err
	}
	d.view.Observe(d.ctx, false) // baseline
	if d.view.Failed {
		return fmt.Errorf("cannot read the arrays")
	}
	base := d.leakState()
	fmt.Printf("== arrays before the demo: %s\n", base.summary(d.arrays))

	d.narrate("PersistentVolumeClaim demo-data: 1 GiB from StorageClass %s (thin: volThin=true)", d.o.class)
	if err := d.claim("demo-data", "1Gi", ""); err != nil {
		return err
	}
	data, _ := d.pvOf("demo-data")
	if err := d.observe(); err != nil {
		return err
	}

	d.narrate("VolumeSnapshot demo-snap of demo-data (class %s): a LocalCopy map on the array", d.o.snapshotClass)
	if err := d.apply(fmt.Sprintf(`apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: demo-snap
spec:
  volumeSnapshotClassName: %s
  source:
    persistentVolumeClaimName: demo-data
`, d.o.snapshotClass)); err != nil {
		return err
	}
	if err := d.wait("volumesnapshot/demo-snap", "{.status.readyToUse}=true", true); err != nil {
		return err
	}
	if err := d.show("-n", d.o.namespace, "get", "volumesnapshot", "demo-snap"); err != nil {
		return err
	}
	content, err := d.k("get", "volumesnapshot", "demo-snap", "-o", "jsonpath={.status.boundVolumeSnapshotContentName}")
	if err != nil {
		return err
	}
	if err := d.show("get", "volumesnapshotcontent", content, "-o",
		"custom-columns=CONTENT:.metadata.name,READY:.status.readyToUse,RESTORE_SIZE:.status.restoreSize,SNAPSHOT_HANDLE:.status.snapshotHandle"); err != nil {
		return err
	}
	if err := d.observe(); err != nil {
		return err
	}

	d.narrate("PersistentVolumeClaim demo-clone with dataSource PVC demo-data: a clone (LocalCopy with background copy)")
	if err := d.claim("demo-clone", "1Gi", "  dataSource:\n    kind: PersistentVolumeClaim\n    name: demo-data\n"); err != nil {
		return err
	}
	clone, _ := d.pvOf("demo-clone")
	if err := d.observe(); err != nil {
		return err
	}

	d.narrate("PersistentVolumeClaim demo-restore with dataSource VolumeSnapshot demo-snap: restore the snapshot")
	if err := d.claim("demo-restore", "1Gi", "  dataSource:\n    apiGroup: snapshot.storage.k8s.io\n    kind: VolumeSnapshot\n    name: demo-snap\n"); err != nil {
		return err
	}
	restore, _ := d.pvOf("demo-restore")
	if err := d.observe(); err != nil {
		return err
	}

	d.narrate("expand: kubectl patch pvc demo-clone to 2Gi (csi-resizer → ControllerExpandVolume → expandvdisksize)")
	if _, err := d.k("patch", "pvc", "demo-clone", "--type=merge", "-p", `{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}`); err != nil {
		return err
	}
	if err := d.wait("pv/"+clone, "{.spec.capacity.storage}=2Gi", false); err != nil {
		return err
	}
	if err := d.show("-n", d.o.namespace, "get", "pvc", "demo-clone", "-o",
		"custom-columns=PVC:.metadata.name,REQUEST:.spec.resources.requests.storage,CAPACITY:.status.capacity.storage,CONDITIONS:.status.conditions[*].type"); err != nil {
		return err
	}
	if err := d.show("get", "pv", clone, "-o", pvColumns); err != nil {
		return err
	}
	fmt.Println("   (the file system grows when a node next stages the volume: FileSystemResizePending until then)")
	if err := d.observe(); err != nil {
		return err
	}

	if err := d.publish(data); err != nil {
		return err
	}

	d.narrate("list: what Kubernetes and the array hold now")
	if err := d.show("-n", d.o.namespace, "get", "pvc,volumesnapshot,pod"); err != nil {
		return err
	}
	if err := d.show("get", "pv,volumeattachment"); err != nil {
		return err
	}
	for _, a := range d.arrays {
		d.view.Print(d.ctx, a, "mcsinq lsvdisk -delim !")
	}
	if len(d.checkpoint) > 0 {
		args := append(append([]string{}, d.checkpoint[1:]...), data, clone, restore)
		fmt.Printf("   checkpoint: %s %s\n", d.checkpoint[0], strings.Join(args, " "))
		cctx, cancel := context.WithTimeout(d.ctx, 3*time.Minute)
		cmd := exec.CommandContext(cctx, d.checkpoint[0], args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}

	d.narrate("unpublish: delete pod demo-app → the VolumeAttachment goes → ControllerUnpublishVolume (host mapping and host removed)")
	if _, err := d.kubectl(d.o.stepTimeout, "", "-n", d.o.namespace, "delete", "pod", "demo-app", "--grace-period=1", "--timeout="+d.o.stepTimeout.String()); err != nil {
		return err
	}
	if err := d.poll("the VolumeAttachment of "+data+" to go", func() (bool, error) {
		va, err := d.attachmentOf(data)
		return va == "", err
	}); err != nil {
		return err
	}
	if err := d.show("get", "volumeattachment"); err != nil {
		return err
	}
	if err := d.observe(); err != nil {
		return err
	}

	d.narrate("delete: the clone and the restore, the snapshot, then demo-data (reclaimPolicy Delete: the vdisks go too)")
	for _, obj := range []string{"pvc/demo-clone", "pvc/demo-restore", "volumesnapshot/demo-snap", "pvc/demo-data"} {
		// --wait=false: the claims of a snapshot's restore may hold it; the driver and sidecars retry.
		if _, err := d.k("delete", obj, "--wait=false"); err != nil {
			return err
		}
		fmt.Printf("   kubectl delete %s\n", obj)
	}
	if err := d.poll("the demo's PVs and VolumeSnapshotContents to go", func() (bool, error) {
		out, err := d.kubectl(time.Minute, "", "get", "pv,volumesnapshotcontent", "-o", "name")
		if err != nil {
			return false, err
		}
		for _, name := range []string{data, clone, restore, content} {
			if strings.Contains(out, "/"+name+"\n") {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return err
	}
	if err := d.show("-n", d.o.namespace, "get", "pvc,volumesnapshot,pod"); err != nil {
		return err
	}
	if err := d.poll("the arrays to hold nothing the demo made", func() (bool, error) {
		return d.leakState().sub(base) == "", nil
	}); err != nil {
		return fmt.Errorf("%w: left behind %s", err, d.leakState().sub(base))
	}
	if err := d.observe(); err != nil {
		return err
	}
	_, err = d.kubectl(d.o.stepTimeout, "", "delete", "namespace", d.o.namespace, "--timeout="+d.o.stepTimeout.String())
	return err
}

// resetNamespace removes what an interrupted earlier run left and makes the namespace afresh.
func (d *demo) resetNamespace() error {
	if _, err := d.kubectl(time.Minute, "", "get", "namespace", d.o.namespace); err == nil {
		fmt.Printf("== removing namespace %s left by an earlier run (its volumes are deleted from the array)\n", d.o.namespace)
		if _, err := d.kubectl(d.o.stepTimeout+30*time.Second, "", "delete", "namespace", d.o.namespace, "--timeout="+d.o.stepTimeout.String()); err != nil {
			return err
		}
		if err := d.poll("the volumes and snapshots of "+d.o.namespace+" to go", func() (bool, error) {
			pvs, err := d.kubectl(time.Minute, "", "get", "pv", "-o", "jsonpath={range .items[*]}{.spec.claimRef.namespace}{\"\\n\"}{end}")
			if err != nil {
				return false, err
			}
			snaps, err := d.kubectl(time.Minute, "", "get", "volumesnapshotcontent", "-o", "jsonpath={range .items[*]}{.spec.volumeSnapshotRef.namespace}{\"\\n\"}{end}")
			return !strings.Contains(pvs+snaps, d.o.namespace+"\n"), err
		}); err != nil {
			return err
		}
	}
	_, err := d.kubectl(time.Minute, "", "create", "namespace", d.o.namespace)
	return err
}

// attachmentOf returns the name of the VolumeAttachment of a PV ("" if none).
func (d *demo) attachmentOf(pv string) (string, error) {
	out, err := d.kubectl(time.Minute, "", "get", "volumeattachments", "-o",
		`jsonpath={range .items[*]}{.metadata.name}{" "}{.spec.source.persistentVolumeName}{"\n"}{end}`)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(out, "\n") {
		if name, v, ok := strings.Cut(l, " "); ok && v == pv {
			return name, nil
		}
	}
	return "", nil
}
