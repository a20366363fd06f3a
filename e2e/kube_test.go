package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	snapv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapclient "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/utils/ptr"
)

// cluster is the API access every spec shares.
type cluster struct {
	cfg  *rest.Config
	cs   kubernetes.Interface
	snap snapclient.Interface
}

func newCluster(kubeconfig string) (*cluster, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 20, 40
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	sc, err := snapclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &cluster{cfg: cfg, cs: cs, snap: sc}, nil
}

// volume is how a test pod uses a claim: mounted at /data or as the device /dev/xvda.
type volume struct {
	claim    string
	block    bool
	readOnly bool
}

const (
	mountPath  = "/data"
	devicePath = "/dev/xvda"
)

type pvcSpec struct {
	name, class, size string
	block             bool
	access            corev1.PersistentVolumeAccessMode
	source            *corev1.TypedLocalObjectReference
}

func (c *cluster) createPVC(ctx context.Context, ns string, s pvcSpec) *corev1.PersistentVolumeClaim {
	GinkgoHelper()
	mode := corev1.PersistentVolumeFilesystem
	if s.block {
		mode = corev1.PersistentVolumeBlock
	}
	if s.access == "" {
		s.access = corev1.ReadWriteOnce
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{s.access},
			VolumeMode:       &mode,
			StorageClassName: ptr.To(s.class),
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(s.size)},
			},
			DataSource: s.source,
		},
	}
	out, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "create PVC %s", s.name)
	return out
}

// waitBound returns the bound claim and its PV.
func (c *cluster) waitBound(ctx context.Context, ns, name string) (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume) {
	GinkgoHelper()
	var pvc *corev1.PersistentVolumeClaim
	Eventually(ctx, func(g Gomega) {
		var err error
		pvc, err = c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pvc.Status.Phase).To(Equal(corev1.ClaimBound), "PVC %s/%s phase", ns, name)
	}).WithTimeout(opts.timeout).WithPolling(2 * time.Second).Should(Succeed())
	pv, err := c.cs.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(pv.Spec.CSI).NotTo(BeNil())
	Expect(pv.Spec.CSI.Driver).To(Equal(opts.driverName))
	return pvc, pv
}

// runPod starts a long-running pod using vols and waits until it runs. node pins
// it to a node ("" lets the scheduler choose; "!name" keeps it off name).
func (c *cluster) runPod(ctx context.Context, ns, name, node string, vols ...volume) *corev1.Pod {
	GinkgoHelper()
	_, err := c.cs.CoreV1().Pods(ns).Create(ctx, newPod(ns, name, node, vols...), metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "create pod %s", name)
	return c.waitRunning(ctx, ns, name, opts.timeout)
}

// newPod is a long-running test pod using vols (see runPod for node).
func newPod(ns, name, node string, vols ...volume) *corev1.Pod {
	ctr := corev1.Container{
		Name:    "app",
		Image:   opts.image,
		Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
		},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](5),
			RestartPolicy:                 corev1.RestartPolicyNever,
		},
	}
	for i, v := range vols {
		vn := fmt.Sprintf("vol%d", i)
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: vn, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.claim, ReadOnly: v.readOnly}}})
		suffix := ""
		if i > 0 {
			suffix = fmt.Sprint(i)
		}
		if v.block {
			ctr.VolumeDevices = append(ctr.VolumeDevices, corev1.VolumeDevice{Name: vn, DevicePath: devicePath + suffix})
		} else {
			ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: vn, MountPath: mountPath + suffix, ReadOnly: v.readOnly})
		}
	}
	pod.Spec.Containers = []corev1.Container{ctr}
	switch {
	case strings.HasPrefix(node, "!"):
		pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 100,
				Preference: corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{
					Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{node[1:]}}}}}}}}
	case node != "":
		pod.Spec.NodeName = node
	}
	return pod
}

// waitRunning waits until the pod runs (kubelet has staged and mounted its
// volumes); a failed pod ends the wait at once.
func (c *cluster) waitRunning(ctx context.Context, ns, name string, timeout time.Duration) *corev1.Pod {
	GinkgoHelper()
	var out *corev1.Pod
	Eventually(ctx, func(g Gomega) {
		var err error
		out, err = c.cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		if out.Status.Phase == corev1.PodFailed {
			StopTrying(fmt.Sprintf("pod %s failed: %s %s", name, out.Status.Message, c.events(ctx, ns, name))).Now()
		}
		g.Expect(out.Status.Phase).To(Equal(corev1.PodRunning), "pod %s: %s", name, c.events(ctx, ns, name))
	}).WithTimeout(timeout).WithPolling(time.Second).Should(Succeed())
	return out
}

// events summarises an object's recent events (attach, mount and provisioning errors land there).
func (c *cluster) events(ctx context.Context, ns, name string) string {
	ev, err := c.cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, e := range ev.Items {
		fmt.Fprintf(&b, "[%s %s] ", e.Reason, e.Message)
	}
	return b.String()
}

func (c *cluster) deletePod(ctx context.Context, ns, name string) {
	GinkgoHelper()
	err := c.cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	Expect(err).NotTo(HaveOccurred())
	Eventually(ctx, func() bool {
		_, err := c.cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(opts.timeout).WithPolling(time.Second).Should(BeTrue(), "pod %s/%s not gone", ns, name)
}

// exec runs argv in the pod's app container and returns stdout; a non-zero exit is an error.
func (c *cluster) exec(ctx context.Context, ns, pod string, argv ...string) (string, error) {
	return c.execIn(ctx, ns, pod, "app", argv...)
}

func (c *cluster) execIn(ctx context.Context, ns, pod, container string, argv ...string) (string, error) {
	req := c.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: argv, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(c.cfg, "POST", req.URL())
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// StreamWithContext honours ctx only once the stream is up; the upgrade itself can wait for
	// ever when the apiserver's connection to the kubelet stalls (seen through qemu's slirp
	// forward to a VM node). So the deadline is enforced here; a stalled call is left behind.
	type result struct {
		stdout, stderr string
		err            error
	}
	done := make(chan result, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
		done <- result{stdout.String(), stderr.String(), err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		r.err = fmt.Errorf("%w: %w", errNoAnswer, ctx.Err())
	}
	if r.err != nil {
		return r.stdout, fmt.Errorf("%v in %s: %w (stderr: %s)", argv, pod, r.err, r.stderr)
	}
	return r.stdout, nil
}

// errNoAnswer: an exec that got no answer at all within its deadline (the stream never came up).
var errNoAnswer = errors.New("no answer from the kubelet")

// sh runs script in the pod's app container; an exec that got no answer is tried again (twice):
// the scripts the specs run this way are idempotent or report what they did (writeData returns
// the checksum of what is on the volume when it ends).
func (c *cluster) sh(ctx context.Context, ns, pod, script string) string {
	GinkgoHelper()
	var out string
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		out, err = c.exec(ctx, ns, pod, "sh", "-c", script)
		if !errors.Is(err, errNoAnswer) || ctx.Err() != nil {
			break
		}
		GinkgoWriter.Printf("exec in %s/%s got no answer (attempt %d): %v\n", ns, pod, attempt, err)
	}
	Expect(err).NotTo(HaveOccurred())
	return strings.TrimSpace(out)
}

// writeData puts 4 MiB of random data on the volume (file or raw device) and returns its md5.
func (c *cluster) writeData(ctx context.Context, ns, pod string, block bool, name string) string {
	GinkgoHelper()
	if block {
		// Straight onto the device and read back from it: the test image need not have a /tmp.
		return c.sh(ctx, ns, pod, fmt.Sprintf(`dd if=/dev/urandom of=%[1]s bs=1M count=4 conv=fsync 2>/dev/null &&
dd if=%[1]s bs=1M count=4 2>/dev/null | md5sum | cut -d' ' -f1`, devicePath))
	}
	return c.sh(ctx, ns, pod, fmt.Sprintf(`dd if=/dev/urandom of=%[2]s/%[1]s bs=1M count=4 conv=fsync 2>/dev/null &&
sync && md5sum < %[2]s/%[1]s | cut -d' ' -f1`, name, mountPath))
}

// readData is the md5 of what writeData wrote.
func (c *cluster) readData(ctx context.Context, ns, pod string, block bool, name string) string {
	GinkgoHelper()
	if block {
		return c.sh(ctx, ns, pod, fmt.Sprintf(`dd if=%s bs=1M count=4 2>/dev/null | md5sum | cut -d' ' -f1`, devicePath))
	}
	return c.sh(ctx, ns, pod, fmt.Sprintf(`md5sum < %s/%s | cut -d' ' -f1`, mountPath, name))
}

// fsSizeKiB is the size of the filesystem at /data as df reports it.
func (c *cluster) fsSizeKiB(ctx context.Context, ns, pod string) int64 {
	GinkgoHelper()
	n, err := c.tryFsSizeKiB(ctx, ns, pod)
	Expect(err).NotTo(HaveOccurred())
	return n
}

// tryFsSizeKiB is fsSizeKiB for Eventually: a failed exec is retried, not fatal. -P: busybox df
// wraps a long device name (/dev/mapper/<wwid>) onto a line of its own, which would shift the
// columns of the last line.
func (c *cluster) tryFsSizeKiB(ctx context.Context, ns, pod string) (int64, error) {
	out, err := c.exec(ctx, ns, pod, "sh", "-c", "df -kP "+mountPath+" | tail -1 | awk '{print $2}'")
	if err != nil {
		return 0, err
	}
	var n int64
	if _, err := fmt.Sscan(strings.TrimSpace(out), &n); err != nil {
		return 0, fmt.Errorf("df output %q: %w", out, err)
	}
	return n, nil
}

func (c *cluster) expandPVC(ctx context.Context, ns, name, size string) {
	GinkgoHelper()
	pvc, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(size)
	_, err = c.cs.CoreV1().PersistentVolumeClaims(ns).Update(ctx, pvc, metav1.UpdateOptions{})
	Expect(err).NotTo(HaveOccurred())
}

// waitPVSize waits until the controller side of an expansion is done.
func (c *cluster) waitPVSize(ctx context.Context, pvName, size string) {
	GinkgoHelper()
	want := resource.MustParse(size)
	Eventually(ctx, func(g Gomega) {
		pv, err := c.cs.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		got := pv.Spec.Capacity[corev1.ResourceStorage]
		g.Expect(got.Cmp(want)).To(BeNumerically(">=", 0), "PV %s capacity %s", pvName, got.String())
	}).WithTimeout(opts.timeout).WithPolling(2 * time.Second).Should(Succeed())
}

func (c *cluster) snapshot(ctx context.Context, ns, name, claim string) *snapv1.VolumeSnapshot {
	GinkgoHelper()
	vs := &snapv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: snapv1.VolumeSnapshotSpec{
			Source:                  snapv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To(claim)},
			VolumeSnapshotClassName: ptr.To(opts.snapshotClass),
		},
	}
	_, err := c.snap.SnapshotV1().VolumeSnapshots(ns).Create(ctx, vs, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	Eventually(ctx, func(g Gomega) {
		vs, err = c.snap.SnapshotV1().VolumeSnapshots(ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(vs.Status).NotTo(BeNil())
		g.Expect(vs.Status.Error).To(BeNil(), "snapshot error")
		g.Expect(vs.Status.ReadyToUse).To(HaveValue(BeTrue()))
	}).WithTimeout(opts.timeout).WithPolling(2 * time.Second).Should(Succeed())
	return vs
}

// nodePluginPod is the node plugin's pod on node.
func (c *cluster) nodePluginPod(ctx context.Context, node string) *corev1.Pod {
	GinkgoHelper()
	p, err := c.tryNodePluginPod(ctx, node)
	Expect(err).NotTo(HaveOccurred())
	return p
}

// tryNodePluginPod returns the one node plugin pod on node that is not being deleted (a
// replaced pod stays listed, Terminating, while it shuts down).
func (c *cluster) tryNodePluginPod(ctx context.Context, node string) (*corev1.Pod, error) {
	pods, err := c.cs.CoreV1().Pods(opts.driverNamespace).List(ctx, metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/name=csi-instorage-node", FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return nil, err
	}
	var live []*corev1.Pod
	for i := range pods.Items {
		if pods.Items[i].DeletionTimestamp == nil {
			live = append(live, &pods.Items[i])
		}
	}
	if len(live) != 1 {
		return nil, fmt.Errorf("%d live node plugin pods on %s, want 1", len(live), node)
	}
	return live[0], nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// teardownNamespace deletes ns and waits until its PVs (Delete policy) and
// snapshot contents are gone, so the array leak check sees the final state.
func (c *cluster) teardownNamespace(ctx context.Context, ns string) {
	GinkgoHelper()
	err := c.cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	Eventually(ctx, func(g Gomega) {
		_, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "namespace %s still exists", ns)
		pvs, err := c.cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		for _, pv := range pvs.Items {
			if pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.Namespace == ns {
				g.Expect(pv.Name).To(BeEmpty(), "PV %s of %s not deleted (phase %s)", pv.Name, ns, pv.Status.Phase)
			}
		}
		contents, err := c.snap.SnapshotV1().VolumeSnapshotContents().List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		for _, vc := range contents.Items {
			g.Expect(vc.Spec.VolumeSnapshotRef.Namespace).NotTo(Equal(ns), "VolumeSnapshotContent %s not deleted", vc.Name)
		}
	}).WithTimeout(opts.timeout).WithPolling(2 * time.Second).Should(Succeed())
}
